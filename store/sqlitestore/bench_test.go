package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/sqlitestore"
	"github.com/beaconlive/beacon/store/storetest"
)

// bulkLoad inserts the streamers in one transaction with prepared statements.
func bulkLoad(ctx context.Context, st store.Store, digests [][]byte) error {
	db := st.(*sqlitestore.Store).SQL()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	now := time.Now().UnixMicro()
	stmts := []string{
		`INSERT INTO users (id, login, display_name, created_at) VALUES ($1, $2, $2, $3)`,
		`INSERT INTO channels (id, owner_id, title, language, created_at, updated_at) VALUES ($1, $1, 'bench', 'en', $2, $2)`,
		`INSERT INTO stream_keys (channel_id, hash, created_at) VALUES ($1, $2, $3)`,
	}
	u, err := tx.PrepareContext(ctx, stmts[0])
	if err != nil {
		return err
	}
	c, err := tx.PrepareContext(ctx, stmts[1])
	if err != nil {
		return err
	}
	k, err := tx.PrepareContext(ctx, stmts[2])
	if err != nil {
		return err
	}
	for i, d := range digests {
		id := int64(i + 1)
		if _, err := u.ExecContext(ctx, id, fmt.Sprintf("bench_%d", i), now); err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, id, now); err != nil {
			return err
		}
		if _, err := k.ExecContext(ctx, id, d, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(b.TempDir(), "bench.db")})
		require.NoError(b, err)
		b.Cleanup(func() { _ = s.Close() })
		return s
	}, bulkLoad)
}

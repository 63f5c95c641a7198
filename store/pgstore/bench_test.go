package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/pgstore"
	"github.com/beaconlive/beacon/store/storetest"
)

// bulkLoad copies the streamers in with COPY, then moves the id sequences
// past them.
func bulkLoad(ctx context.Context, st store.Store, digests [][]byte) error {
	pool := st.(*pgstore.Store).Pool()
	now := time.Now().UTC()
	n := len(digests)
	users := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		return []any{int64(i + 1), fmt.Sprintf("bench_%d", i), fmt.Sprintf("bench_%d", i), now}, nil
	})
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "login", "display_name", "created_at"}, users); err != nil {
		return err
	}
	chans := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		return []any{int64(i + 1), int64(i + 1), "bench", "en", now, now}, nil
	})
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"channels"}, []string{"id", "owner_id", "title", "language", "created_at", "updated_at"}, chans); err != nil {
		return err
	}
	keys := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		return []any{int64(i + 1), digests[i], now}, nil
	})
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"stream_keys"}, []string{"channel_id", "hash", "created_at"}, keys); err != nil {
		return err
	}
	for _, t := range []string{"users", "channels"} {
		if _, err := pool.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), %d)`, t, n)); err != nil {
			return err
		}
	}
	_, err := pool.Exec(ctx, `ANALYZE users; ANALYZE channels; ANALYZE stream_keys`)
	return err
}

func BenchmarkStore(b *testing.B) {
	testenv.Require(b, "PG_URL", "PostgreSQL")
	storetest.Bench(b, func(b *testing.B) store.Store { return open(b) }, bulkLoad)
}

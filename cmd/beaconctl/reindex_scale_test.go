//go:build measure

package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/search/esindex"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

// TestReindexScale measures reindex over REINDEX_BENCH_CHANNELS channels
// (seeded in one transaction) on bleve and, with ES_URL, Elasticsearch:
//
//	REINDEX_BENCH_CHANNELS=10000 go test -tags measure ./cmd/beaconctl -run TestReindexScale -v
func TestReindexScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("REINDEX_BENCH_CHANNELS"))
	if n <= 0 {
		n = 10000
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "beacon.db")
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: path})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	seedStart := time.Now()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	require.NoError(t, err)
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	now := time.Now().UnixMicro()
	words := []string{"speedrun", "chill", "ranked", "chess", "lofi", "retro", "coding", "art", "music", "talk"}
	for i := 1; i <= n; i++ {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, login, display_name, created_at) VALUES (?, ?, ?, ?)`, i, fmt.Sprintf("user_%06d", i), fmt.Sprintf("Streamer %d", i), now)
		require.NoError(t, err)
		title := fmt.Sprintf("%s and %s stream number %d", words[i%10], words[(i/10)%10], i)
		_, err = tx.ExecContext(ctx, `INSERT INTO channels (id, owner_id, title, category_id, language, tags, mature, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			i, i, title, 1+i%5, "en", fmt.Sprintf(`["%s"]`, words[i%10]), i%7 == 0, now, now)
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	require.NoError(t, db.Close())
	t.Logf("seeded %d channels in %s", n, time.Since(seedStart).Round(time.Millisecond))
	dsn := "sqlite://" + path

	idx := filepath.Join(t.TempDir(), "index")
	for round := range 2 { // from nothing, then over a full index
		start := time.Now()
		out, _, err := ctl(t, "reindex", "-db", dsn, "-search", "bleve://"+idx)
		require.NoError(t, err)
		t.Logf("bleve round %d: %s (%s)", round+1, strings.TrimSpace(out), time.Since(start).Round(time.Millisecond))
		require.Contains(t, out, fmt.Sprintf("reindexed %d channels", n))
	}
	url := os.Getenv("ES_URL")
	if url == "" {
		t.Log("ES_URL unset: Elasticsearch not measured")
		return
	}
	alias := fmt.Sprintf("bench-reindex-%d", time.Now().UnixNano())
	ix, err := esindex.Open(ctx, esindex.Config{URL: url, Alias: alias, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer ix.Close()
	defer ix.Drop(ctx)
	for round := range 2 {
		start := time.Now()
		out, _, err := ctl(t, "reindex", "-db", dsn, "-search", url, "-alias", alias)
		require.NoError(t, err)
		t.Logf("elasticsearch round %d: %s (%s)", round+1, strings.TrimSpace(out), time.Since(start).Round(time.Millisecond))
		require.Contains(t, out, fmt.Sprintf("reindexed %d channels", n))
	}
}

// TestReindexBleveHeldByAnotherProcess runs a helper process (this test
// binary) that holds the index open like a running server.

package esindex_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/esindex"
	"github.com/beaconlive/beacon/search/indextest"
)

var seq atomic.Int64

// uniqueAlias names one test's index.
func uniqueAlias(t testing.TB) string {
	name := strings.ToLower(strings.NewReplacer("/", "-", " ", "-", "_", "-").Replace(t.Name()))
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	return fmt.Sprintf("test-%d-%d-%s", time.Now().UnixNano()%1e9, seq.Add(1), strings.Trim(name, "-"))
}

func open(t testing.TB, url, alias string) *esindex.Index {
	t.Helper()
	ix, err := esindex.Open(context.Background(), esindex.Config{URL: url, Alias: alias, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	return ix
}

func TestConformance(t *testing.T) {
	url := testenv.Require(t, "ES_URL", "Elasticsearch")
	indextest.Run(t, func(t *testing.T) search.Index {
		ix := open(t, url, uniqueAlias(t))
		t.Cleanup(func() {
			_ = ix.Drop(context.Background())
			indextest.CloseIgnoringClosed(t, ix)
		})
		return ix
	})
}

func TestRebuildSwapsAtomically(t *testing.T) {
	url := testenv.Require(t, "ES_URL", "Elasticsearch")
	ctx := context.Background()
	ix := open(t, url, uniqueAlias(t))
	defer ix.Close()
	defer ix.Drop(ctx)
	require.NoError(t, ix.Upsert(ctx, "old", search.Patch{Title: search.Ptr("old world"), Live: search.Ptr(true)}))
	before, err := ix.Current(ctx)
	require.NoError(t, err)

	// Searches keep answering during the rebuild.
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := ix.Search(ctx, search.Query{Live: search.Ptr(true)}); err != nil {
				errs <- err
				return
			}
		}
	}()
	err = ix.Rebuild(ctx, func(put func(...search.Channel) error) error {
		for i := range 50 {
			if err := put(search.Channel{ID: fmt.Sprintf("n%02d", i), Title: "new world", Live: true, ViewerCount: int64(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	close(stop)
	require.NoError(t, err)
	for err := range errs {
		require.NoError(t, err)
	}
	after, err := ix.Current(ctx)
	require.NoError(t, err)
	require.NotEqual(t, before, after)
	_, err = ix.Get(ctx, "old")
	require.ErrorIs(t, err, search.ErrNotFound)
	res, err := ix.Search(ctx, search.Query{Text: "new world", Sort: search.SortViewers})
	require.NoError(t, err)
	require.Equal(t, 50, res.Total)
	require.Equal(t, "n49", res.Hits[0].ID)
}

func TestUnavailable(t *testing.T) {
	// Nothing listens on this port: writes and searches fail with
	// ErrUnavailable (the indexer retries those), not a panic or a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := esindex.Open(ctx, esindex.Config{URL: "http://127.0.0.1:1", Retries: 1, RetryBackoff: time.Millisecond, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	require.ErrorIs(t, err, search.ErrUnavailable)
}

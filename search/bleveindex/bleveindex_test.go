package bleveindex_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/bleveindex"
	"github.com/beaconlive/beacon/search/indextest"
)

func open(t *testing.T, dir string) *bleveindex.Index {
	t.Helper()
	ix, err := bleveindex.Open(bleveindex.Config{Path: filepath.Join(dir, "index"), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	return ix
}

func TestConformance(t *testing.T) {
	indextest.Run(t, func(t *testing.T) search.Index {
		ix := open(t, t.TempDir())
		t.Cleanup(func() { indextest.CloseIgnoringClosed(t, ix) })
		return ix
	})
}

func TestReopenKeepsDocumentsAndViewerCounts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ix := open(t, dir)
	require.NoError(t, ix.Upsert(ctx, "c1", search.Patch{Title: search.Ptr("Minecraft speedrun"), Live: search.Ptr(true), ViewerCount: search.Ptr(int64(5))}))
	require.NoError(t, ix.Upsert(ctx, "c1", search.Patch{ViewerCount: search.Ptr(int64(77))}))
	require.NoError(t, ix.Upsert(ctx, "c2", search.Patch{Title: search.Ptr("gone")}))
	require.NoError(t, ix.Delete(ctx, "c2"))
	require.NoError(t, ix.Close())

	ix = open(t, dir)
	defer ix.Close()
	got, err := ix.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, "Minecraft speedrun", got.Title)
	require.Equal(t, int64(77), got.ViewerCount)
	_, err = ix.Get(ctx, "c2")
	require.ErrorIs(t, err, search.ErrNotFound)
	res, err := ix.Search(ctx, search.Query{Text: "speedrn"})
	require.NoError(t, err)
	require.Len(t, res.Hits, 1)
	require.Equal(t, int64(77), res.Hits[0].ViewerCount)
}

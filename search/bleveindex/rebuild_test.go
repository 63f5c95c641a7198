package bleveindex_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/bleveindex"
)

func fillWith(chs ...search.Channel) search.Source {
	return search.Source{Fill: func(_ context.Context, put func(...search.Channel) error) error {
		return put(chs...)
	}}
}

func TestRebuild(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "index")
	started := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	ix := open(t, dir)
	require.NoError(t, ix.Upsert(ctx, "1", search.FullPatch(search.Channel{
		Login: "alice", DisplayName: "Alice", Title: "old title", CategoryID: "7", CategoryName: "Chess",
		Language: "en", StreamerTags: []string{"old"}, SmartTags: []string{"chessboard"}, Live: true,
		StartedAt: started, ViewerCount: 5, ThumbnailURL: "/thumbs/1.jpg", Safety: search.SafetyVisible,
	})))
	require.NoError(t, ix.Upsert(ctx, "1", search.Patch{ViewerCount: search.Ptr(int64(321))}))
	require.NoError(t, ix.Upsert(ctx, "2", search.Patch{Title: search.Ptr("hidden one"), Safety: search.Ptr(search.SafetyHidden)}))
	require.NoError(t, ix.Upsert(ctx, "99", search.Patch{Title: search.Ptr("stray channel"), Live: search.Ptr(true)}))
	require.NoError(t, ix.Close())

	st, err := bleveindex.Rebuild(ctx, bleveindex.Config{Path: path, Logger: slog.New(slog.DiscardHandler)}, fillWith(
		// Live-state fields from the source are ignored.
		search.Channel{ID: "1", Login: "alice", DisplayName: "Alice A.", Title: "Grand prix speedrun", CategoryID: "8",
			CategoryName: "Racing", Language: "fr", StreamerTags: []string{"Cars"}, Mature: true, Live: false, ViewerCount: 1},
		search.Channel{ID: "2", Login: "bob", Title: "hidden one"},
		search.Channel{ID: "3", Login: "carol", Title: "brand new"},
	))
	require.NoError(t, err)
	require.Equal(t, search.RebuildStats{Channels: 3, LiveCopied: 2, Dropped: 1}, st)
	_, err = os.Stat(path + ".rebuild")
	require.ErrorIs(t, err, os.ErrNotExist)

	ix = open(t, dir)
	defer ix.Close()
	got, err := ix.Get(ctx, "1")
	require.NoError(t, err)
	require.Equal(t, search.Channel{
		ID: "1", Login: "alice", DisplayName: "Alice A.", Title: "Grand prix speedrun", CategoryID: "8", CategoryName: "Racing",
		Language: "fr", StreamerTags: []string{"cars"}, SmartTags: []string{"chessboard"}, Mature: true, Live: true,
		StartedAt: started, ViewerCount: 321, ThumbnailURL: "/thumbs/1.jpg", Safety: search.SafetyVisible,
	}, got)
	got, err = ix.Get(ctx, "2")
	require.NoError(t, err)
	require.Equal(t, search.SafetyHidden, got.Safety, "a confirmed flag survives the rebuild")
	got, err = ix.Get(ctx, "3")
	require.NoError(t, err)
	require.False(t, got.Live)
	_, err = ix.Get(ctx, "99")
	require.ErrorIs(t, err, search.ErrNotFound, "channels gone from the store are dropped")

	res, err := ix.Search(ctx, search.Query{Text: "prix speedrn", Live: search.Ptr(true)})
	require.NoError(t, err)
	require.Len(t, res.Hits, 1)
	require.Equal(t, "1", res.Hits[0].ID)
	require.Equal(t, int64(321), res.Hits[0].ViewerCount)
	res, err = ix.Search(ctx, search.Query{Text: "stray"})
	require.NoError(t, err)
	require.Empty(t, res.Hits)
}

func TestRebuildFromNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "index")
	st, err := bleveindex.Rebuild(ctx, bleveindex.Config{Path: path}, fillWith(search.Channel{ID: "1", Title: "first"}))
	require.NoError(t, err)
	require.Equal(t, search.RebuildStats{Channels: 1}, st)
	ix, err := bleveindex.Open(bleveindex.Config{Path: path})
	require.NoError(t, err)
	defer ix.Close()
	_, err = ix.Get(ctx, "1")
	require.NoError(t, err)
}

func TestRebuildRefusals(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	boom := errors.New("store went away")
	for _, tc := range []struct {
		name string
		// setup returns the index path and the index to keep open, if any.
		setup func(t *testing.T) (string, *bleveindex.Index)
		src   search.Source
		want  error
		msg   string
	}{
		{
			name: "index in use by a running server",
			setup: func(t *testing.T) (string, *bleveindex.Index) {
				dir := t.TempDir()
				return filepath.Join(dir, "index"), open(t, dir)
			},
			src:  fillWith(search.Channel{ID: "1"}),
			want: bleveindex.ErrLocked,
		},
		{
			name: "fill fails",
			setup: func(t *testing.T) (string, *bleveindex.Index) {
				dir := t.TempDir()
				ix := open(t, dir)
				require.NoError(t, ix.Upsert(ctx, "keep", search.Patch{Title: search.Ptr("kept")}))
				require.NoError(t, ix.Close())
				return filepath.Join(dir, "index"), nil
			},
			src: search.Source{Fill: func(ctx context.Context, put func(...search.Channel) error) error {
				if err := put(search.Channel{ID: "1"}); err != nil {
					return err
				}
				return boom
			}},
			want: boom,
		},
		{
			name: "invalid document",
			setup: func(t *testing.T) (string, *bleveindex.Index) {
				return filepath.Join(t.TempDir(), "index"), nil
			},
			src:  fillWith(search.Channel{ID: "bad id!"}),
			want: search.ErrInvalidDocument,
		},
		{
			name: "path is not an index",
			setup: func(t *testing.T) (string, *bleveindex.Index) {
				dir := t.TempDir()
				p := filepath.Join(dir, "index")
				require.NoError(t, os.MkdirAll(p, 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(p, "precious.txt"), []byte("x"), 0o644))
				return p, nil
			},
			src: fillWith(search.Channel{ID: "1"}),
			msg: "is not a bleve index",
		},
		{
			name:  "no fill",
			setup: func(t *testing.T) (string, *bleveindex.Index) { return filepath.Join(t.TempDir(), "index"), nil },
			msg:   "'fill' is required",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, held := tc.setup(t)
			if held != nil {
				defer held.Close()
			}
			start := time.Now()
			_, err := bleveindex.Rebuild(ctx, bleveindex.Config{Path: path, LockTimeout: 200 * time.Millisecond, Logger: quiet}, tc.src)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
			require.Contains(t, err.Error(), tc.msg)
			require.Less(t, time.Since(start), 5*time.Second)
			_, statErr := os.Stat(path + ".rebuild")
			require.ErrorIs(t, statErr, os.ErrNotExist, "no half-built index left behind")
			if tc.name == "fill fails" {
				ix, err := bleveindex.Open(bleveindex.Config{Path: path, Logger: quiet})
				require.NoError(t, err)
				defer ix.Close()
				_, err = ix.Get(ctx, "keep")
				require.NoError(t, err, "a failed rebuild leaves the current index as it was")
				_, err = ix.Get(ctx, "1")
				require.ErrorIs(t, err, search.ErrNotFound)
			}
			if held != nil {
				require.NoError(t, held.Upsert(ctx, "x", search.Patch{Title: search.Ptr("still works")}))
			}
		})
	}
}

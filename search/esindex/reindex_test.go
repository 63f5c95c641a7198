package esindex_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/beaconlive/beacon/search"
)

func TestReindexKeepsLiveStateAndSearchesAnswer(t *testing.T) {
	url := testenv.Require(t, "ES_URL", "Elasticsearch")
	ctx := context.Background()
	ix := open(t, url, uniqueAlias(t))
	defer ix.Close()
	defer ix.Drop(ctx)
	started := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	require.NoError(t, ix.Upsert(ctx, "1", search.FullPatch(search.Channel{
		Login: "alice", DisplayName: "Alice", Title: "old title", CategoryID: "7", CategoryName: "Chess", Language: "en",
		StreamerTags: []string{"old"}, SmartTags: []string{"chessboard"}, Live: true, StartedAt: started,
		ViewerCount: 5, ThumbnailURL: "/thumbs/1.jpg",
	})))
	require.NoError(t, ix.Upsert(ctx, "2", search.Patch{Title: search.Ptr("hidden one"), Safety: search.Ptr(search.SafetyHidden)}))
	require.NoError(t, ix.Upsert(ctx, "99", search.Patch{Title: search.Ptr("stray channel"), Live: search.Ptr(true)}))
	require.NoError(t, ix.Refresh(ctx))
	before, err := ix.Current(ctx)
	require.NoError(t, err)

	// Searches run throughout and always find the live channel 1.
	var searches, misses atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	searchErrs := make(chan error, 4)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := ix.Search(ctx, search.Query{Live: search.Ptr(true), Sort: search.SortViewers})
				if err != nil {
					searchErrs <- err
					return
				}
				searches.Add(1)
				found := false
				for _, h := range res.Hits {
					found = found || h.ID == "1"
				}
				if !found {
					misses.Add(1)
				}
			}
		}()
	}
	// A writer moves channel 1's viewer count the whole time: none of its
	// writes may fail or be lost by the swap.
	var lastViewers atomic.Int64
	writerErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := int64(100); ; v++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := ix.Upsert(ctx, "1", search.Patch{ViewerCount: search.Ptr(v)}); err != nil {
				writerErr <- err
				return
			}
			lastViewers.Store(v)
		}
	}()

	// Another writer makes one live change to each of many channels, in
	// turn, through the whole rebuild and swap: every acknowledged change
	// must be in the rebuilt index (none lost in the window before the swap).
	const spread = 3000
	var acked atomic.Int64
	acked.Store(-1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range spread {
			select {
			case <-stop:
				return
			default:
			}
			if err := ix.Upsert(ctx, fmt.Sprintf("w%d", i), search.Patch{Live: search.Ptr(true), ViewerCount: search.Ptr(int64(i + 1))}); err != nil {
				writerErr <- err
				return
			}
			acked.Store(int64(i))
		}
	}()
	spreadDocs := make([]search.Channel, spread)
	for i := range spreadDocs {
		spreadDocs[i] = search.Channel{ID: fmt.Sprintf("w%d", i), Login: fmt.Sprintf("w%d", i), Title: "spread"}
	}

	src := search.Source{
		Fill: func(ctx context.Context, put func(...search.Channel) error) error {
			if err := put(spreadDocs...); err != nil {
				return err
			}
			if err := put(
				search.Channel{ID: "1", Login: "alice", DisplayName: "Alice A.", Title: "Grand prix speedrun", CategoryID: "8",
					CategoryName: "Racing", Language: "fr", StreamerTags: []string{"Cars"}, Mature: true},
				search.Channel{ID: "2", Login: "bob", Title: "hidden one"},
			); err != nil {
				return err
			}
			// Live updates after their channels were copied: the catch-up
			// must carry them over. Channel 4 is created after the listing.
			if err := ix.Upsert(ctx, "2", search.Patch{Live: search.Ptr(true), ViewerCount: search.Ptr(int64(9)), SmartTags: search.Ptr([]string{"late"})}); err != nil {
				return err
			}
			if err := ix.Upsert(ctx, "4", search.Patch{Title: search.Ptr("from the event"), Live: search.Ptr(true)}); err != nil {
				return err
			}
			time.Sleep(300 * time.Millisecond)
			return put(search.Channel{ID: "3", Login: "carol", Title: "brand new"})
		},
		Lookup: func(_ context.Context, id string) (search.Channel, bool, error) {
			if id == "4" {
				return search.Channel{ID: "4", Login: "dave", Title: "from the store"}, true, nil
			}
			return search.Channel{}, false, nil
		},
	}
	time.Sleep(200 * time.Millisecond)
	st, err := ix.Reindex(ctx, src)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	close(searchErrs)
	for err := range searchErrs {
		require.NoError(t, err)
	}
	select {
	case err := <-writerErr:
		require.NoError(t, err, "a write during the rebuild failed")
	default:
	}
	require.Positive(t, searches.Load())
	n := acked.Load()
	t.Logf("%d spread writes acknowledged (of %d)", n+1, spread)
	require.Less(t, n, int64(spread-1), "the spread writer finished before the swap; the test proves nothing")
	for i := range n + 1 {
		got, err := ix.Get(ctx, fmt.Sprintf("w%d", i))
		require.NoError(t, err)
		require.True(t, got.Live && got.ViewerCount == i+1, "live change %d lost: %+v", i, got)
	}
	require.Zero(t, misses.Load(), "a search missed the live channel during the rebuild")
	t.Logf("%d searches during the rebuild; stats %+v", searches.Load(), st)
	require.Equal(t, 4+spread, st.Channels)
	require.Equal(t, 1, st.Dropped)
	require.Positive(t, st.CaughtUp)

	after, err := ix.Current(ctx)
	require.NoError(t, err)
	require.NotEqual(t, before, after)
	got, err := ix.Get(ctx, "1")
	require.NoError(t, err)
	require.Equal(t, lastViewers.Load(), got.ViewerCount, "the last viewer count written survives the swap")
	got.ViewerCount = 0
	require.Equal(t, search.Channel{
		ID: "1", Login: "alice", DisplayName: "Alice A.", Title: "Grand prix speedrun", CategoryID: "8", CategoryName: "Racing",
		Language: "fr", StreamerTags: []string{"cars"}, SmartTags: []string{"chessboard"}, Mature: true, Live: true,
		StartedAt: started, ThumbnailURL: "/thumbs/1.jpg", Safety: search.SafetyVisible,
	}, got)
	got, err = ix.Get(ctx, "2")
	require.NoError(t, err)
	require.Equal(t, search.SafetyHidden, got.Safety)
	require.True(t, got.Live)
	require.Equal(t, int64(9), got.ViewerCount)
	require.Equal(t, []string{"late"}, got.SmartTags)
	got, err = ix.Get(ctx, "4")
	require.NoError(t, err)
	require.Equal(t, "from the store", got.Title)
	require.True(t, got.Live)
	_, err = ix.Get(ctx, "99")
	require.ErrorIs(t, err, search.ErrNotFound)

	require.NoError(t, ix.Refresh(ctx))
	res, err := ix.Search(ctx, search.Query{Text: "prix speedrn"})
	require.NoError(t, err)
	require.Len(t, res.Hits, 1)
	require.Equal(t, "1", res.Hits[0].ID)
}

func TestReindexFailureLeavesTheIndex(t *testing.T) {
	url := testenv.Require(t, "ES_URL", "Elasticsearch")
	ctx := context.Background()
	ix := open(t, url, uniqueAlias(t))
	defer ix.Close()
	defer ix.Drop(ctx)
	require.NoError(t, ix.Upsert(ctx, "keep", search.Patch{Title: search.Ptr("kept")}))
	before, err := ix.Current(ctx)
	require.NoError(t, err)
	boom := errors.New("store went away")
	for _, tc := range []struct {
		name string
		src  search.Source
		want error
	}{
		{"fill fails", search.Source{Fill: func(_ context.Context, put func(...search.Channel) error) error {
			if err := put(search.Channel{ID: "x"}); err != nil {
				return err
			}
			return boom
		}}, boom},
		{"invalid document", search.Source{Fill: func(_ context.Context, put func(...search.Channel) error) error {
			return put(search.Channel{ID: "bad id!"})
		}}, search.ErrInvalidDocument},
		{"no fill", search.Source{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ix.Reindex(ctx, tc.src)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
			cur, err := ix.Current(ctx)
			require.NoError(t, err)
			require.Equal(t, before, cur)
			require.NoError(t, ix.Upsert(ctx, "keep", search.Patch{Title: search.Ptr(fmt.Sprintf("still writable %s", tc.name))}))
			_, err = ix.Get(ctx, "x")
			require.ErrorIs(t, err, search.ErrNotFound)
		})
	}
}

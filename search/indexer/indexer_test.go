package indexer_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/membus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/bleveindex"
	"github.com/beaconlive/beacon/search/indexer"
)

// flaky fails writes with ErrUnavailable while down is set.
type flaky struct {
	search.Index
	down     atomic.Bool
	failures atomic.Int64
}

func (f *flaky) Upsert(ctx context.Context, id string, p search.Patch) error {
	if f.down.Load() {
		f.failures.Add(1)
		return search.ErrUnavailable
	}
	return f.Index.Upsert(ctx, id, p)
}

func setup(t *testing.T) (*membus.Bus, *flaky, func()) {
	t.Helper()
	b, err := membus.New(membus.Config{Topics: event.Topics(4), RetryPause: 10 * time.Millisecond})
	require.NoError(t, err)
	ix, err := bleveindex.Open(bleveindex.Config{Path: filepath.Join(t.TempDir(), "index"), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	f := &flaky{Index: ix}
	x := indexer.New(b, f, indexer.Config{MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = x.Run(ctx)
	}()
	return b, f, func() {
		cancel()
		wg.Wait()
		_ = b.Close()
		_ = ix.Close()
	}
}

func publish(t *testing.T, b bus.Publisher, channel string, msgs ...event.Payload) {
	t.Helper()
	for _, m := range msgs {
		bm, err := event.Encode(channel, m)
		require.NoError(t, err)
		require.NoError(t, b.Publish(context.Background(), bm))
	}
}

func waitFor(t *testing.T, ix search.Index, within time.Duration, cond func(search.Channel) bool, id string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := ix.Get(context.Background(), id)
		if err == nil && cond(c) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("channel %s not as expected after %v: %+v (%v)", id, within, c, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIndexerAppliesEvents(t *testing.T) {
	b, ix, stop := setup(t)
	defer stop()
	started := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	publish(t, b, "c1",
		&eventsv1.StreamEvent{EventId: "e1", ChannelId: "c1", Kind: &eventsv1.StreamEvent_Online{Online: &eventsv1.StreamOnline{StartedAt: timestamppb.New(started)}}},
		&eventsv1.StreamEvent{EventId: "e2", ChannelId: "c1", Kind: &eventsv1.StreamEvent_Metadata{Metadata: &eventsv1.StreamMetadata{
			Title: "Minecraft speedrun", CategoryId: "cat-mc", CategoryName: "Minecraft", Language: "en", Tags: []string{"Speedrun"}, Login: "speedy", DisplayName: "Speedy"}}},
		&eventsv1.StreamEvent{EventId: "e3", ChannelId: "c1", Kind: &eventsv1.StreamEvent_Viewers{Viewers: &eventsv1.ViewerCount{Count: 42}}},
	)
	publish(t, b, "c1", &eventsv1.TagsUpdate{EventId: "t1", ChannelId: "c1", Tags: []*eventsv1.Tag{{Name: "gameplay", Source: eventsv1.TagSource_TAG_SOURCE_SMART}}})
	waitFor(t, ix, 2*time.Second, func(c search.Channel) bool {
		return c.Live && c.Title == "Minecraft speedrun" && c.ViewerCount == 42 && len(c.SmartTags) == 1
	}, "c1")

	start := time.Now()
	publish(t, b, "c1", &eventsv1.StreamEvent{EventId: "e4", ChannelId: "c1", Kind: &eventsv1.StreamEvent_Metadata{Metadata: &eventsv1.StreamMetadata{
		Title: "Now building a castle", CategoryId: "cat-mc", CategoryName: "Minecraft", Language: "en"}}})
	for {
		res, err := ix.Search(context.Background(), search.Query{Text: "castle"})
		require.NoError(t, err)
		if len(res.Hits) == 1 {
			break
		}
		require.Less(t, time.Since(start), search.MaxVisibilityDelay, "title change not searchable within a second")
		time.Sleep(5 * time.Millisecond)
	}
	got, err := ix.Get(context.Background(), "c1")
	require.NoError(t, err)
	require.Equal(t, "speedy", got.Login, "a metadata event without names keeps them")
	require.Equal(t, []string{"gameplay"}, got.SmartTags)
	require.Equal(t, started, got.StartedAt)

	publish(t, b, "c1", &eventsv1.FlagEvent{EventId: "f1", ChannelId: "c1", Kind: &eventsv1.FlagEvent_Reviewed{Reviewed: &eventsv1.FlagReview{Decision: eventsv1.FlagDecision_FLAG_DECISION_CONFIRM_HIDE}}})
	waitFor(t, ix, 2*time.Second, func(c search.Channel) bool { return c.Hidden() }, "c1")
	publish(t, b, "c1", &eventsv1.StreamEvent{EventId: "e5", ChannelId: "c1", Kind: &eventsv1.StreamEvent_Offline{Offline: &eventsv1.StreamOffline{}}})
	waitFor(t, ix, 2*time.Second, func(c search.Channel) bool { return !c.Live && c.ViewerCount == 0 }, "c1")
}

func TestIndexerSurvivesBackendOutage(t *testing.T) {
	b, ix, stop := setup(t)
	defer stop()
	ix.down.Store(true)
	for i := range 20 {
		publish(t, b, "c2", &eventsv1.StreamEvent{ChannelId: "c2", Kind: &eventsv1.StreamEvent_Viewers{Viewers: &eventsv1.ViewerCount{Count: int64(i)}}})
	}
	require.Eventually(t, func() bool { return ix.failures.Load() >= 3 }, 2*time.Second, 5*time.Millisecond)
	_, err := ix.Get(context.Background(), "c2")
	require.ErrorIs(t, err, search.ErrNotFound)
	ix.down.Store(false)
	// Every event lands, in order: the last count wins.
	waitFor(t, ix, 3*time.Second, func(c search.Channel) bool { return c.ViewerCount == 19 }, "c2")
}

func TestPatchesAreIdempotent(t *testing.T) {
	e := &eventsv1.StreamEvent{ChannelId: "c", Kind: &eventsv1.StreamEvent_Metadata{Metadata: &eventsv1.StreamMetadata{Title: "x", Tags: []string{"a"}}}}
	p, ok := indexer.StreamPatch(e)
	require.True(t, ok)
	once := p.Apply(search.Channel{ID: "c"})
	require.Equal(t, once, p.Apply(once))
	_, ok = indexer.StreamPatch(&eventsv1.StreamEvent{Kind: &eventsv1.StreamEvent_Health{Health: &eventsv1.StreamHealth{}}})
	require.False(t, ok)
	_, ok = indexer.FlagPatch(&eventsv1.FlagEvent{Kind: &eventsv1.FlagEvent_Raised{Raised: &eventsv1.Flag{}}})
	require.False(t, ok, "a raised flag hides nothing until confirmed")
	tp := indexer.TagsPatch(&eventsv1.TagsUpdate{Tags: []*eventsv1.Tag{{Name: "fps", Source: eventsv1.TagSource_TAG_SOURCE_SMART}}})
	require.Nil(t, tp.StreamerTags, "smart-only updates keep the streamer's tags")
}

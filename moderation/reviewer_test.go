package moderation_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/moderation"
	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/indexer"
	"github.com/beaconlive/beacon/store"
)

// fakeEnder stands in for media/ingest (the lead wires the real one in
// cmd/beacon): a func-field fake.
type fakeEnder struct {
	EndStreamImpl func(ctx context.Context, channelID string) error
}

func (f fakeEnder) EndStream(ctx context.Context, channelID string) error {
	return f.EndStreamImpl(ctx, channelID)
}

// reviewed collects the reviewed events published on `flags` (through the
// in-process bus).
type reviewed struct {
	mu     sync.Mutex
	events []*eventsv1.FlagEvent
}

func (r *reviewed) get() []*eventsv1.FlagEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*eventsv1.FlagEvent(nil), r.events...)
}

func watchReviews(t *testing.T, b bus.Subscriber) *reviewed {
	r := &reviewed{}
	run(t, func(ctx context.Context) error {
		return b.Subscribe(ctx, "test", event.TopicFlags, event.Handler(func(_ context.Context, _ bus.Message, e *eventsv1.FlagEvent) error {
			if e.GetReviewed() != nil {
				r.mu.Lock()
				r.events = append(r.events, e)
				r.mu.Unlock()
			}
			return nil
		}))
	})
	return r
}

func seedFlag(t *testing.T, st store.Flags, id string, channel store.ChannelID) {
	t.Helper()
	_, _, err := st.InsertFlag(context.Background(), store.NewFlag{ID: id, ChannelID: channel, Kind: store.FlagFrame, Label: "Porn", Model: "m", Score: 0.9, Threshold: 0.8, CreatedAt: t0})
	require.NoError(t, err)
}

func TestReviewerConfirmHide(t *testing.T) {
	b, st := newBus(t), newStore(t)
	events := watchReviews(t, b)
	mod, err := st.CreateUser(context.Background(), store.NewUser{Login: "mod", Roles: []store.Role{store.RoleModerator}})
	require.NoError(t, err)
	seedFlag(t, st, "f1", 7)
	ended := 0
	r, err := moderation.NewReviewer(moderation.ReviewerConfig{}, st, b, fakeEnder{EndStreamImpl: func(context.Context, string) error { ended++; return nil }})
	require.NoError(t, err)

	f, err := r.Review(context.Background(), "f1", store.DecisionConfirmHide, mod.ID)
	require.NoError(t, err)
	require.Equal(t, store.FlagConfirmed, f.State)
	require.Equal(t, mod.ID, f.ReviewerID)
	require.Zero(t, ended, "confirm_hide does not end the stream")

	audit, err := st.AuditEvents(context.Background(), store.AuditFilter{Kind: store.AuditModeration})
	require.NoError(t, err)
	require.Len(t, audit, 1)
	require.Equal(t, mod.ID, audit[0].ActorID)

	require.Eventually(t, func() bool { return len(events.get()) == 1 }, 5*time.Second, 5*time.Millisecond)
	e := events.get()[0]
	require.Equal(t, "7", e.GetChannelId())
	require.Equal(t, "f1", e.GetReviewed().GetFlagId())
	require.Equal(t, eventsv1.FlagDecision_FLAG_DECISION_CONFIRM_HIDE, e.GetReviewed().GetDecision())
	require.Equal(t, "1", e.GetReviewed().GetReviewerId())
	require.True(t, f.ReviewedAt.Equal(e.GetTime().AsTime()))
	// The search indexer hides the channel on this event.
	p, ok := indexer.FlagPatch(e)
	require.True(t, ok)
	require.Equal(t, search.SafetyHidden, *p.Safety)

	// Another decision conflicts; nothing is published.
	cur, err := r.Review(context.Background(), "f1", store.DecisionDismiss, mod.ID)
	require.ErrorIs(t, err, store.ErrConflict)
	require.Equal(t, store.DecisionConfirmHide, cur.Decision)
	_, err = r.Review(context.Background(), "nope", store.DecisionDismiss, mod.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = r.Review(context.Background(), "f1", "ban", mod.ID)
	require.ErrorIs(t, err, store.ErrInvalid)
	time.Sleep(20 * time.Millisecond)
	require.Len(t, events.get(), 1)
}

func TestReviewerEndStream(t *testing.T) {
	b, st := newBus(t), newStore(t)
	events := watchReviews(t, b)
	seedFlag(t, st, "f2", 9)
	var mu sync.Mutex
	var calls []string
	fail := true
	ender := fakeEnder{EndStreamImpl: func(_ context.Context, ch string) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, ch)
		if fail {
			fail = false
			return errors.New("media: not reachable")
		}
		return nil
	}}
	r, err := moderation.NewReviewer(moderation.ReviewerConfig{}, st, b, ender)
	require.NoError(t, err)

	// The first attempt records the decision but cannot end the stream.
	f, err := r.Review(context.Background(), "f2", store.DecisionConfirmEndStream, 3)
	require.ErrorContains(t, err, "media: not reachable")
	require.Equal(t, store.DecisionConfirmEndStream, f.Decision)
	stored, err := st.FlagByID(context.Background(), "f2")
	require.NoError(t, err)
	require.Equal(t, store.FlagConfirmed, stored.State)

	// Retrying the same decision completes it.
	_, err = r.Review(context.Background(), "f2", store.DecisionConfirmEndStream, 3)
	require.NoError(t, err)
	mu.Lock()
	require.Equal(t, []string{"9", "9"}, calls)
	mu.Unlock()
	require.Eventually(t, func() bool { return len(events.get()) == 2 }, 5*time.Second, 5*time.Millisecond)
	for _, e := range events.get() {
		require.Equal(t, eventsv1.FlagDecision_FLAG_DECISION_CONFIRM_END_STREAM, e.GetReviewed().GetDecision())
		require.Equal(t, "review:f2", e.GetEventId(), "a repeated announcement has the same id")
		p, ok := indexer.FlagPatch(e)
		require.True(t, ok)
		require.False(t, *p.Live)
	}
	audit, err := st.AuditEvents(context.Background(), store.AuditFilter{Kind: store.AuditModeration})
	require.NoError(t, err)
	require.Len(t, audit, 1, "the retry is not audited twice")
}

func TestReviewerWithoutEnder(t *testing.T) {
	b, st := newBus(t), newStore(t)
	seedFlag(t, st, "f3", 4)
	r, err := moderation.NewReviewer(moderation.ReviewerConfig{}, st, b, nil)
	require.NoError(t, err)
	_, err = r.Review(context.Background(), "f3", store.DecisionConfirmEndStream, 1)
	require.ErrorIs(t, err, moderation.ErrCannotEndStream)
	f, err := st.FlagByID(context.Background(), "f3")
	require.NoError(t, err)
	require.Equal(t, store.FlagOpen, f.State, "nothing recorded")
	f, err = r.Review(context.Background(), "f3", store.DecisionDismiss, 1)
	require.NoError(t, err)
	require.Equal(t, store.FlagDismissed, f.State)

	_, err = moderation.NewReviewer(moderation.ReviewerConfig{}, nil, b, nil)
	require.Error(t, err)
}

func TestReviewerPublishFailure(t *testing.T) {
	b, st := newBus(t), newStore(t)
	seedFlag(t, st, "f4", 4)
	r, err := moderation.NewReviewer(moderation.ReviewerConfig{}, st, b, nil)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	_, err = r.Review(context.Background(), "f4", store.DecisionConfirm, 1)
	require.ErrorIs(t, err, bus.ErrClosed)
	f, err := st.FlagByID(context.Background(), "f4")
	require.NoError(t, err)
	require.Equal(t, store.FlagConfirmed, f.State, "the decision stands; a retry re-publishes")
}

package moderation_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/membus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/moderation"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

func newBus(t *testing.T) *membus.Bus {
	t.Helper()
	b, err := membus.New(membus.Config{Topics: event.Topics(2), RetryPause: 5 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func newStore(t *testing.T) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(t.TempDir(), "beacon.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// run runs f in a goroutine until the test ends, and waits for it.
func run(t *testing.T, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = f(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

var t0 = time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC)

func raised(id, channel string) *eventsv1.FlagEvent {
	return &eventsv1.FlagEvent{
		EventId: "e-" + id, ChannelId: channel, Time: timestamppb.New(t0),
		Kind: &eventsv1.FlagEvent_Raised{Raised: &eventsv1.Flag{
			FlagId: id, Subject: eventsv1.FlagSubject_FLAG_SUBJECT_FRAME, SubjectId: "frame-1", Model: "frame-safety@1",
			Label: "Porn", Score: 0.97, Threshold: 0.8,
			Evidence: &eventsv1.Evidence{Uri: "evidence:frames/" + channel + "/frame-1.jpg", Scores: map[string]float32{"Porn": 0.97, "Neutral": 0.03}},
		}},
	}
}

func publish(t *testing.T, b bus.Publisher, channel string, e proto.Message) {
	t.Helper()
	m, err := event.Encode(channel, e)
	require.NoError(t, err)
	require.NoError(t, b.Publish(context.Background(), m))
}

func waitFlag(t *testing.T, st store.Flags, id string) store.Flag {
	t.Helper()
	var f store.Flag
	require.Eventually(t, func() bool {
		var err error
		f, err = st.FlagByID(context.Background(), id)
		return err == nil
	}, 10*time.Second, 5*time.Millisecond, "flag %s never stored", id)
	return f
}

func TestRecorderStoresRaisedFlagsOnce(t *testing.T) {
	b, st := newBus(t), newStore(t)
	rec, err := moderation.NewRecorder(moderation.RecorderConfig{}, b, b, st)
	require.NoError(t, err)
	run(t, rec.Run)

	publish(t, b, "7", raised("flag-1", "7"))
	f := waitFlag(t, st, "flag-1")
	require.Equal(t, store.ChannelID(7), f.ChannelID)
	require.Equal(t, store.FlagFrame, f.Kind)
	require.Equal(t, "frame-1", f.SubjectID)
	require.Equal(t, "Porn", f.Label)
	require.Equal(t, float32(0.97), f.Score)
	require.Equal(t, float32(0.8), f.Threshold)
	require.Equal(t, "evidence:frames/7/frame-1.jpg", f.Evidence.URI)
	require.Equal(t, map[string]float32{"Porn": 0.97, "Neutral": 0.03}, f.Evidence.Scores)
	require.True(t, t0.Equal(f.CreatedAt), "created at the event's time")
	require.Equal(t, store.FlagOpen, f.State)

	// Redelivery (the same flag again, with different content) and a
	// reviewed event change nothing; a message flag keyed only by the bus
	// key is stored too.
	again := raised("flag-1", "7")
	again.GetRaised().Score = 0.1
	publish(t, b, "7", again)
	publish(t, b, "7", &eventsv1.FlagEvent{ChannelId: "7", Kind: &eventsv1.FlagEvent_Reviewed{Reviewed: &eventsv1.FlagReview{FlagId: "flag-1", Decision: eventsv1.FlagDecision_FLAG_DECISION_DISMISS}}})
	msg := &eventsv1.FlagEvent{Kind: &eventsv1.FlagEvent_Raised{Raised: &eventsv1.Flag{
		FlagId: "flag-2", Subject: eventsv1.FlagSubject_FLAG_SUBJECT_MESSAGE, SubjectId: "msg-9", Model: "chat-safety@1",
		Label: "unsafe", Score: 0.9, Threshold: 0.7, Evidence: &eventsv1.Evidence{Text: "you are ' OR 1=1 --"},
	}}}
	publish(t, b, "8", msg)
	m := waitFlag(t, st, "flag-2")
	require.Equal(t, store.ChannelID(8), m.ChannelID)
	require.Equal(t, store.FlagMessage, m.Kind)
	require.Equal(t, "you are ' OR 1=1 --", m.Evidence.Text)

	// A sentinel on key 7 (same partition, in order) proves the redelivery
	// and the reviewed event before it were handled.
	publish(t, b, "7", raised("flag-3", "7"))
	waitFlag(t, st, "flag-3")
	p, err := st.ListFlags(context.Background(), store.FlagFilter{})
	require.NoError(t, err)
	require.Len(t, p.Flags, 3)
	f2, err := st.FlagByID(context.Background(), "flag-1")
	require.NoError(t, err)
	require.Equal(t, f, f2, "redelivery changed nothing")
}

func TestRecorderDeadLettersMalformed(t *testing.T) {
	b, st := newBus(t), newStore(t)
	var dead atomic.Int64
	rec, err := moderation.NewRecorder(moderation.RecorderConfig{DeadLetters: counterFunc(func() { dead.Add(1) })}, b, b, st)
	require.NoError(t, err)
	run(t, rec.Run)

	var mu sync.Mutex
	var dlq []bus.Message
	run(t, func(ctx context.Context) error {
		return b.Subscribe(ctx, "test", event.TopicFlags+bus.DeadLetterSuffix, func(_ context.Context, m bus.Message) error {
			mu.Lock()
			defer mu.Unlock()
			dlq = append(dlq, m)
			return nil
		})
	})

	mut := func(f func(*eventsv1.FlagEvent)) []byte {
		e := raised("bad", "7")
		f(e)
		v, err := proto.Marshal(e)
		require.NoError(t, err)
		return v
	}
	schema := event.Schema(&eventsv1.FlagEvent{})
	cases := []struct {
		name   string
		value  []byte
		schema string
	}{
		{"garbage bytes", []byte{0xff, 0xff, 0xff, 0x01}, schema},
		{"wrong schema", mut(func(*eventsv1.FlagEvent) {}), "beacon.events.v1.Frame"},
		{"no flag", mut(func(e *eventsv1.FlagEvent) { e.Kind = nil }), schema},
		{"channel not a number", mut(func(e *eventsv1.FlagEvent) { e.ChannelId = "abc'; DROP TABLE flags;--" }), schema},
		{"unknown subject", mut(func(e *eventsv1.FlagEvent) { e.GetRaised().Subject = 99 }), schema},
		{"injection label", mut(func(e *eventsv1.FlagEvent) { e.GetRaised().Label = "' OR '1'='1" }), schema},
		{"nan score", mut(func(e *eventsv1.FlagEvent) { e.GetRaised().Score = float32(math.NaN()) }), schema},
		// proto3 refuses invalid UTF-8 in strings at decode: swap it in.
		{"invalid utf-8 text", bytes.Replace(mut(func(e *eventsv1.FlagEvent) { e.GetRaised().Evidence.Text = "ok-MARK" }), []byte("MARK"), []byte("\xff\xfe\xfd\xfc"), 1), schema},
		{"empty flag id", mut(func(e *eventsv1.FlagEvent) { e.GetRaised().FlagId = "" }), schema},
	}
	for _, ca := range cases {
		require.NoError(t, b.Publish(context.Background(), bus.Message{Topic: event.TopicFlags, Key: []byte("7"), Value: ca.value, Headers: map[string]string{event.HeaderSchema: ca.schema}}))
	}
	// A good flag behind them on the same key (same partition) is still
	// stored: bad input never blocks the partition.
	publish(t, b, "7", raised("good", "7"))
	waitFlag(t, st, "good")
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(dlq) == len(cases)
	}, 5*time.Second, 5*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for i, m := range dlq {
		require.Equal(t, event.TopicFlags, m.Headers[bus.HeaderDLQTopic], cases[i].name)
		require.NotEmpty(t, m.Headers[bus.HeaderDLQError], cases[i].name)
		require.Equal(t, cases[i].value, m.Value, cases[i].name)
	}
	require.Equal(t, int64(len(cases)), dead.Load())
	p, err := st.ListFlags(context.Background(), store.FlagFilter{})
	require.NoError(t, err)
	require.Len(t, p.Flags, 1, "only the good flag is stored")
}

type counterFunc func()

func (c counterFunc) Inc() { c() }

// fakeInserter is a store double with a func field.
type fakeInserter struct {
	InsertFlagImpl func(ctx context.Context, f store.NewFlag) (store.Flag, bool, error)
}

func (f fakeInserter) InsertFlag(ctx context.Context, nf store.NewFlag) (store.Flag, bool, error) {
	return f.InsertFlagImpl(ctx, nf)
}

func TestRecorderRetriesStoreOutage(t *testing.T) {
	b := newBus(t)
	var calls atomic.Int64
	stored := make(chan store.NewFlag, 1)
	st := fakeInserter{InsertFlagImpl: func(_ context.Context, f store.NewFlag) (store.Flag, bool, error) {
		if calls.Add(1) <= 3 {
			return store.Flag{}, false, errors.New("store: database is locked")
		}
		stored <- f
		return store.Flag{ID: f.ID}, true, nil
	}}
	rec, err := moderation.NewRecorder(moderation.RecorderConfig{}, b, b, st)
	require.NoError(t, err)
	run(t, rec.Run)
	publish(t, b, "7", raised("retry-me", "7"))
	select {
	case f := <-stored:
		require.Equal(t, "retry-me", f.ID)
	case <-time.After(10 * time.Second):
		t.Fatal("flag never stored after the outage")
	}
	require.Equal(t, int64(4), calls.Load(), "three failures, then the redelivery succeeded")
}

func TestNewRecorderNeedsDependencies(t *testing.T) {
	b := newBus(t)
	_, err := moderation.NewRecorder(moderation.RecorderConfig{}, nil, b, newStore(t))
	require.Error(t, err)
	_, err = moderation.NewRecorder(moderation.RecorderConfig{}, b, b, nil)
	require.Error(t, err)
}

func FuzzNewFlagOf(f *testing.F) {
	for _, e := range []*eventsv1.FlagEvent{raised("a", "1"), {}, {ChannelId: "x"}} {
		v, _ := proto.Marshal(e)
		f.Add(v, "7")
	}
	f.Fuzz(func(t *testing.T, value []byte, key string) {
		var e eventsv1.FlagEvent
		if proto.Unmarshal(value, &e) != nil {
			return
		}
		nf, err := moderation.NewFlagOf(bus.Message{Key: []byte(key), Time: t0}, &e)
		if err != nil {
			require.ErrorIs(t, err, moderation.ErrBadFlag)
			return
		}
		require.Positive(t, int64(nf.ChannelID))
		require.Contains(t, []store.FlagKind{store.FlagFrame, store.FlagMessage}, nf.Kind)
		_ = store.ValidateNewFlag(&nf) // never panics, whatever it decides
	})
}

package moderation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/store"
)

// DefaultGroup is the consumer group of the Recorder.
const DefaultGroup = "moderation"

// ErrBadFlag is returned (marked bus.Permanent) for a flags message that
// cannot be stored: no flag, a bad channel id, an unknown subject.
var ErrBadFlag = errors.New("moderation: bad flag")

// flagInserter is the slice of store.Flags the Recorder uses.
type flagInserter interface {
	InsertFlag(ctx context.Context, f store.NewFlag) (store.Flag, bool, error)
}

// RecorderConfig configures a Recorder.
type RecorderConfig struct {
	// Group is the consumer group. It defaults to DefaultGroup.
	Group string
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// DeadLetters, if set, counts dead-lettered messages.
	DeadLetters bus.Counter
}

// Recorder stores the flags raised on topic `flags`.
type Recorder struct {
	cfg RecorderConfig
	log *slog.Logger
	sub bus.Subscriber
	h   bus.Handler
	st  flagInserter
}

// NewRecorder returns a Recorder that consumes sub, dead-letters through
// pub, and stores flags in st.
func NewRecorder(cfg RecorderConfig, sub bus.Subscriber, pub bus.Publisher, st flagInserter) (*Recorder, error) {
	if sub == nil || pub == nil || st == nil {
		return nil, errors.New("moderation: NewRecorder needs a subscriber, a publisher and a store")
	}
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{cfg: cfg, log: cfg.Logger.With("component", "moderation_recorder"), sub: sub, st: st}
	r.h = bus.DeadLetter{Publisher: pub, Logger: r.log, Counter: cfg.DeadLetters}.Wrap(event.Handler(r.record))
	return r, nil
}

// Run consumes `flags` until ctx ends (nil) or the bus closes.
func (r *Recorder) Run(ctx context.Context) error {
	r.log.Info("recording flags", "topic", event.TopicFlags, "group", r.cfg.Group)
	return r.sub.Subscribe(ctx, r.cfg.Group, event.TopicFlags, r.h)
}

// NewFlagOf converts a raised-flag event into the store's input. m is the
// bus message it came in (its key is the channel id when the event has
// none, its time the creation time when the event has none).
func NewFlagOf(m bus.Message, e *eventsv1.FlagEvent) (store.NewFlag, error) {
	f := e.GetRaised()
	if f == nil {
		return store.NewFlag{}, fmt.Errorf("%w: no raised flag", ErrBadFlag)
	}
	chID := e.GetChannelId()
	if chID == "" {
		chID = string(m.Key)
	}
	ch, err := strconv.ParseInt(chID, 10, 64)
	if err != nil || ch <= 0 {
		return store.NewFlag{}, fmt.Errorf("%w: channel id %q is not a positive integer", ErrBadFlag, clip(chID))
	}
	var kind store.FlagKind
	switch f.GetSubject() {
	case eventsv1.FlagSubject_FLAG_SUBJECT_FRAME:
		kind = store.FlagFrame
	case eventsv1.FlagSubject_FLAG_SUBJECT_MESSAGE:
		kind = store.FlagMessage
	default:
		return store.NewFlag{}, fmt.Errorf("%w: unknown subject %v", ErrBadFlag, f.GetSubject())
	}
	created := m.Time
	if ts := e.GetTime(); ts != nil && ts.IsValid() && ts.AsTime().Unix() > 0 {
		created = ts.AsTime()
	}
	if created.IsZero() {
		created = time.Now()
	}
	ev := f.GetEvidence()
	return store.NewFlag{
		ID: f.GetFlagId(), ChannelID: store.ChannelID(ch), Kind: kind, SubjectID: f.GetSubjectId(),
		Label: f.GetLabel(), Model: f.GetModel(), Score: f.GetScore(), Threshold: f.GetThreshold(),
		Evidence:  store.FlagEvidence{URI: ev.GetUri(), Text: ev.GetText(), Scores: ev.GetScores()},
		CreatedAt: created,
	}, nil
}

func (r *Recorder) record(ctx context.Context, m bus.Message, e *eventsv1.FlagEvent) error {
	if e.GetReviewed() != nil {
		return nil // our own Reviewer's events: nothing to store
	}
	nf, err := NewFlagOf(m, e)
	if err != nil {
		return bus.Permanent(err)
	}
	f, created, err := r.st.InsertFlag(ctx, nf)
	switch {
	case errors.Is(err, store.ErrInvalid):
		return bus.Permanent(fmt.Errorf("%w: %w", ErrBadFlag, err))
	case err != nil:
		return fmt.Errorf("moderation: store flag: %w", err)
	}
	if created {
		r.log.Info("flag raised", "flag_id", f.ID, "channel_id", int64(f.ChannelID), "kind", string(f.Kind), "label", f.Label, "score", f.Score)
	} else {
		r.log.Debug("flag redelivered", "flag_id", f.ID)
	}
	return nil
}

// clip shortens untrusted text echoed in an error.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// Package indexer contains the stage that keeps the search index current
// from the bus.
//
// # Topics
//
// It consumes, as consumer group Config.Group:
//   - streams: online (live, start time), offline (not live, 0 viewers),
//     metadata (title, category, language, streamer tags, mature, names) and
//     viewer counts;
//   - tags: the channel's current Smart Tags (and its streamer tags when the
//     update carries any);
//   - flags: a confirmed flag that hides the channel or ends its stream hides
//     it from the directory (raised and dismissed flags change nothing).
//
// The activity topic is not consumed: viewer counts arrive already counted
// as StreamEvent.viewers, and the index holds nothing else activity could
// change.
//
// # Delivery
//
// Every event becomes a search.Patch that sets fields to values, so applying
// an event twice changes nothing (redelivery is harmless), and the bus keeps
// one channel's events in order on its partition. A write that fails with
// search.ErrUnavailable (backend down) is retried with exponential backoff
// until it succeeds or the stage stops; the message stays uncommitted until
// then, so a restart resumes from the committed offset and loses nothing. A
// payload that does not decode, or a patch the index refuses as invalid, is
// a bus.Permanent error for the dead-letter wrapper.
package indexer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/search"
)

// indexWriter is the slice of search.Index the indexer uses.
type indexWriter interface {
	Upsert(ctx context.Context, id string, p search.Patch) error
}

// Config configures an Indexer.
type Config struct {
	// Group is the consumer group. It defaults to "indexer".
	Group string
	// MinBackoff is the first retry pause while the index is unavailable.
	// It defaults to 100ms.
	MinBackoff time.Duration
	// MaxBackoff caps the retry pause. It defaults to 5s.
	MaxBackoff time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Indexer applies stream, tag and flag events to the index.
type Indexer struct {
	cfg Config
	sub bus.Subscriber
	ix  indexWriter
	log *slog.Logger
	// Wrap, if set, wraps each topic's handler (for example with
	// bus.DeadLetter.Wrap).
	Wrap func(bus.Handler) bus.Handler
}

// New returns an indexer reading from sub and writing to ix.
func New(sub bus.Subscriber, ix indexWriter, cfg Config) *Indexer {
	if cfg.Group == "" {
		cfg.Group = "indexer"
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Indexer{cfg: cfg, sub: sub, ix: ix, log: cfg.Logger.With("component", "indexer")}
}

// Run consumes until ctx ends (returning nil) or a subscription fails.
func (x *Indexer) Run(ctx context.Context) error {
	wrap := x.Wrap
	if wrap == nil {
		wrap = func(h bus.Handler) bus.Handler { return h }
	}
	g, gctx := errgroup.WithContext(ctx)
	for topic, h := range map[string]bus.Handler{
		event.TopicStreams: event.Handler(x.onStream),
		event.TopicTags:    event.Handler(x.onTags),
		event.TopicFlags:   event.Handler(x.onFlag),
	} {
		h := wrap(h)
		g.Go(func() error {
			if err := x.sub.Subscribe(gctx, x.cfg.Group, topic, h); err != nil && gctx.Err() == nil {
				return fmt.Errorf("indexer: subscribe %s: %w", topic, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// StreamPatch returns the patch of a streams event, or false when it changes
// nothing in the index.
func StreamPatch(e *eventsv1.StreamEvent) (search.Patch, bool) {
	switch k := e.GetKind().(type) {
	case *eventsv1.StreamEvent_Online:
		p := search.Patch{Live: search.Ptr(true)}
		switch {
		case k.Online.GetStartedAt() != nil:
			p.StartedAt = search.Ptr(k.Online.GetStartedAt().AsTime())
		case e.GetTime() != nil:
			p.StartedAt = search.Ptr(e.GetTime().AsTime())
		}
		return p, true
	case *eventsv1.StreamEvent_Offline:
		return search.Patch{Live: search.Ptr(false), ViewerCount: search.Ptr(int64(0))}, true
	case *eventsv1.StreamEvent_Metadata:
		m := k.Metadata
		p := search.Patch{
			Title: search.Ptr(m.GetTitle()), CategoryID: search.Ptr(m.GetCategoryId()),
			CategoryName: search.Ptr(m.GetCategoryName()), Language: search.Ptr(m.GetLanguage()),
			StreamerTags: search.Ptr(append([]string(nil), m.GetTags()...)), Mature: search.Ptr(m.GetMature()),
		}
		if m.GetLogin() != "" {
			p.Login = search.Ptr(m.GetLogin())
		}
		if m.GetDisplayName() != "" {
			p.DisplayName = search.Ptr(m.GetDisplayName())
		}
		return p, true
	case *eventsv1.StreamEvent_Viewers:
		return search.Patch{ViewerCount: search.Ptr(max(k.Viewers.GetCount(), 0))}, true
	default:
		return search.Patch{}, false
	}
}

// TagsPatch returns the patch of a tags update.
func TagsPatch(u *eventsv1.TagsUpdate) search.Patch {
	var streamer, smart []string
	for _, t := range u.GetTags() {
		if t.GetSource() == eventsv1.TagSource_TAG_SOURCE_STREAMER {
			streamer = append(streamer, t.GetName())
		} else {
			smart = append(smart, t.GetName())
		}
	}
	p := search.Patch{SmartTags: &smart}
	if len(streamer) > 0 {
		p.StreamerTags = &streamer
	}
	return p
}

// FlagPatch returns the patch of a flags event, or false when it changes
// nothing in the index.
func FlagPatch(e *eventsv1.FlagEvent) (search.Patch, bool) {
	r := e.GetReviewed()
	if r == nil {
		return search.Patch{}, false
	}
	switch r.GetDecision() {
	case eventsv1.FlagDecision_FLAG_DECISION_CONFIRM_HIDE:
		return search.Patch{Safety: search.Ptr(search.SafetyHidden)}, true
	case eventsv1.FlagDecision_FLAG_DECISION_CONFIRM_END_STREAM:
		return search.Patch{Safety: search.Ptr(search.SafetyHidden), Live: search.Ptr(false), ViewerCount: search.Ptr(int64(0))}, true
	default:
		return search.Patch{}, false
	}
}

func (x *Indexer) onStream(ctx context.Context, m bus.Message, e *eventsv1.StreamEvent) error {
	p, ok := StreamPatch(e)
	if !ok {
		return nil
	}
	return x.apply(ctx, m, e.GetChannelId(), p)
}

func (x *Indexer) onTags(ctx context.Context, m bus.Message, u *eventsv1.TagsUpdate) error {
	return x.apply(ctx, m, u.GetChannelId(), TagsPatch(u))
}

func (x *Indexer) onFlag(ctx context.Context, m bus.Message, e *eventsv1.FlagEvent) error {
	p, ok := FlagPatch(e)
	if !ok {
		return nil
	}
	return x.apply(ctx, m, e.GetChannelId(), p)
}

// apply writes p, retrying with backoff while the index is unavailable.
func (x *Indexer) apply(ctx context.Context, m bus.Message, channelID string, p search.Patch) error {
	if channelID == "" {
		channelID = string(m.Key)
	}
	pause := x.cfg.MinBackoff
	for attempt := 1; ; attempt++ {
		err := x.ix.Upsert(ctx, channelID, p)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, search.ErrInvalidDocument):
			return bus.Permanent(fmt.Errorf("indexer: %s: %w", m.Topic, err))
		case ctx.Err() != nil:
			return ctx.Err()
		}
		x.log.Warn("index write failed; retrying", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset,
			"channel_id", channelID, "attempt", attempt, "pause", pause, "error", err)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		pause = min(pause*2, x.cfg.MaxBackoff)
	}
}

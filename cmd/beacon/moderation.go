package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/store"
)

// keyRevoker ends a channel's ability to publish: a moderator's "confirm and
// end stream" revokes its stream keys, so the streamer must rotate a new key
// before going live again.
type keyRevoker struct {
	keys interface {
		RevokeStreamKeys(ctx context.Context, ch store.ChannelID) (int, error)
	}
}

// EndStream implements moderation's stream ender in the API process. The
// ingest process, which holds the connection, disconnects the publisher when
// it sees the review event on topic `flags` (see streamEnder).
func (k keyRevoker) EndStream(ctx context.Context, channelID string) error {
	n, err := strconv.ParseInt(channelID, 10, 64)
	if err != nil {
		return fmt.Errorf("beacon: channel id %q: %w", channelID, err)
	}
	if _, err := k.keys.RevokeStreamKeys(ctx, store.ChannelID(n)); err != nil {
		return fmt.Errorf("beacon: revoke stream keys of %s: %w", channelID, err)
	}
	return nil
}

// streamEnder disconnects publishers whose stream a moderator ended: it
// consumes review events on topic `flags` in the ingest process.
type streamEnder struct {
	sub    bus.Subscriber
	ingest interface {
		EndStream(ctx context.Context, channelID string) error
	}
	log *slog.Logger
	// wrap adds dead-lettering.
	wrap func(bus.Handler) bus.Handler
}

func (e streamEnder) Run(ctx context.Context) error {
	h := e.wrap(event.Handler(func(ctx context.Context, m bus.Message, fe *eventsv1.FlagEvent) error {
		r := fe.GetReviewed()
		if r == nil || r.GetDecision() != eventsv1.FlagDecision_FLAG_DECISION_CONFIRM_END_STREAM {
			return nil
		}
		ch := fe.GetChannelId()
		if ch == "" {
			ch = string(m.Key)
		}
		e.log.Info("moderator ended stream", "channel_id", ch, "flag_id", r.GetFlagId())
		return e.ingest.EndStream(ctx, ch)
	}))
	if err := e.sub.Subscribe(ctx, "ingest-moderation", event.TopicFlags, h); err != nil && ctx.Err() == nil {
		return fmt.Errorf("beacon: end-stream consumer: %w", err)
	}
	return nil
}

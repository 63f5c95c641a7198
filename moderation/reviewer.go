package moderation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/store"
)

// ErrCannotEndStream is returned for confirm_end_stream by a Reviewer that
// has no streamEnder; nothing is recorded.
var ErrCannotEndStream = errors.New("moderation: ending streams is not available")

// flagReviewer is the slice of store.Flags the Reviewer uses.
type flagReviewer interface {
	ReviewFlag(ctx context.Context, r store.FlagReview) (store.Flag, bool, error)
}

// streamEnder ends a channel's live broadcast (media/ingest, wired by cmd).
// Ending a stream that is not live must succeed.
type streamEnder interface {
	EndStream(ctx context.Context, channelID string) error
}

// ReviewerConfig configures a Reviewer.
type ReviewerConfig struct {
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

// Reviewer applies reviewers' decisions (see the package documentation).
type Reviewer struct {
	log   *slog.Logger
	st    flagReviewer
	pub   bus.Publisher
	ender streamEnder
}

// NewReviewer returns a Reviewer. ender may be nil, in which case
// confirm_end_stream fails with ErrCannotEndStream.
func NewReviewer(cfg ReviewerConfig, st flagReviewer, pub bus.Publisher, ender streamEnder) (*Reviewer, error) {
	if st == nil || pub == nil {
		return nil, errors.New("moderation: NewReviewer needs a store and a publisher")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Reviewer{log: cfg.Logger.With("component", "moderation_reviewer"), st: st, pub: pub, ender: ender}, nil
}

// DecisionEnum returns the event enum of a decision.
func DecisionEnum(d store.FlagDecision) eventsv1.FlagDecision {
	switch d {
	case store.DecisionDismiss:
		return eventsv1.FlagDecision_FLAG_DECISION_DISMISS
	case store.DecisionConfirm:
		return eventsv1.FlagDecision_FLAG_DECISION_CONFIRM
	case store.DecisionConfirmHide:
		return eventsv1.FlagDecision_FLAG_DECISION_CONFIRM_HIDE
	case store.DecisionConfirmEndStream:
		return eventsv1.FlagDecision_FLAG_DECISION_CONFIRM_END_STREAM
	}
	return eventsv1.FlagDecision_FLAG_DECISION_UNSPECIFIED
}

// ReviewedEvent returns the event that announces f's decision. Its event id
// is derived from the flag id, so a repeated announcement is recognizable.
func ReviewedEvent(f store.Flag) *eventsv1.FlagEvent {
	e := &eventsv1.FlagEvent{
		EventId:   "review:" + f.ID,
		ChannelId: strconv.FormatInt(int64(f.ChannelID), 10),
		Kind: &eventsv1.FlagEvent_Reviewed{Reviewed: &eventsv1.FlagReview{
			FlagId: f.ID, Decision: DecisionEnum(f.Decision), ReviewerId: strconv.FormatInt(int64(f.ReviewerID), 10),
		}},
	}
	if !f.ReviewedAt.IsZero() {
		e.Time = timestamppb.New(f.ReviewedAt)
	}
	return e
}

// Review records decision d on flag id by reviewer, then publishes it and,
// for confirm_end_stream, ends the channel's stream. Store errors pass
// through (store.ErrNotFound, store.ErrConflict with the flag as it stands,
// store.ErrInvalid); an error after the decision was recorded is returned
// with the flag, and retrying the same decision completes the side effects.
func (r *Reviewer) Review(ctx context.Context, id string, d store.FlagDecision, reviewer store.UserID) (store.Flag, error) {
	if _, err := store.ParseFlagDecision(string(d)); err != nil {
		return store.Flag{}, err
	}
	if d == store.DecisionConfirmEndStream && r.ender == nil {
		return store.Flag{}, ErrCannotEndStream
	}
	f, changed, err := r.st.ReviewFlag(ctx, store.FlagReview{FlagID: id, Decision: d, ReviewerID: reviewer})
	if err != nil {
		return f, err
	}
	log := r.log.With("flag_id", f.ID, "channel_id", int64(f.ChannelID), "decision", string(f.Decision), "reviewer_id", int64(f.ReviewerID))
	if changed {
		log.Info("flag reviewed")
	} else {
		log.Info("flag review repeated; re-applying its effects")
	}
	e := ReviewedEvent(f)
	m, err := event.Encode(e.GetChannelId(), e)
	if err != nil {
		return f, fmt.Errorf("moderation: encode review: %w", err)
	}
	if err := r.pub.Publish(ctx, m); err != nil {
		return f, fmt.Errorf("moderation: publish review of %s: %w", f.ID, err)
	}
	if f.Decision == store.DecisionConfirmEndStream {
		if err := r.ender.EndStream(ctx, e.GetChannelId()); err != nil {
			return f, fmt.Errorf("moderation: end stream of channel %d: %w", f.ChannelID, err)
		}
		log.Info("stream ended by moderation")
	}
	return f, nil
}

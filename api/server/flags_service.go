package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	apiv1 "github.com/beaconlive/beacon/api/gen/beacon/api/v1"
	"github.com/beaconlive/beacon/moderation"
	"github.com/beaconlive/beacon/store"
)

// flagReader is the slice of store.Flags the flags API reads.
type flagReader interface {
	ListFlags(ctx context.Context, f store.FlagFilter) (store.FlagPage, error)
	FlagByID(ctx context.Context, id string) (store.Flag, error)
}

// flagDecider applies a decision (a *moderation.Reviewer).
type flagDecider interface {
	Review(ctx context.Context, id string, d store.FlagDecision, reviewer store.UserID) (store.Flag, error)
}

// evidenceOpener reads a frame's stored JPEG (a *moderation.Evidence).
type evidenceOpener interface {
	Open(uri string) ([]byte, error)
}

// maxFlagFilterLen bounds the string parameters of the flags API.
const maxFlagFilterLen = 256

// FlagsService implements FlagsService, the trust & safety review queue.
// Who may call it is the authentication interceptor's business (moderators
// only); the service reads the reviewer's identity through reviewerFrom.
type FlagsService struct {
	apiv1.UnimplementedFlagsServiceServer
	flags        flagReader
	decider      flagDecider
	evidence     evidenceOpener
	reviewerFrom func(ctx context.Context) (userID int64, ok bool)
	log          *slog.Logger
}

// NewFlagsService returns the flags API over flags (the store), decider (a
// moderation.Reviewer) and evidence (a moderation.Evidence; nil serves no
// JPEGs). reviewerFrom returns the authenticated user of a call; it is
// required. log defaults to a discarding logger.
func NewFlagsService(flags flagReader, decider flagDecider, evidence evidenceOpener, reviewerFrom func(ctx context.Context) (userID int64, ok bool), log *slog.Logger) (*FlagsService, error) {
	if flags == nil || decider == nil || reviewerFrom == nil {
		return nil, errors.New("server: NewFlagsService needs the flags store, a reviewer and reviewerFrom")
	}
	if log == nil {
		log = discardLogger()
	}
	return &FlagsService{flags: flags, decider: decider, evidence: evidence, reviewerFrom: reviewerFrom, log: log.With("component", "flags_api")}, nil
}

// Register adds the flags service to s.
func (f *FlagsService) Register(s *Server) {
	apiv1.RegisterFlagsServiceServer(s.GRPC(), f)
	s.RegisterGateway(apiv1.RegisterFlagsServiceHandler)
}

// flagsError maps a store or moderation error to a status.
func flagsError(err error) error {
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		return status.Errorf(codes.InvalidArgument, "invalid %s: %s", ve.Field, ve.Reason)
	case errors.Is(err, store.ErrInvalid):
		return status.Error(codes.InvalidArgument, "invalid request")
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, "flag not found")
	case errors.Is(err, moderation.ErrCannotEndStream):
		return status.Error(codes.FailedPrecondition, "this server cannot end streams; choose another decision")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "request timed out")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	}
	return status.Error(codes.Unavailable, "flags queue unavailable; try again")
}

func checkFlagParam(field, s string) error {
	if !utf8.ValidString(s) {
		return status.Errorf(codes.InvalidArgument, "%s must be valid UTF-8", field)
	}
	if len(s) > maxFlagFilterLen {
		return status.Errorf(codes.InvalidArgument, "%s is longer than %d bytes", field, maxFlagFilterLen)
	}
	return nil
}

// ListFlags implements FlagsService.
func (f *FlagsService) ListFlags(ctx context.Context, req *apiv1.ListFlagsRequest) (*apiv1.ListFlagsResponse, error) {
	for _, p := range []struct{ name, v string }{
		{"state", req.GetState()}, {"channel_id", req.GetChannelId()}, {"kind", req.GetKind()},
		{"label", req.GetLabel()}, {"sort", req.GetSort()}, {"page_token", req.GetPageToken()},
	} {
		if err := checkFlagParam(p.name, p.v); err != nil {
			return nil, err
		}
	}
	if req.GetPageSize() < 0 {
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	filter := store.FlagFilter{Label: req.GetLabel(), Cursor: req.GetPageToken(), Limit: int(req.GetPageSize())}
	var err error
	if s := req.GetState(); s != "" {
		if filter.State, err = store.ParseFlagState(s); err != nil {
			return nil, flagsError(err)
		}
	}
	if k := req.GetKind(); k != "" {
		if filter.Kind, err = store.ParseFlagKind(k); err != nil {
			return nil, flagsError(err)
		}
	}
	if c := req.GetChannelId(); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id <= 0 {
			return nil, status.Error(codes.InvalidArgument, "channel_id must be a positive integer")
		}
		filter.ChannelID = store.ChannelID(id)
	}
	if filter.Sort, err = store.ParseFlagSort(req.GetSort()); err != nil {
		return nil, flagsError(err)
	}
	page, err := f.flags.ListFlags(ctx, filter)
	if err != nil {
		return nil, flagsError(err)
	}
	out := &apiv1.ListFlagsResponse{NextPageToken: page.Next, Flags: make([]*apiv1.Flag, 0, len(page.Flags))}
	for _, fl := range page.Flags {
		out.Flags = append(out.Flags, toAPIFlag(fl))
	}
	return out, nil
}

// GetFlag implements FlagsService. A frame flag carries its JPEG in
// evidence.frame_jpeg, or evidence.frame_unavailable when it is not kept.
func (f *FlagsService) GetFlag(ctx context.Context, req *apiv1.GetFlagRequest) (*apiv1.GetFlagResponse, error) {
	if err := checkFlagParam("id", req.GetId()); err != nil {
		return nil, err
	}
	fl, err := f.flags.FlagByID(ctx, req.GetId())
	if err != nil {
		return nil, flagsError(err)
	}
	out := toAPIFlag(fl)
	if fl.Kind == store.FlagFrame {
		out.Evidence.FrameUnavailable = true
		if f.evidence != nil && fl.Evidence.URI != "" {
			b, err := f.evidence.Open(fl.Evidence.URI)
			switch {
			case err == nil:
				out.Evidence.FrameJpeg, out.Evidence.FrameUnavailable = b, false
			case errors.Is(err, moderation.ErrNoEvidence):
				f.log.Debug("flag evidence expired", "flag_id", fl.ID)
			default:
				f.log.Warn("reading flag evidence failed", "flag_id", fl.ID, "error", err)
			}
		}
	}
	return &apiv1.GetFlagResponse{Flag: out}, nil
}

// ReviewFlag implements FlagsService.
func (f *FlagsService) ReviewFlag(ctx context.Context, req *apiv1.ReviewFlagRequest) (*apiv1.ReviewFlagResponse, error) {
	uid, ok := f.reviewerFrom(ctx)
	if !ok || uid <= 0 {
		return nil, status.Error(codes.Unauthenticated, "authentication required: reviewing a flag needs a signed-in moderator")
	}
	if err := checkFlagParam("id", req.GetId()); err != nil {
		return nil, err
	}
	if err := checkFlagParam("decision", req.GetDecision()); err != nil {
		return nil, err
	}
	if req.GetDecision() == "" {
		return nil, status.Error(codes.InvalidArgument, "decision is required: dismiss, confirm, confirm_hide or confirm_end_stream")
	}
	d, err := store.ParseFlagDecision(req.GetDecision())
	if err != nil {
		return nil, flagsError(err)
	}
	if err := store.ValidateFlagID("id", req.GetId()); err != nil {
		return nil, flagsError(err)
	}
	fl, err := f.decider.Review(ctx, req.GetId(), d, store.UserID(uid))
	switch {
	case err == nil:
		return &apiv1.ReviewFlagResponse{Flag: toAPIFlag(fl)}, nil
	case errors.Is(err, store.ErrConflict):
		return nil, status.Errorf(codes.Aborted, "flag already reviewed: %s by user %d; a decision cannot be changed", fl.Decision, fl.ReviewerID)
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrNotFound), errors.Is(err, moderation.ErrCannotEndStream),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil, flagsError(err)
	case fl.ID != "":
		// Recorded, but publishing it or ending the stream failed.
		f.log.Error("flag decision recorded but not fully applied", "flag_id", fl.ID, "decision", string(d), "error", err)
		return nil, status.Error(codes.Unavailable, fmt.Sprintf("decision %s recorded, but applying it failed; send the same decision again to finish", d))
	}
	f.log.Error("reviewing flag failed", "flag_id", req.GetId(), "error", err)
	return nil, flagsError(err)
}

func toAPIFlag(f store.Flag) *apiv1.Flag {
	out := &apiv1.Flag{
		Id: f.ID, ChannelId: strconv.FormatInt(int64(f.ChannelID), 10), Kind: string(f.Kind), SubjectId: f.SubjectID,
		Label: f.Label, Model: f.Model, Score: f.Score, Threshold: f.Threshold, State: string(f.State), Decision: string(f.Decision),
		Evidence: &apiv1.FlagEvidence{Scores: f.Evidence.Scores, Text: f.Evidence.Text, TextTruncated: f.Evidence.Truncated},
	}
	if !f.CreatedAt.IsZero() {
		out.CreatedAt = timestamppb.New(f.CreatedAt)
	}
	if f.ReviewerID != 0 {
		out.ReviewerId = strconv.FormatInt(int64(f.ReviewerID), 10)
	}
	if !f.ReviewedAt.IsZero() {
		out.ReviewedAt = timestamppb.New(f.ReviewedAt)
	}
	return out
}

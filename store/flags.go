package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Flags is the trust & safety review queue: flags raised by the safety
// models and the decisions reviewers take on them.
type Flags interface {
	// InsertFlag validates f and stores it as an open flag. It is idempotent
	// by flag id: inserting an id that is already stored changes nothing and
	// returns the stored flag with created false.
	InsertFlag(ctx context.Context, f NewFlag) (flag Flag, created bool, err error)
	// FlagByID returns a flag or ErrNotFound.
	FlagByID(ctx context.Context, id string) (Flag, error)
	// ListFlags lists flags in the order and from the position f asks for.
	ListFlags(ctx context.Context, f FlagFilter) (FlagPage, error)
	// ReviewFlag records a decision on a flag and appends an AuditModeration
	// event to the audit log, in one transaction. Reviewing a reviewed flag
	// again with the same decision changes nothing and returns it with
	// changed false; with another decision it fails with ErrConflict (and
	// returns the flag as it stands), on an unknown id with ErrNotFound.
	ReviewFlag(ctx context.Context, r FlagReview) (flag Flag, changed bool, err error)
}

// FlagKind is what a flag is about.
type FlagKind string

// The flag kinds.
const (
	FlagFrame   FlagKind = "frame"
	FlagMessage FlagKind = "message"
)

// ParseFlagKind returns the kind named s, or a *ValidationError.
func ParseFlagKind(s string) (FlagKind, error) {
	switch FlagKind(s) {
	case FlagFrame, FlagMessage:
		return FlagKind(s), nil
	}
	return "", invalid("kind", "unknown flag kind %q (want frame or message)", truncateForError(s))
}

// FlagState is where a flag is in the review queue.
type FlagState string

// The flag states.
const (
	FlagOpen      FlagState = "open"
	FlagDismissed FlagState = "dismissed"
	FlagConfirmed FlagState = "confirmed"
)

// ParseFlagState returns the state named s, or a *ValidationError.
func ParseFlagState(s string) (FlagState, error) {
	switch FlagState(s) {
	case FlagOpen, FlagDismissed, FlagConfirmed:
		return FlagState(s), nil
	}
	return "", invalid("state", "unknown flag state %q (want open, dismissed or confirmed)", truncateForError(s))
}

// FlagDecision is a reviewer's decision.
type FlagDecision string

// The decisions. Every decision but DecisionDismiss confirms the flag.
const (
	DecisionDismiss          FlagDecision = "dismiss"
	DecisionConfirm          FlagDecision = "confirm"
	DecisionConfirmHide      FlagDecision = "confirm_hide"
	DecisionConfirmEndStream FlagDecision = "confirm_end_stream"
)

// ParseFlagDecision returns the decision named s, or a *ValidationError.
func ParseFlagDecision(s string) (FlagDecision, error) {
	switch FlagDecision(s) {
	case DecisionDismiss, DecisionConfirm, DecisionConfirmHide, DecisionConfirmEndStream:
		return FlagDecision(s), nil
	}
	return "", invalid("decision", "unknown decision %q (want dismiss, confirm, confirm_hide or confirm_end_stream)", truncateForError(s))
}

// State returns the state a flag reaches with decision d.
func (d FlagDecision) State() FlagState {
	if d == DecisionDismiss {
		return FlagDismissed
	}
	return FlagConfirmed
}

// Limits of flag fields.
const (
	MaxFlagIDLen    = 128 // bytes of [A-Za-z0-9_.:-]
	MaxFlagLabelLen = 64  // bytes of [A-Za-z0-9_.-]
	MaxFlagModelLen = 128 // characters
	MaxFlagURILen   = 1024
	// MaxFlagTextLen is the most characters of evidence text kept. Longer
	// text is truncated to it (Evidence.Truncated tells), not rejected: a
	// flag on an enormous message still needs review.
	MaxFlagTextLen = 4096
	MaxFlagScores  = 64
)

// FlagEvidence is what a reviewer looks at.
type FlagEvidence struct {
	// URI references stored evidence, such as a frame's JPEG.
	URI string
	// Text is a flagged message's text: invalid UTF-8 and control
	// characters other than tab and newline are replaced by U+FFFD, and it
	// is cut to MaxFlagTextLen characters.
	Text string
	// Truncated tells that Text was cut.
	Truncated bool
	// Scores holds every label's score from the model.
	Scores map[string]float32
}

// NewFlag is the input of Flags.InsertFlag.
type NewFlag struct {
	// ID identifies the flag (the model's flag id); 1–128 bytes of
	// letters, digits, '_', '.', ':' and '-'.
	ID        string
	ChannelID ChannelID
	Kind      FlagKind
	// SubjectID is the frame or message id (optional, at most MaxFlagIDLen).
	SubjectID string
	// Label is the model label that crossed its threshold.
	Label string
	// Model names the model and its version.
	Model string
	// Score and Threshold are in [0, 1].
	Score     float32
	Threshold float32
	Evidence  FlagEvidence
	// CreatedAt defaults to the store's clock.
	CreatedAt time.Time
}

// Flag is a stored flag.
type Flag struct {
	ID         string
	ChannelID  ChannelID
	Kind       FlagKind
	SubjectID  string
	Label      string
	Model      string
	Score      float32
	Threshold  float32
	Evidence   FlagEvidence
	CreatedAt  time.Time
	State      FlagState
	Decision   FlagDecision // empty while open
	ReviewerID UserID       // 0 while open
	ReviewedAt time.Time    // zero while open
	// Seq is the store's insertion order, the last key of the listing orders.
	Seq int64
}

// FlagSort orders a flag listing.
type FlagSort int

const (
	// FlagSortScore lists the highest score first, then the oldest. It is
	// the default.
	FlagSortScore FlagSort = iota
	// FlagSortAge lists the oldest first.
	FlagSortAge
)

// ParseFlagSort returns the sort named s ("", "score" or "age").
func ParseFlagSort(s string) (FlagSort, error) {
	switch s {
	case "", "score":
		return FlagSortScore, nil
	case "age":
		return FlagSortAge, nil
	}
	return 0, invalid("sort", "unknown sort %q (want score or age)", truncateForError(s))
}

// FlagFilter selects flags. Zero fields do not filter.
type FlagFilter struct {
	State     FlagState
	ChannelID ChannelID
	Kind      FlagKind
	Label     string
	Sort      FlagSort
	// Cursor continues a listing: FlagPage.Next of the previous page, with
	// the same Sort. It is opaque to callers.
	Cursor string
	// Limit defaults to 50 and is capped at 500.
	Limit int
}

// FlagPage is one page of a listing.
type FlagPage struct {
	Flags []Flag
	// Next is the cursor of the next page; empty on the last page.
	Next string
}

// FlagReview is the input of Flags.ReviewFlag.
type FlagReview struct {
	FlagID     string
	Decision   FlagDecision
	ReviewerID UserID
	// At defaults to the store's clock.
	At time.Time
}

// FlagCursor is a position in a flag listing (keyset pagination): the
// listing continues after the flag with these keys.
type FlagCursor struct {
	Sort      FlagSort
	Score     float64
	CreatedAt time.Time
	Seq       int64
}

// flagCursorVersion prefixes encoded cursors.
const flagCursorVersion = "f1"

// Encode returns the opaque form of c.
func (c FlagCursor) Encode() string {
	s := fmt.Sprintf("%s.%d.%x.%d.%d", flagCursorVersion, c.Sort, math.Float64bits(c.Score), c.CreatedAt.UnixMicro(), c.Seq)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseFlagCursor decodes a cursor made by Encode; anything else is a
// *ValidationError. A well-formed cursor only names a position, so a forged
// one can do no more than start a listing elsewhere.
func ParseFlagCursor(s string) (FlagCursor, error) {
	bad := invalid("page_token", "is not a page token of this listing")
	if len(s) > 128 {
		return FlagCursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return FlagCursor{}, bad
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 5 || parts[0] != flagCursorVersion {
		return FlagCursor{}, bad
	}
	sort, err1 := strconv.Atoi(parts[1])
	bits, err2 := strconv.ParseUint(parts[2], 16, 64)
	micros, err3 := strconv.ParseInt(parts[3], 10, 64)
	seq, err4 := strconv.ParseInt(parts[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return FlagCursor{}, bad
	}
	score := math.Float64frombits(bits)
	if sort != int(FlagSortScore) && sort != int(FlagSortAge) || math.IsNaN(score) || math.IsInf(score, 0) || seq < 0 {
		return FlagCursor{}, bad
	}
	return FlagCursor{Sort: FlagSort(sort), Score: score, CreatedAt: time.UnixMicro(micros).UTC(), Seq: seq}, nil
}

// CursorOf returns the cursor positioned after f in a listing sorted by s.
func CursorOf(f Flag, s FlagSort) FlagCursor {
	return FlagCursor{Sort: s, Score: float64(f.Score), CreatedAt: f.CreatedAt, Seq: f.Seq}
}

// EffectiveLimit returns the effective limit of f: 50 by default, at most 500.
func (f FlagFilter) EffectiveLimit() int {
	switch {
	case f.Limit <= 0:
		return 50
	case f.Limit > 500:
		return 500
	}
	return f.Limit
}

// ValidateFlagID checks a flag id.
func ValidateFlagID(field, s string) error {
	if s == "" || len(s) > MaxFlagIDLen {
		return invalid(field, "must be 1 to %d characters", MaxFlagIDLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			if c >= utf8.RuneSelf {
				return invalid(field, "may contain only letters a-z, A-Z, digits, '_', '.', ':' and '-'")
			}
			return invalid(field, "may contain only letters a-z, A-Z, digits, '_', '.', ':' and '-'; %s is not allowed", describeRune(rune(c)))
		}
	}
	return nil
}

// ValidateFlagLabel checks a model label: 1–64 bytes of letters, digits,
// '_', '.' and '-'.
func ValidateFlagLabel(field, s string) error {
	if s == "" || len(s) > MaxFlagLabelLen {
		return invalid(field, "must be 1 to %d characters", MaxFlagLabelLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return invalid(field, "may contain only letters a-z, A-Z, digits, '_', '.' and '-'")
		}
	}
	return nil
}

func validScore(field string, v float32) error {
	if math.IsNaN(float64(v)) || v < 0 || v > 1 {
		return invalid(field, "must be a number from 0 to 1")
	}
	return nil
}

// SanitizeFlagText applies the evidence text rule (see FlagEvidence.Text)
// and reports whether the text was cut.
func SanitizeFlagText(s string) (string, bool) {
	// Look at no more than the bytes the longest kept text can take.
	cut := false
	if len(s) > 4*MaxFlagTextLen {
		s, cut = s[:4*MaxFlagTextLen], true
	}
	var b strings.Builder
	b.Grow(len(s))
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if n == MaxFlagTextLen {
			cut = true
			break
		}
		if r == utf8.RuneError || (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		n++
	}
	return b.String(), cut
}

// ValidateNewFlag validates and normalizes f in place.
func ValidateNewFlag(f *NewFlag) error {
	if err := ValidateFlagID("flag_id", f.ID); err != nil {
		return err
	}
	if f.ChannelID <= 0 {
		return invalid("channel_id", "is required")
	}
	if _, err := ParseFlagKind(string(f.Kind)); err != nil {
		return err
	}
	if f.SubjectID != "" {
		if err := ValidateFlagID("subject_id", f.SubjectID); err != nil {
			return err
		}
	}
	if err := ValidateFlagLabel("label", f.Label); err != nil {
		return err
	}
	var err error
	if f.Model, err = ValidateText("model", f.Model, MaxFlagModelLen, false); err != nil {
		return err
	}
	if err := validScore("score", f.Score); err != nil {
		return err
	}
	if err := validScore("threshold", f.Threshold); err != nil {
		return err
	}
	if len(f.Evidence.URI) > MaxFlagURILen {
		return invalid("evidence_uri", "is longer than %d bytes", MaxFlagURILen)
	}
	if f.Evidence.URI, err = ValidateText("evidence_uri", f.Evidence.URI, MaxFlagURILen, false); err != nil {
		return err
	}
	var cut bool
	f.Evidence.Text, cut = SanitizeFlagText(f.Evidence.Text)
	f.Evidence.Truncated = f.Evidence.Truncated || cut
	if len(f.Evidence.Scores) > MaxFlagScores {
		return invalid("evidence_scores", "at most %d scores, got %d", MaxFlagScores, len(f.Evidence.Scores))
	}
	for k, v := range f.Evidence.Scores {
		if err := ValidateFlagLabel("evidence_scores", k); err != nil {
			return err
		}
		if err := validScore("evidence_scores", v); err != nil {
			return err
		}
	}
	return nil
}

// ValidateFlagFilter validates f.
func ValidateFlagFilter(f *FlagFilter) error {
	if f.State != "" {
		if _, err := ParseFlagState(string(f.State)); err != nil {
			return err
		}
	}
	if f.Kind != "" {
		if _, err := ParseFlagKind(string(f.Kind)); err != nil {
			return err
		}
	}
	if f.Label != "" {
		if err := ValidateFlagLabel("label", f.Label); err != nil {
			return err
		}
	}
	if f.ChannelID < 0 {
		return invalid("channel_id", "must not be negative")
	}
	if f.Sort != FlagSortScore && f.Sort != FlagSortAge {
		return invalid("sort", "unknown sort")
	}
	if f.Cursor != "" {
		c, err := ParseFlagCursor(f.Cursor)
		if err != nil {
			return err
		}
		if c.Sort != f.Sort {
			return invalid("page_token", "belongs to a listing with another sort order")
		}
	}
	return nil
}

// ValidateFlagReview validates r.
func ValidateFlagReview(r *FlagReview) error {
	if err := ValidateFlagID("flag_id", r.FlagID); err != nil {
		return err
	}
	if _, err := ParseFlagDecision(string(r.Decision)); err != nil {
		return err
	}
	if r.ReviewerID <= 0 {
		return invalid("reviewer_id", "is required")
	}
	return nil
}

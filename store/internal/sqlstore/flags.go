package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/beaconlive/beacon/store"
)

var _ store.Flags = (*DB)(nil)

const flagCols = `seq, flag_id, channel_id, kind, subject_id, label, model, score, threshold,
	evidence_uri, evidence_text, evidence_truncated, scores, created_at, state, decision, reviewer_id, reviewed_at`

func scanFlag(row interface{ Scan(...any) error }) (store.Flag, error) {
	var f store.Flag
	var kind, state, decision string
	var score, threshold float64
	var scores []byte
	err := row.Scan(&f.Seq, &f.ID, &f.ChannelID, &kind, &f.SubjectID, &f.Label, &f.Model, &score, &threshold,
		&f.Evidence.URI, &f.Evidence.Text, &f.Evidence.Truncated, &scores, tm{&f.CreatedAt}, &state, &decision, &f.ReviewerID, tm{&f.ReviewedAt})
	if err != nil {
		return store.Flag{}, err
	}
	f.Kind, f.State, f.Decision = store.FlagKind(kind), store.FlagState(state), store.FlagDecision(decision)
	f.Score, f.Threshold = float32(score), float32(threshold)
	f.Evidence.Scores = map[string]float32{}
	if err := json.Unmarshal(scores, &f.Evidence.Scores); err != nil {
		return store.Flag{}, fmt.Errorf("store: bad scores column: %w", err)
	}
	return f, nil
}

// InsertFlag implements store.Flags.
func (s *DB) InsertFlag(ctx context.Context, nf store.NewFlag) (store.Flag, bool, error) {
	if err := s.check(); err != nil {
		return store.Flag{}, false, err
	}
	if err := store.ValidateNewFlag(&nf); err != nil {
		return store.Flag{}, false, err
	}
	if nf.CreatedAt.IsZero() {
		nf.CreatedAt = s.clock()
	}
	scores := nf.Evidence.Scores
	if scores == nil {
		scores = map[string]float32{}
	}
	sj, err := json.Marshal(scores)
	if err != nil { // cannot happen: scores are validated finite
		return store.Flag{}, false, fmt.Errorf("store: insert flag: %w", err)
	}
	r, err := s.db.ExecContext(ctx, `INSERT INTO flags (flag_id, channel_id, kind, subject_id, label, model, score, threshold,
		evidence_uri, evidence_text, evidence_truncated, scores, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (flag_id) DO NOTHING`,
		nf.ID, nf.ChannelID, string(nf.Kind), nf.SubjectID, nf.Label, nf.Model, float64(nf.Score), float64(nf.Threshold),
		nf.Evidence.URI, nf.Evidence.Text, nf.Evidence.Truncated, string(sj), s.t(nf.CreatedAt))
	if err != nil {
		return store.Flag{}, false, s.wrap("insert flag", err)
	}
	f, err := s.FlagByID(ctx, nf.ID)
	return f, affected(r) == 1, err
}

// FlagByID implements store.Flags.
func (s *DB) FlagByID(ctx context.Context, id string) (store.Flag, error) {
	if err := s.check(); err != nil {
		return store.Flag{}, err
	}
	if err := store.ValidateFlagID("flag_id", id); err != nil {
		return store.Flag{}, err
	}
	f, err := scanFlag(s.db.QueryRowContext(ctx, `SELECT `+flagCols+` FROM flags WHERE flag_id = $1`, id))
	return f, s.wrap("flag by id", err)
}

// ListFlags implements store.Flags.
func (s *DB) ListFlags(ctx context.Context, f store.FlagFilter) (store.FlagPage, error) {
	if err := s.check(); err != nil {
		return store.FlagPage{}, err
	}
	if err := store.ValidateFlagFilter(&f); err != nil {
		return store.FlagPage{}, err
	}
	q := `SELECT ` + flagCols + ` FROM flags WHERE 1 = 1`
	var args []any
	arg := func(v any) int {
		args = append(args, v)
		return len(args)
	}
	if f.State != "" {
		q += fmt.Sprintf(` AND state = $%d`, arg(string(f.State)))
	}
	if f.ChannelID != 0 {
		q += fmt.Sprintf(` AND channel_id = $%d`, arg(f.ChannelID))
	}
	if f.Kind != "" {
		q += fmt.Sprintf(` AND kind = $%d`, arg(string(f.Kind)))
	}
	if f.Label != "" {
		q += fmt.Sprintf(` AND label = $%d`, arg(f.Label))
	}
	if f.Cursor != "" {
		c, err := store.ParseFlagCursor(f.Cursor)
		if err != nil {
			return store.FlagPage{}, err
		}
		ct, seq := arg(s.t(c.CreatedAt)), arg(c.Seq)
		after := fmt.Sprintf(`(created_at > $%d OR (created_at = $%d AND seq > $%d))`, ct, ct, seq)
		if f.Sort == store.FlagSortScore {
			sc := arg(c.Score)
			q += fmt.Sprintf(` AND (score < $%d OR (score = $%d AND %s))`, sc, sc, after)
		} else {
			q += ` AND ` + after
		}
	}
	if f.Sort == store.FlagSortScore {
		q += ` ORDER BY score DESC, created_at, seq`
	} else {
		q += ` ORDER BY created_at, seq`
	}
	limit := f.EffectiveLimit()
	q += fmt.Sprintf(` LIMIT $%d`, arg(limit+1))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return store.FlagPage{}, s.wrap("list flags", err)
	}
	defer rows.Close()
	var page store.FlagPage
	for rows.Next() {
		fl, err := scanFlag(rows)
		if err != nil {
			return store.FlagPage{}, s.wrap("list flags", err)
		}
		page.Flags = append(page.Flags, fl)
	}
	if err := rows.Err(); err != nil {
		return store.FlagPage{}, s.wrap("list flags", err)
	}
	if len(page.Flags) > limit {
		page.Flags = page.Flags[:limit]
		page.Next = store.CursorOf(page.Flags[limit-1], f.Sort).Encode()
	}
	return page, nil
}

// ReviewFlag implements store.Flags.
func (s *DB) ReviewFlag(ctx context.Context, r store.FlagReview) (store.Flag, bool, error) {
	if err := s.check(); err != nil {
		return store.Flag{}, false, err
	}
	if err := store.ValidateFlagReview(&r); err != nil {
		return store.Flag{}, false, err
	}
	if r.At.IsZero() {
		r.At = s.clock()
	}
	r.At = r.At.UTC().Truncate(time.Microsecond)
	var out store.Flag
	changed := false
	err := s.tx(ctx, "review flag", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE flags SET state = $2, decision = $3, reviewer_id = $4, reviewed_at = $5
			WHERE flag_id = $1 AND decision = ''`,
			r.FlagID, string(r.Decision.State()), string(r.Decision), r.ReviewerID, s.t(r.At))
		if err != nil {
			return s.wrap("review flag", err)
		}
		out, err = scanFlag(tx.QueryRowContext(ctx, `SELECT `+flagCols+` FROM flags WHERE flag_id = $1`, r.FlagID))
		if err != nil {
			return s.wrap("review flag", err)
		}
		if affected(res) == 0 {
			if out.Decision != r.Decision {
				return fmt.Errorf("store: review flag %s: already reviewed (%s): %w", r.FlagID, out.Decision, store.ErrConflict)
			}
			return nil
		}
		changed = true
		e := store.AuditEvent{
			Time: r.At, Kind: store.AuditModeration, Outcome: store.OutcomeSuccess,
			ActorID: r.ReviewerID, ChannelID: out.ChannelID,
			Detail: fmt.Sprintf("flag %s: %s (%s %s, score %.3f, model %s)", out.ID, r.Decision, out.Kind, out.Label, out.Score, out.Model),
		}
		if err := store.ValidateAuditEvent(&e); err != nil {
			return fmt.Errorf("store: review flag: audit: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (at, kind, outcome, actor_id, subject_id, login, channel_id, client_id, ip, detail)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			s.t(e.Time), string(e.Kind), e.Outcome, e.ActorID, e.SubjectID, e.Login, e.ChannelID, e.ClientID, e.IP, e.Detail)
		return s.wrap("review flag: audit", err)
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return out, false, err
		}
		return store.Flag{}, false, err
	}
	return out, changed, nil
}

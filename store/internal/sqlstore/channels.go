package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/beaconlive/beacon/store"
)

// UpsertCategories implements store.Categories.
func (s *DB) UpsertCategories(ctx context.Context, cs []store.Category) error {
	if err := s.check(); err != nil {
		return err
	}
	for _, c := range cs {
		if c.ID <= 0 {
			return &store.ValidationError{Field: "category_id", Reason: "must be positive"}
		}
		for f, v := range map[string]string{"slug": c.Slug, "name": c.Name, "kind": c.Kind} {
			if _, err := store.ValidateText(f, v, 100, false); err != nil {
				return err
			}
		}
	}
	return s.tx(ctx, "upsert categories", func(tx *sql.Tx) error {
		for _, c := range cs {
			_, err := tx.ExecContext(ctx, `INSERT INTO categories (id, slug, name, kind) VALUES ($1, $2, $3, $4)
				ON CONFLICT (id) DO UPDATE SET slug = excluded.slug, name = excluded.name, kind = excluded.kind`,
				c.ID, c.Slug, c.Name, c.Kind)
			if err != nil {
				return s.wrap("upsert categories", err)
			}
		}
		return nil
	})
}

// Categories implements store.Categories.
func (s *DB) Categories(ctx context.Context) ([]store.Category, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, slug, name, kind FROM categories ORDER BY id`)
	if err != nil {
		return nil, s.wrap("categories", err)
	}
	defer rows.Close()
	var out []store.Category
	for rows.Next() {
		var c store.Category
		if err := rows.Scan(&c.ID, &c.Slug, &c.Name, &c.Kind); err != nil {
			return nil, s.wrap("categories", err)
		}
		out = append(out, c)
	}
	return out, s.wrap("categories", rows.Err())
}

// CategoryByID implements store.Categories.
func (s *DB) CategoryByID(ctx context.Context, id store.CategoryID) (store.Category, error) {
	if err := s.check(); err != nil {
		return store.Category{}, err
	}
	c := store.Category{}
	err := s.db.QueryRowContext(ctx, `SELECT id, slug, name, kind FROM categories WHERE id = $1`, id).Scan(&c.ID, &c.Slug, &c.Name, &c.Kind)
	return c, s.wrap("category by id", err)
}

const channelCols = `c.id, c.owner_id, u.login, c.title, COALESCE(c.category_id, 0), c.language, c.tags, c.mature, c.created_at, c.updated_at`
const channelFrom = ` FROM channels c JOIN users u ON u.id = c.owner_id `

func scanChannel(row interface{ Scan(...any) error }) (store.Channel, error) {
	var c store.Channel
	err := row.Scan(&c.ID, &c.OwnerID, &c.Name, &c.Title, &c.CategoryID, &c.Language, list{&c.Tags}, &c.Mature, tm{&c.CreatedAt}, tm{&c.UpdatedAt})
	return c, err
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CreateChannel implements store.Channels.
func (s *DB) CreateChannel(ctx context.Context, nc store.NewChannel) (store.Channel, error) {
	if err := s.check(); err != nil {
		return store.Channel{}, err
	}
	if err := store.ValidateNewChannel(&nc); err != nil {
		return store.Channel{}, err
	}
	now := s.clock()
	var id store.ChannelID
	err := s.db.QueryRowContext(ctx, `INSERT INTO channels (owner_id, title, category_id, language, tags, mature, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`,
		nc.OwnerID, nc.Title, nullID(int64(nc.CategoryID)), nc.Language, enc(nc.Tags), nc.Mature, s.t(now)).Scan(&id)
	if err != nil {
		return store.Channel{}, s.wrap("create channel", err)
	}
	return s.ChannelByID(ctx, id)
}

func (s *DB) channelWhere(ctx context.Context, op, where string, arg any) (store.Channel, error) {
	if err := s.check(); err != nil {
		return store.Channel{}, err
	}
	c, err := scanChannel(s.db.QueryRowContext(ctx, `SELECT `+channelCols+channelFrom+`WHERE `+where, arg))
	return c, s.wrap(op, err)
}

// ChannelByID implements store.Channels.
func (s *DB) ChannelByID(ctx context.Context, id store.ChannelID) (store.Channel, error) {
	return s.channelWhere(ctx, "channel by id", `c.id = $1`, id)
}

// ChannelByOwner implements store.Channels.
func (s *DB) ChannelByOwner(ctx context.Context, owner store.UserID) (store.Channel, error) {
	return s.channelWhere(ctx, "channel by owner", `c.owner_id = $1`, owner)
}

// ChannelByName implements store.Channels.
func (s *DB) ChannelByName(ctx context.Context, name string) (store.Channel, error) {
	n, err := store.NormalizeLogin(name)
	if err != nil {
		return store.Channel{}, err
	}
	return s.channelWhere(ctx, "channel by name", `u.login = $1`, n)
}

// UpdateChannel implements store.Channels.
func (s *DB) UpdateChannel(ctx context.Context, id store.ChannelID, up store.ChannelUpdate) (store.Channel, error) {
	if err := s.check(); err != nil {
		return store.Channel{}, err
	}
	if err := store.ValidateChannelUpdate(&up); err != nil {
		return store.Channel{}, err
	}
	set := func(tx *sql.Tx, col string, v any) error {
		return s.exec1(ctx, tx, "update channel", fmt.Sprintf(`UPDATE channels SET %s = $2, updated_at = $3 WHERE id = $1`, col), id, v, s.t(s.clock()))
	}
	err := s.tx(ctx, "update channel", func(tx *sql.Tx) error {
		if up.Title != nil {
			if err := set(tx, "title", *up.Title); err != nil {
				return err
			}
		}
		if up.CategoryID != nil {
			if err := set(tx, "category_id", nullID(int64(*up.CategoryID))); err != nil {
				return err
			}
		}
		if up.Language != nil {
			if err := set(tx, "language", *up.Language); err != nil {
				return err
			}
		}
		if up.Tags != nil {
			if err := set(tx, "tags", enc(*up.Tags)); err != nil {
				return err
			}
		}
		if up.Mature != nil {
			if err := set(tx, "mature", *up.Mature); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.Channel{}, err
	}
	return s.ChannelByID(ctx, id)
}

// ListChannels implements store.Channels.
func (s *DB) ListChannels(ctx context.Context, p store.Page) ([]store.Channel, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+channelCols+channelFrom+`WHERE c.id > $1 ORDER BY c.id LIMIT $2`, p.AfterID, p.EffectiveLimit())
	if err != nil {
		return nil, s.wrap("list channels", err)
	}
	defer rows.Close()
	var out []store.Channel
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, s.wrap("list channels", err)
		}
		out = append(out, c)
	}
	return out, s.wrap("list channels", rows.Err())
}

// RotateStreamKey implements store.StreamKeys.
func (s *DB) RotateStreamKey(ctx context.Context, ch store.ChannelID, hash []byte) (store.StreamKey, error) {
	if err := s.check(); err != nil {
		return store.StreamKey{}, err
	}
	if err := store.ValidateHash("stream_key_hash", hash); err != nil {
		return store.StreamKey{}, err
	}
	now := s.clock()
	err := s.tx(ctx, "rotate stream key", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE stream_keys SET revoked_at = $2 WHERE channel_id = $1 AND revoked_at IS NULL`, ch, s.t(now)); err != nil {
			return s.wrap("rotate stream key", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO stream_keys (channel_id, hash, created_at) VALUES ($1, $2, $3)`, ch, hash, s.t(now))
		return s.wrap("rotate stream key", err)
	})
	if err != nil {
		return store.StreamKey{}, err
	}
	return s.StreamKeyByHash(ctx, hash)
}

// RevokeStreamKeys implements store.StreamKeys.
func (s *DB) RevokeStreamKeys(ctx context.Context, ch store.ChannelID) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	r, err := s.db.ExecContext(ctx, `UPDATE stream_keys SET revoked_at = $2 WHERE channel_id = $1 AND revoked_at IS NULL`, ch, s.t(s.clock()))
	if err != nil {
		return 0, s.wrap("revoke stream keys", err)
	}
	return affected(r), nil
}

// StreamKeyByHash implements store.StreamKeys: one lookup on the unique
// index of the digest.
func (s *DB) StreamKeyByHash(ctx context.Context, hash []byte) (store.StreamKey, error) {
	if err := s.check(); err != nil {
		return store.StreamKey{}, err
	}
	if err := store.ValidateHash("stream_key_hash", hash); err != nil {
		return store.StreamKey{}, err
	}
	var k store.StreamKey
	err := s.queryRow(ctx, s.keyStmt, keyQuery, hash).
		Scan(&k.ID, &k.ChannelID, &k.Hash, tm{&k.CreatedAt}, tm{&k.RevokedAt}, &k.OwnerID, &k.OwnerDisabled)
	return k, s.wrap("stream key by hash", err)
}

// Follow implements store.Follows.
func (s *DB) Follow(ctx context.Context, u store.UserID, ch store.ChannelID) error {
	if err := s.check(); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO follows (user_id, channel_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (user_id, channel_id) DO NOTHING`, u, ch, s.t(s.clock()))
	return s.wrap("follow", err)
}

// Unfollow implements store.Follows.
func (s *DB) Unfollow(ctx context.Context, u store.UserID, ch store.ChannelID) error {
	if err := s.check(); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM follows WHERE user_id = $1 AND channel_id = $2`, u, ch)
	return s.wrap("unfollow", err)
}

func (s *DB) follows(ctx context.Context, op, q string, args ...any) ([]store.Follow, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []store.Follow
	for rows.Next() {
		var f store.Follow
		if err := rows.Scan(&f.UserID, &f.ChannelID, tm{&f.CreatedAt}); err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, f)
	}
	return out, s.wrap(op, rows.Err())
}

// FollowsOf implements store.Follows.
func (s *DB) FollowsOf(ctx context.Context, u store.UserID, p store.Page) ([]store.Follow, error) {
	return s.follows(ctx, "follows of", `SELECT user_id, channel_id, created_at FROM follows WHERE user_id = $1 AND channel_id > $2 ORDER BY channel_id LIMIT $3`, u, p.AfterID, p.EffectiveLimit())
}

// FollowersOf implements store.Follows.
func (s *DB) FollowersOf(ctx context.Context, ch store.ChannelID, p store.Page) ([]store.Follow, error) {
	return s.follows(ctx, "followers of", `SELECT user_id, channel_id, created_at FROM follows WHERE channel_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`, ch, p.AfterID, p.EffectiveLimit())
}

// FollowerCount implements store.Follows.
func (s *DB) FollowerCount(ctx context.Context, ch store.ChannelID) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM follows WHERE channel_id = $1`, ch).Scan(&n)
	return n, s.wrap("follower count", err)
}

// StartWatch implements store.WatchSessions.
func (s *DB) StartWatch(ctx context.Context, u store.UserID, ch store.ChannelID, start time.Time) (store.WatchSession, error) {
	if err := s.check(); err != nil {
		return store.WatchSession{}, err
	}
	if start.IsZero() {
		start = s.clock()
	}
	w := store.WatchSession{UserID: u, ChannelID: ch, Start: start.UTC().Truncate(time.Microsecond)}
	err := s.db.QueryRowContext(ctx, `INSERT INTO watch_sessions (user_id, channel_id, start_at) VALUES ($1, $2, $3) RETURNING id`, u, ch, s.t(w.Start)).Scan(&w.ID)
	return w, s.wrap("start watch", err)
}

// StopWatch implements store.WatchSessions.
func (s *DB) StopWatch(ctx context.Context, id int64, stop time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	if stop.IsZero() {
		stop = s.clock()
	}
	var start, stopped time.Time
	if err := s.db.QueryRowContext(ctx, `SELECT start_at, stop_at FROM watch_sessions WHERE id = $1`, id).Scan(tm{&start}, tm{&stopped}); err != nil {
		return s.wrap("stop watch", err)
	}
	if !stopped.IsZero() {
		return fmt.Errorf("store: stop watch: session %d already stopped: %w", id, store.ErrConflict)
	}
	if stop.Before(start) {
		return &store.ValidationError{Field: "stop", Reason: "is before the session's start"}
	}
	r, err := s.db.ExecContext(ctx, `UPDATE watch_sessions SET stop_at = $2 WHERE id = $1 AND stop_at IS NULL`, id, s.t(stop))
	if err != nil {
		return s.wrap("stop watch", err)
	}
	if affected(r) == 0 {
		return fmt.Errorf("store: stop watch: session %d already stopped: %w", id, store.ErrConflict)
	}
	return nil
}

// WatchSessions implements store.WatchSessions.
func (s *DB) WatchSessions(ctx context.Context, f store.WatchFilter) ([]store.WatchSession, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	q := `SELECT id, user_id, channel_id, start_at, stop_at FROM watch_sessions WHERE id > $1`
	args := []any{f.Page.AfterID}
	if f.UserID != 0 {
		args = append(args, f.UserID)
		q += fmt.Sprintf(` AND user_id = $%d`, len(args))
	}
	if f.ChannelID != 0 {
		args = append(args, f.ChannelID)
		q += fmt.Sprintf(` AND channel_id = $%d`, len(args))
	}
	if !f.Since.IsZero() {
		args = append(args, s.t(f.Since))
		q += fmt.Sprintf(` AND start_at >= $%d`, len(args))
	}
	args = append(args, f.Page.EffectiveLimit())
	q += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("watch sessions", err)
	}
	defer rows.Close()
	var out []store.WatchSession
	for rows.Next() {
		var w store.WatchSession
		if err := rows.Scan(&w.ID, &w.UserID, &w.ChannelID, tm{&w.Start}, tm{&w.Stop}); err != nil {
			return nil, s.wrap("watch sessions", err)
		}
		out = append(out, w)
	}
	return out, s.wrap("watch sessions", rows.Err())
}

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/beaconlive/beacon/store"
)

const clientCols = `client_id, name, secret_hash, scopes, COALESCE(owner_id, 0), created_at, revoked_at`

func scanClient(row interface{ Scan(...any) error }) (store.APIClient, error) {
	var c store.APIClient
	err := row.Scan(&c.ClientID, &c.Name, &c.SecretHash, list{&c.Scopes}, &c.OwnerID, tm{&c.CreatedAt}, tm{&c.RevokedAt})
	return c, err
}

// CreateAPIClient implements store.APIClients.
func (s *DB) CreateAPIClient(ctx context.Context, nc store.NewAPIClient) (store.APIClient, error) {
	if err := s.check(); err != nil {
		return store.APIClient{}, err
	}
	if err := store.ValidateNewAPIClient(&nc); err != nil {
		return store.APIClient{}, err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_clients (client_id, name, secret_hash, scopes, owner_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		nc.ClientID, nc.Name, nc.SecretHash, enc(nc.Scopes), nullID(int64(nc.OwnerID)), s.t(s.clock()))
	if err != nil {
		return store.APIClient{}, s.wrap("create api client", err)
	}
	return s.APIClientByID(ctx, nc.ClientID)
}

// APIClientByID implements store.APIClients.
func (s *DB) APIClientByID(ctx context.Context, clientID string) (store.APIClient, error) {
	if err := s.check(); err != nil {
		return store.APIClient{}, err
	}
	if err := store.ValidateClientID(clientID); err != nil {
		return store.APIClient{}, err
	}
	c, err := scanClient(s.db.QueryRowContext(ctx, `SELECT `+clientCols+` FROM api_clients WHERE client_id = $1`, clientID))
	return c, s.wrap("api client by id", err)
}

// RevokeAPIClient implements store.APIClients.
func (s *DB) RevokeAPIClient(ctx context.Context, clientID string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := store.ValidateClientID(clientID); err != nil {
		return err
	}
	now := s.t(s.clock())
	return s.tx(ctx, "revoke api client", func(tx *sql.Tx) error {
		if err := s.exec1(ctx, tx, "revoke api client", `UPDATE api_clients SET revoked_at = COALESCE(revoked_at, $2) WHERE client_id = $1`, clientID, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE access_tokens SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL`, clientID, now)
		return s.wrap("revoke api client", err)
	})
}

// ListAPIClients implements store.APIClients.
func (s *DB) ListAPIClients(ctx context.Context) ([]store.APIClient, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+clientCols+` FROM api_clients ORDER BY client_id`)
	if err != nil {
		return nil, s.wrap("list api clients", err)
	}
	defer rows.Close()
	var out []store.APIClient
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, s.wrap("list api clients", err)
		}
		out = append(out, c)
	}
	return out, s.wrap("list api clients", rows.Err())
}

// CreateAccessToken implements store.Tokens.
func (s *DB) CreateAccessToken(ctx context.Context, t store.AccessToken) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := store.ValidateAccessToken(&t); err != nil {
		return err
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.clock()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO access_tokens (hash, client_id, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		t.Hash, t.ClientID, enc(t.Scopes), s.t(t.CreatedAt), s.t(t.ExpiresAt))
	return s.wrap("create access token", err)
}

// AccessTokenByHash implements store.Tokens: one lookup on the primary key.
func (s *DB) AccessTokenByHash(ctx context.Context, hash []byte) (store.AccessToken, error) {
	if err := s.check(); err != nil {
		return store.AccessToken{}, err
	}
	if err := store.ValidateHash("token_hash", hash); err != nil {
		return store.AccessToken{}, err
	}
	var t store.AccessToken
	var clientRevoked time.Time
	err := s.queryRow(ctx, s.tokenStmt, tokenQuery, hash).
		Scan(&t.Hash, &t.ClientID, list{&t.Scopes}, tm{&t.CreatedAt}, tm{&t.ExpiresAt}, tm{&t.RevokedAt}, tm{&clientRevoked})
	t.ClientRevoked = !clientRevoked.IsZero()
	return t, s.wrap("access token by hash", err)
}

// RevokeAccessToken implements store.Tokens.
func (s *DB) RevokeAccessToken(ctx context.Context, hash []byte) error {
	if err := store.ValidateHash("token_hash", hash); err != nil {
		return err
	}
	return s.exec1(ctx, s.db, "revoke access token", `UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE hash = $1`, hash, s.t(s.clock()))
}

// DeleteExpiredTokens implements store.Tokens.
func (s *DB) DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	r, err := s.db.ExecContext(ctx, `DELETE FROM access_tokens WHERE expires_at < $1`, s.t(before))
	if err != nil {
		return 0, s.wrap("delete expired tokens", err)
	}
	return affected(r), nil
}

// CreateSession implements store.Sessions.
func (s *DB) CreateSession(ctx context.Context, se store.Session) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := store.ValidateSession(&se); err != nil {
		return err
	}
	if se.CreatedAt.IsZero() {
		se.CreatedAt = s.clock()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (hash, user_id, mfa_pending, created_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		se.Hash, se.UserID, se.MFAPending, s.t(se.CreatedAt), s.t(se.ExpiresAt), se.IP, se.UserAgent)
	return s.wrap("create session", err)
}

// SessionByHash implements store.Sessions.
func (s *DB) SessionByHash(ctx context.Context, hash []byte) (store.Session, error) {
	if err := s.check(); err != nil {
		return store.Session{}, err
	}
	if err := store.ValidateHash("session_hash", hash); err != nil {
		return store.Session{}, err
	}
	var se store.Session
	err := s.db.QueryRowContext(ctx, `SELECT hash, user_id, mfa_pending, created_at, expires_at, revoked_at, ip, user_agent FROM sessions WHERE hash = $1`, hash).
		Scan(&se.Hash, &se.UserID, &se.MFAPending, tm{&se.CreatedAt}, tm{&se.ExpiresAt}, tm{&se.RevokedAt}, &se.IP, &se.UserAgent)
	return se, s.wrap("session by hash", err)
}

// RevokeSession implements store.Sessions.
func (s *DB) RevokeSession(ctx context.Context, hash []byte) error {
	if err := store.ValidateHash("session_hash", hash); err != nil {
		return err
	}
	return s.exec1(ctx, s.db, "revoke session", `UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE hash = $1`, hash, s.t(s.clock()))
}

// RevokeUserSessions implements store.Sessions.
func (s *DB) RevokeUserSessions(ctx context.Context, u store.UserID) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	r, err := s.db.ExecContext(ctx, `UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`, u, s.t(s.clock()))
	if err != nil {
		return 0, s.wrap("revoke user sessions", err)
	}
	return affected(r), nil
}

// DeleteExpiredSessions implements store.Sessions.
func (s *DB) DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	r, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1`, s.t(before))
	if err != nil {
		return 0, s.wrap("delete expired sessions", err)
	}
	return affected(r), nil
}

// AppendAudit implements store.Audit.
func (s *DB) AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	if err := s.check(); err != nil {
		return store.AuditEvent{}, err
	}
	if err := store.ValidateAuditEvent(&e); err != nil {
		return store.AuditEvent{}, err
	}
	if e.Time.IsZero() {
		e.Time = s.clock()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	err := s.db.QueryRowContext(ctx, `INSERT INTO audit_log (at, kind, outcome, actor_id, subject_id, login, channel_id, client_id, ip, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		s.t(e.Time), string(e.Kind), e.Outcome, e.ActorID, e.SubjectID, e.Login, e.ChannelID, e.ClientID, e.IP, e.Detail).Scan(&e.ID)
	return e, s.wrap("append audit", err)
}

// AuditEvents implements store.Audit.
func (s *DB) AuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	q := `SELECT id, at, kind, outcome, actor_id, subject_id, login, channel_id, client_id, ip, detail FROM audit_log WHERE 1 = 1`
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(cond, len(args))
	}
	if f.Kind != "" {
		add(` AND kind = $%d`, string(f.Kind))
	}
	if f.UserID != 0 {
		args = append(args, f.UserID)
		q += fmt.Sprintf(` AND (actor_id = $%d OR subject_id = $%d)`, len(args), len(args))
	}
	if f.Login != "" {
		add(` AND login = $%d`, f.Login)
	}
	if !f.Since.IsZero() {
		add(` AND at >= $%d`, s.t(f.Since))
	}
	if f.BeforeID > 0 {
		add(` AND id < $%d`, f.BeforeID)
	}
	add(` ORDER BY id DESC LIMIT $%d`, store.Page{Limit: f.Limit}.EffectiveLimit())
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("audit events", err)
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		var e store.AuditEvent
		var kind string
		if err := rows.Scan(&e.ID, tm{&e.Time}, &kind, &e.Outcome, &e.ActorID, &e.SubjectID, &e.Login, &e.ChannelID, &e.ClientID, &e.IP, &e.Detail); err != nil {
			return nil, s.wrap("audit events", err)
		}
		e.Kind = store.AuditKind(kind)
		out = append(out, e)
	}
	return out, s.wrap("audit events", rows.Err())
}

var _ store.Store = (*DB)(nil)

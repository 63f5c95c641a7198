// Package sqlstore implements store.Store over database/sql for both
// backends: sqlitestore and pgstore differ only in how they open the
// database, apply migrations and describe their Dialect.
//
// Queries use $N placeholders, which PostgreSQL and SQLite (through
// modernc.org/sqlite) both bind by ordinal. Times are encoded by the dialect
// (SQLite: INTEGER microseconds, PostgreSQL: timestamptz) and decoded by a
// scanner that accepts either; lists are JSON text in both.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/beaconlive/beacon/store"
)

// Dialect describes what differs between the databases.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Time encodes a non-zero time as a query argument.
	Time func(time.Time) any
	// Prepare makes the store prepare its hot-path statements once through
	// database/sql (SQLite: modernc prepares every ad-hoc query). Leave it off
	// for pgx, which caches prepared statements per connection by itself.
	Prepare bool
	// Classify maps a driver error: a unique violation to store.ErrDuplicate,
	// a foreign-key violation to store.ErrNotFound; others are returned as is.
	Classify func(error) error
}

// DB implements store.Store.
type DB struct {
	db      *sql.DB
	d       Dialect
	now     func() time.Time
	closed  atomic.Bool
	onClose func() error

	// Prepared statements of the hot paths (ingest and API auth).
	keyStmt, tokenStmt *sql.Stmt
}

const (
	keyQuery = `SELECT k.id, k.channel_id, k.hash, k.created_at, k.revoked_at, c.owner_id, u.disabled
		FROM stream_keys k JOIN channels c ON c.id = k.channel_id JOIN users u ON u.id = c.owner_id WHERE k.hash = $1`
	tokenQuery = `SELECT t.hash, t.client_id, t.scopes, t.created_at, t.expires_at, t.revoked_at, c.revoked_at
		FROM access_tokens t JOIN api_clients c ON c.client_id = t.client_id WHERE t.hash = $1`
)

// New returns a store over a migrated db. now defaults to time.Now;
// onClose runs after db.Close (for example to close a pgx pool).
func New(ctx context.Context, db *sql.DB, d Dialect, now func() time.Time, onClose func() error) (*DB, error) {
	if now == nil {
		now = time.Now
	}
	s := &DB{db: db, d: d, now: now, onClose: onClose}
	if !d.Prepare {
		return s, nil
	}
	var err error
	if s.keyStmt, err = db.PrepareContext(ctx, keyQuery); err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	if s.tokenStmt, err = db.PrepareContext(ctx, tokenQuery); err != nil {
		_ = s.keyStmt.Close()
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	return s, nil
}

// SQL returns the underlying database (for backend-specific tests and bulk loads).
func (s *DB) SQL() *sql.DB { return s.db }

// Ping implements store.Store.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.d.Name, err)
	}
	return nil
}

// Close implements store.Store.
func (s *DB) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	var err error
	if s.keyStmt != nil {
		err = errors.Join(s.keyStmt.Close(), s.tokenStmt.Close())
	}
	err = errors.Join(err, s.db.Close())
	if s.onClose != nil {
		err = errors.Join(err, s.onClose())
	}
	return err
}

func (s *DB) check() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// clock returns the store's current time at microsecond precision, UTC.
func (s *DB) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// t encodes a time argument; a zero time is NULL.
func (s *DB) t(v time.Time) any {
	if v.IsZero() {
		return nil
	}
	return s.d.Time(v.UTC().Truncate(time.Microsecond))
}

func (s *DB) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", op, store.ErrNotFound)
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	c := s.d.Classify(err)
	if errors.Is(c, store.ErrDuplicate) || errors.Is(c, store.ErrNotFound) {
		return fmt.Errorf("store: %s: %w", op, c)
	}
	return fmt.Errorf("store: %s (%s): %w", op, s.d.Name, err)
}

func notFound(op string) error { return fmt.Errorf("store: %s: %w", op, store.ErrNotFound) }

// tm scans a nullable time of either encoding.
type tm struct{ p *time.Time }

func (x tm) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*x.p = time.Time{}
	case int64:
		*x.p = time.UnixMicro(v).UTC()
	case time.Time:
		*x.p = v.UTC()
	default:
		return fmt.Errorf("store: cannot scan %T into a time", src)
	}
	return nil
}

// list scans a JSON array of strings.
type list struct{ p *[]string }

func (x list) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*x.p = []string{}
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("store: cannot scan %T into a list", src)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("store: bad list column: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	*x.p = out
	return nil
}

func enc(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func (s *DB) tx(ctx context.Context, op string, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(op, err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return s.wrap(op, tx.Commit())
}

// queryRow runs a hot-path query through its prepared statement, if any.
func (s *DB) queryRow(ctx context.Context, stmt *sql.Stmt, q string, args ...any) *sql.Row {
	if stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, q, args...)
}

func affected(r sql.Result) int {
	n, err := r.RowsAffected()
	if err != nil {
		return 0
	}
	return int(n)
}

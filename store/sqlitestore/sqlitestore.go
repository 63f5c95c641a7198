// Package sqlitestore is the embedded state store: store.Store on SQLite
// through the pure-Go driver modernc.org/sqlite (no cgo).
//
// The database runs in WAL mode (readers never block the writer), with
// foreign keys on, synchronous=NORMAL, a busy timeout, and write
// transactions that take the lock up front (BEGIN IMMEDIATE) so concurrent
// writers wait instead of failing. Migrations are applied at Open.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/internal/sqlstore"
	"github.com/beaconlive/beacon/store/migrations"
)

// Config configures the SQLite store.
type Config struct {
	// Path is the database file; its directory is created. ":memory:" is
	// refused (each pooled connection would get its own database).
	Path string
	// Logger receives migration and lifecycle logs. It defaults to a
	// discarding logger.
	Logger *slog.Logger
	// BusyTimeout is how long a writer waits for the lock. It defaults to 5s.
	BusyTimeout time.Duration
	// MaxOpenConns bounds the connection pool. It defaults to 8.
	MaxOpenConns int
	// Now is the clock for stored timestamps. It defaults to time.Now.
	Now func() time.Time
}

// Store is the SQLite store.
type Store struct {
	*sqlstore.DB
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at cfg.Path and migrates it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlitestore: Path is required")
	}
	if cfg.Path == ":memory:" {
		return nil, errors.New("sqlitestore: :memory: is not supported; use a file in a temporary directory")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	if cfg.MaxOpenConns <= 0 {
		cfg.MaxOpenConns = 8
	}
	log := cfg.Logger.With("component", "store", "backend", "sqlite")
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlitestore: create directory: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Keep the hot indexes (stream keys, tokens) in memory: a 16 MiB page
	// cache per connection plus a 256 MiB shared memory map of the file.
	q.Add("_pragma", "cache_size(-16384)")
	q.Add("_pragma", "mmap_size(268435456)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxOpenConns)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", cfg.Path, err)
	}
	if err := sqlstore.Migrate(ctx, db, goose.DialectSQLite3, migrations.SQLite(), nil, log); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	inner, err := sqlstore.New(ctx, db, sqlstore.Dialect{
		Name:     "sqlite",
		Time:     func(t time.Time) any { return t.UnixMicro() },
		Prepare:  true,
		Classify: classify,
	}, cfg.Now, nil)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	s := &Store{DB: inner}
	if err := sqlstore.SeedCategories(ctx, s); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	log.Info("store open", "path", cfg.Path)
	return s, nil
}

func classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w (%s)", store.ErrDuplicate, constraintDetail(se))
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: a referenced record does not exist", store.ErrNotFound)
	}
	return err
}

// constraintDetail returns the column a unique constraint names
// ("users.login"); SQLite's message names columns, never values.
func constraintDetail(se *sqlite.Error) string {
	msg := se.Error()
	const marker = "constraint failed: "
	if i := strings.Index(msg, marker); i >= 0 {
		msg = msg[i+len(marker):]
		if j := strings.Index(msg, " ("); j >= 0 {
			msg = msg[:j]
		}
	}
	return msg
}

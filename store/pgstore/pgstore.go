// Package pgstore is the state store at scale: store.Store on PostgreSQL
// through pgx/v5 (a pgxpool connection pool, used through database/sql so
// both backends share their queries).
//
// Migrations are applied at Open under a PostgreSQL advisory lock, so several
// Beacon processes may start at once.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/internal/sqlstore"
	"github.com/beaconlive/beacon/store/migrations"
)

// Config configures the PostgreSQL store.
type Config struct {
	// URL is a postgres:// connection URL (store.ParseDSN's target).
	URL string
	// Schema, if set, is created if missing and used as the search_path, so
	// that several stores (test runs) share one database without colliding.
	// It defaults to the server's default (public).
	Schema string
	// Logger receives migration and lifecycle logs. It defaults to a
	// discarding logger.
	Logger *slog.Logger
	// MaxConns bounds the pool. It defaults to 16.
	MaxConns int32
	// Now is the clock for stored timestamps. It defaults to time.Now.
	Now func() time.Time
}

// Store is the PostgreSQL store.
type Store struct {
	*sqlstore.DB
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to cfg.URL and migrates the database (or schema).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("pgstore: URL is required")
	}
	if cfg.Schema != "" && !schemaRE.MatchString(cfg.Schema) {
		return nil, errors.New("pgstore: Schema must match [a-z_][a-z0-9_]{0,62}")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	log := cfg.Logger.With("component", "store", "backend", "postgres")
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgx's parse errors may quote the URL, and with it the password.
		return nil, errors.New("pgstore: cannot parse the PostgreSQL URL")
	}
	pc.MaxConns = cfg.MaxConns
	if cfg.Schema != "" {
		if err := createSchema(ctx, pc.ConnConfig.Copy(), cfg.Schema); err != nil {
			return nil, err
		}
		pc.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connect to %s:%d: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		_ = db.Close()
		pool.Close()
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if err := sqlstore.Migrate(ctx, db, goose.DialectPostgres, migrations.Postgres(), locker, log); err != nil {
		_ = db.Close()
		pool.Close()
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s := &Store{pool: pool}
	s.DB, err = sqlstore.New(ctx, db, sqlstore.Dialect{
		Name:     "postgres",
		Time:     func(t time.Time) any { return t },
		Classify: classify,
	}, cfg.Now, func() error { pool.Close(); return nil })
	if err != nil {
		_ = db.Close()
		pool.Close()
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if err := sqlstore.SeedCategories(ctx, s); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	log.Info("store open", "host", pc.ConnConfig.Host, "database", pc.ConnConfig.Database, "schema", cfg.Schema)
	return s, nil
}

// Pool returns the pgx pool (for bulk loads and backend-specific tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func createSchema(ctx context.Context, cc *pgx.ConnConfig, schema string) error {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("pgstore: connect to %s:%d: %w", cc.Host, cc.Port, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
		var pe *pgconn.PgError
		// Two opens racing on CREATE SCHEMA IF NOT EXISTS may still collide.
		if !errors.As(err, &pe) || pe.Code != "23505" {
			return fmt.Errorf("pgstore: create schema: %w", err)
		}
	}
	return nil
}

// DropSchema drops a schema and everything in it (test clean-up).
func DropSchema(ctx context.Context, url, schema string) error {
	if !schemaRE.MatchString(schema) || schema == "public" {
		return errors.New("pgstore: refusing to drop that schema")
	}
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		return errors.New("pgstore: cannot parse the PostgreSQL URL")
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("pgstore: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
	return err
}

func classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		return fmt.Errorf("%w (%s)", store.ErrDuplicate, pe.ConstraintName)
	case "23503": // foreign_key_violation
		return fmt.Errorf("%w: a referenced record does not exist", store.ErrNotFound)
	}
	return err
}

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/seed"
)

// Migrate applies the embedded migrations with goose, then upserts the seed
// category catalogue. locker may be nil (SQLite: one process owns the file).
func Migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS, locker lock.SessionLocker, log *slog.Logger) error {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: apply migrations: %w", err)
	}
	for _, r := range res {
		log.Info("applied migration", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// SeedCategories upserts the committed category catalogue.
func SeedCategories(ctx context.Context, s store.Categories) error {
	cs, err := seed.Categories()
	if err != nil {
		return err
	}
	return s.UpsertCategories(ctx, cs)
}

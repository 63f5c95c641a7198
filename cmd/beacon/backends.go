package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/kafkabus"
	"github.com/beaconlive/beacon/bus/membus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/internal/config"
	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/bleveindex"
	"github.com/beaconlive/beacon/search/esindex"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/pgstore"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

// openBus picks the bus backend by DSN scheme.
func openBus(ctx context.Context, cfg config.Config, log *slog.Logger) (bus.Bus, string, error) {
	topics := event.Topics(cfg.BusPartitions)
	if cfg.Bus == "mem://" {
		b, err := membus.New(membus.Config{Topics: topics, Logger: log.With("component", "bus")})
		return b, "mem", err
	}
	brokers, err := kafkabus.ParseDSN(cfg.Bus)
	if err != nil {
		return nil, "", fmt.Errorf("config: 'bus' = %q: %w", cfg.Bus, err)
	}
	// New waits for the brokers (creating topics); do not wait forever.
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	b, err := kafkabus.New(ctx, kafkabus.Config{Brokers: brokers, Topics: topics, Logger: log.With("component", "bus")})
	if err != nil {
		return nil, "", fmt.Errorf("bus: kafka %s: %w", strings.Join(brokers, ","), err)
	}
	return b, "kafka", nil
}

// openStore picks the state store by DSN scheme.
func openStore(ctx context.Context, dsn string, log *slog.Logger) (store.Store, error) {
	scheme, target, err := store.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	switch scheme {
	case "sqlite":
		return sqlitestore.Open(ctx, sqlitestore.Config{Path: target, Logger: log.With("component", "store")})
	case "postgres":
		return pgstore.Open(ctx, pgstore.Config{URL: target, Logger: log.With("component", "store")})
	default:
		return nil, fmt.Errorf("db: unsupported scheme %q", scheme)
	}
}

// openIndex picks the search backend by DSN scheme: bleve://PATH or http(s)://ES.
func openIndex(ctx context.Context, dsn string, log *slog.Logger) (search.Index, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	switch u.Scheme {
	case "bleve":
		path := strings.TrimPrefix(dsn, "bleve://")
		return bleveindex.Open(bleveindex.Config{Path: filepath.Clean(path), Logger: log.With("component", "search")})
	case "http", "https":
		return esindex.Open(ctx, esindex.Config{URL: dsn, Logger: log.With("component", "search")})
	default:
		return nil, fmt.Errorf("search: unsupported scheme %q", u.Scheme)
	}
}

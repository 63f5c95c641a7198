package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/bleveindex"
	"github.com/beaconlive/beacon/search/esindex"
	"github.com/beaconlive/beacon/store"
)

// reindexStore is what reindex reads of the store.
type reindexStore interface {
	ListChannels(ctx context.Context, p store.Page) ([]store.Channel, error)
	ChannelByID(ctx context.Context, id store.ChannelID) (store.Channel, error)
	UserByID(ctx context.Context, id store.UserID) (store.User, error)
	Categories(ctx context.Context) ([]store.Category, error)
}

func cmdReindex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("reindex", stderr)
	dsn := f.fs.String("search", "bleve://./data/index", "search index DSN: bleve://PATH (server stopped) or http(s)://ELASTICSEARCH (online)")
	alias := f.fs.String("alias", "", "Elasticsearch alias (defaults to the server's, beacon-channels)")
	pageSize := f.fs.Int("page", 1000, "channels read from the store and written per bulk request (1–1000)")
	allowEmpty := f.fs.Bool("allow-empty", false, "rebuild even when the store has no channels (empties the directory)")
	if err := f.parse(args); err != nil {
		return err
	}
	if *pageSize < 1 || *pageSize > 1000 {
		fmt.Fprintln(stderr, "reindex: -page must be between 1 and 1000")
		return errUsage
	}
	target, err := parseSearchDSN(*dsn)
	if err != nil {
		return err
	}
	st, err := openExistingStore(ctx, f.db)
	if err != nil {
		return err
	}
	defer st.Close()
	first, err := st.ListChannels(ctx, store.Page{Limit: 1})
	if err != nil {
		return fmt.Errorf("reindex: reading the store: %w", err)
	}
	if len(first) == 0 && !*allowEmpty {
		return errors.New("reindex: the store has no channels; refusing to empty the search index (pass -allow-empty to do it anyway)")
	}
	src, err := storeSource(ctx, st, *pageSize)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	start := time.Now()
	var stats search.RebuildStats
	switch target.kind {
	case "bleve":
		stats, err = bleveindex.Rebuild(ctx, bleveindex.Config{Path: target.path, Logger: log}, src)
		if errors.Is(err, bleveindex.ErrLocked) {
			return fmt.Errorf("reindex: the bleve index %s is in use by a running server: stop it first (the embedded index can only be rebuilt offline; use Elasticsearch for online rebuilds): %w", target.path, err)
		}
	case "es":
		var ix *esindex.Index
		if ix, err = esindex.Open(ctx, esindex.Config{URL: target.url, Alias: *alias, Logger: log}); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		defer ix.Close()
		stats, err = ix.Reindex(ctx, src)
	}
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	fmt.Fprintf(stdout, "reindexed %d channels into %s in %s (live state kept for %d, dropped %d not in the store, %d caught up",
		stats.Channels, target.show, time.Since(start).Round(time.Millisecond), stats.LiveCopied, stats.Dropped, stats.CaughtUp)
	if target.kind == "es" {
		fmt.Fprintf(stdout, ", writes held %s at the swap", stats.WritesHeld.Round(time.Millisecond))
	}
	fmt.Fprintln(stdout, ")")
	return nil
}

// searchTarget is a parsed -search DSN.
type searchTarget struct {
	kind, path, url, show string
}

// parseSearchDSN accepts what the server accepts: bleve://PATH or
// http(s)://HOST:PORT.
func parseSearchDSN(dsn string) (searchTarget, error) {
	bad := func(why string) (searchTarget, error) {
		return searchTarget{}, fmt.Errorf("reindex: -search: %s (want bleve://PATH or http(s)://HOST:PORT)", why)
	}
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return bad("no scheme")
	}
	switch strings.ToLower(scheme) {
	case "bleve":
		if rest == "" || strings.ContainsRune(rest, 0) {
			return bad("bleve DSN has no path")
		}
		p := filepath.Clean(rest)
		return searchTarget{kind: "bleve", path: p, show: "bleve index " + p}, nil
	case "http", "https":
		u, err := url.Parse(dsn)
		if err != nil || u.Host == "" {
			return bad("not a valid URL")
		}
		return searchTarget{kind: "es", url: dsn, show: "Elasticsearch at " + u.Redacted()}, nil
	default:
		if len(scheme) > 20 {
			scheme = scheme[:20] + "…"
		}
		return bad(fmt.Sprintf("unsupported scheme %q", scheme))
	}
}

// openExistingStore opens the store, refusing a SQLite file that does not
// exist (opening it would create an empty store, and reindexing from that
// would empty the directory).
func openExistingStore(ctx context.Context, dsn string) (store.Store, error) {
	scheme, target, err := store.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if scheme == store.SchemeSQLite {
		if _, err := os.Stat(target); err != nil {
			return nil, fmt.Errorf("reindex: no store at %s: %w", target, err)
		}
	}
	st, err := openStore(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("reindex: opening the store: %w", err)
	}
	return st, nil
}

// storeSource reads channel metadata from the store the way the server
// builds it for the directory: login = channel name, display name from the
// owner, category name from the catalogue.
func storeSource(ctx context.Context, st reindexStore, pageSize int) (search.Source, error) {
	cats, err := st.Categories(ctx)
	if err != nil {
		return search.Source{}, fmt.Errorf("reindex: reading categories: %w", err)
	}
	catNames := make(map[store.CategoryID]string, len(cats))
	for _, c := range cats {
		catNames[c.ID] = c.Name
	}
	doc := func(ctx context.Context, ch store.Channel) (search.Channel, error) {
		c := search.Channel{
			ID: strconv.FormatInt(int64(ch.ID), 10), Login: ch.Name, Title: ch.Title, Language: ch.Language,
			StreamerTags: ch.Tags, Mature: ch.Mature,
		}
		if ch.CategoryID != 0 {
			c.CategoryID = strconv.FormatInt(int64(ch.CategoryID), 10)
			c.CategoryName = catNames[ch.CategoryID]
		}
		u, err := st.UserByID(ctx, ch.OwnerID)
		switch {
		case err == nil:
			c.DisplayName = u.DisplayName
		case !errors.Is(err, store.ErrNotFound):
			return c, fmt.Errorf("reindex: owner of channel %d: %w", ch.ID, err)
		}
		return c, nil
	}
	return search.Source{
		Fill: func(ctx context.Context, put func(...search.Channel) error) error {
			var after int64
			for {
				page, err := st.ListChannels(ctx, store.Page{AfterID: after, Limit: pageSize})
				if err != nil {
					return fmt.Errorf("reindex: listing channels after %d: %w", after, err)
				}
				if len(page) == 0 {
					return nil
				}
				docs := make([]search.Channel, 0, len(page))
				for _, ch := range page {
					d, err := doc(ctx, ch)
					if err != nil {
						return err
					}
					docs = append(docs, d)
				}
				if err := put(docs...); err != nil {
					return err
				}
				after = int64(page[len(page)-1].ID)
			}
		},
		Lookup: func(ctx context.Context, id string) (search.Channel, bool, error) {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return search.Channel{}, false, nil
			}
			ch, err := st.ChannelByID(ctx, store.ChannelID(n))
			if errors.Is(err, store.ErrNotFound) {
				return search.Channel{}, false, nil
			}
			if err != nil {
				return search.Channel{}, false, err
			}
			d, err := doc(ctx, ch)
			return d, err == nil, err
		},
	}, nil
}

// Package esindex contains the Elasticsearch 7 backend of search.Index,
// through github.com/olivere/elastic/v7.
//
// # Index layout
//
// Documents live in a versioned index (<alias>-v<unix nanos>) reached through
// an alias; Rebuild fills a new version and Swap moves the alias in one atomic
// _aliases call, so searches never see a missing or half-built index. The
// mapping is explicit and strict: text fields use an analyzer whose pattern
// tokenizer splits text exactly like search.Terms, and the composite "all"
// field (copy_to from title, names, category name and tags) carries an
// edge-n-gram subfield for search-as-you-type. Derived fields (tags, hidden)
// are computed in Go, so a partial update reads the document, applies the
// patch and writes it back with if_seq_no/if_primary_term (retried on
// conflict); a patch that only sets ViewerCount is a partial update with no
// read.
//
// # Visibility
//
// The translog is synced asynchronously (every 5s): the index can be rebuilt
// from the store and the topics, and per-request fsyncs would cap small
// writes at the disk's sync rate.
//
// Writes do not force a refresh; the index refreshes every RefreshInterval
// (500ms by default), so changes are searchable within a second. Refresh
// forces one.
package esindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/olivere/elastic/v7"

	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/internal/snapshot"
)

// Config configures an Index.
type Config struct {
	// URL is the Elasticsearch HTTP endpoint, e.g. http://127.0.0.1:9200.
	URL string
	// Alias is the name searches and writes use. It defaults to
	// "beacon-channels".
	Alias string
	// RefreshInterval is the index refresh interval. It defaults to 500ms.
	RefreshInterval time.Duration
	// Retries is how often a failed bulk item or request is retried. It
	// defaults to 5.
	Retries int
	// RetryBackoff is the first retry's pause, doubled per retry. It
	// defaults to 100ms.
	RetryBackoff time.Duration
	// Timeout bounds each request. It defaults to 10s.
	Timeout time.Duration
	// SnapshotTTL is how long a cursor's ranking snapshot is kept. It
	// defaults to 5 minutes.
	SnapshotTTL time.Duration
	// HTTPClient overrides the HTTP client.
	HTTPClient *http.Client
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Index is the Elasticsearch backend of search.Index.
type Index struct {
	cfg   Config
	log   *slog.Logger
	es    *elastic.Client
	alias string
	snaps *snapshot.Store

	mu     sync.RWMutex
	closed bool
}

var _ search.Index = (*Index)(nil)

// Open connects to cfg.URL and makes sure cfg.Alias points at an index,
// creating the first version when it does not exist.
func Open(ctx context.Context, cfg Config) (*Index, error) {
	if cfg.URL == "" {
		return nil, errors.New("esindex: 'url' is required")
	}
	if cfg.Alias == "" {
		cfg.Alias = "beacon-channels"
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 500 * time.Millisecond
	}
	if cfg.Retries <= 0 {
		cfg.Retries = 5
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 100 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
			// No Accept-Encoding: gzip: compressing every answer costs the
			// node more CPU than the bytes cost on a nearby network.
			DisableCompression: true,
		}}
	}
	es, err := elastic.NewClient(
		elastic.SetURL(cfg.URL),
		elastic.SetSniff(false),
		elastic.SetHealthcheck(false),
		elastic.SetHttpClient(hc),
		elastic.SetRetrier(elastic.NewBackoffRetrier(elastic.NewExponentialBackoff(cfg.RetryBackoff, 2*time.Second))),
	)
	if err != nil {
		return nil, fmt.Errorf("esindex: client: %w", err)
	}
	ix := &Index{cfg: cfg, log: cfg.Logger.With("component", "esindex", "alias", cfg.Alias), es: es, alias: cfg.Alias, snaps: snapshot.New(cfg.SnapshotTTL, 0)}
	cur, err := ix.Current(ctx)
	if err != nil {
		return nil, err
	}
	if cur == "" {
		name, err := ix.CreateVersion(ctx)
		if err != nil {
			return nil, err
		}
		if err := ix.Swap(ctx, name); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// Alias returns the alias searches and writes use.
func (ix *Index) Alias() string { return ix.alias }

// Current returns the versioned index the alias points at, "" when the alias
// does not exist.
func (ix *Index) Current(ctx context.Context) (string, error) {
	res, err := ix.es.Aliases().Alias(ix.alias).Do(ctx)
	if err != nil {
		if elastic.IsNotFound(err) {
			return "", nil
		}
		return "", unavailable("aliases", err)
	}
	for name, a := range res.Indices {
		if a.HasAlias(ix.alias) {
			return name, nil
		}
	}
	return "", nil
}

// CreateVersion creates a new, empty versioned index with the mapping and
// returns its name. The alias is not moved.
func (ix *Index) CreateVersion(ctx context.Context) (string, error) {
	name := fmt.Sprintf("%s-v%d", ix.alias, time.Now().UnixNano())
	_, err := ix.es.CreateIndex(name).BodyJson(indexBody(ix.cfg.RefreshInterval)).Do(ctx)
	if err != nil {
		return "", unavailable("create index "+name, err)
	}
	return name, nil
}

// Swap points the alias at index name in one atomic _aliases call and then
// deletes the versions it pointed at before.
func (ix *Index) Swap(ctx context.Context, name string) error {
	old, err := ix.swapAlias(ctx, name)
	if err != nil {
		return err
	}
	ix.dropVersion(ctx, old)
	return nil
}

// swapAlias points the alias at name and returns the version it pointed at
// before ("" when none, or name itself).
func (ix *Index) swapAlias(ctx context.Context, name string) (string, error) {
	old, err := ix.Current(ctx)
	if err != nil {
		return "", err
	}
	svc := ix.es.Alias().Add(name, ix.alias)
	if old != "" && old != name {
		svc = svc.Remove(old, ix.alias)
	}
	if _, err := svc.Do(ctx); err != nil {
		return "", unavailable("swap alias", err)
	}
	if old == name {
		return "", nil
	}
	return old, nil
}

// dropVersion deletes a version the alias no longer points at.
func (ix *Index) dropVersion(ctx context.Context, old string) {
	if old == "" {
		return
	}
	if _, err := ix.es.DeleteIndex(old).Do(ctx); err != nil {
		ix.log.Warn("deleting the previous index version", "index", old, "error", err)
	}
}

// Rebuild fills a new index version with every channel that fill yields
// (through put, which may be called concurrently with nothing else), then
// swaps the alias to it. Writes made through the alias while Rebuild runs
// land in the old version only: callers replay changes made since Rebuild
// began (the indexer re-reads its topics from the offsets it held then).
func (ix *Index) Rebuild(ctx context.Context, fill func(put func(...search.Channel) error) error) error {
	name, err := ix.CreateVersion(ctx)
	if err != nil {
		return err
	}
	put := func(chs ...search.Channel) error {
		reqs := make([]elastic.BulkableRequest, 0, len(chs))
		for _, c := range chs {
			c = c.Normalize()
			if err := c.Validate(); err != nil {
				return err
			}
			reqs = append(reqs, elastic.NewBulkIndexRequest().Index(name).Id(c.ID).Doc(toDoc(&c)))
		}
		failed, err := ix.bulk(ctx, reqs)
		if err != nil {
			return err
		}
		for _, e := range failed {
			return e
		}
		return nil
	}
	if err := fill(put); err != nil {
		_, _ = ix.es.DeleteIndex(name).Do(context.WithoutCancel(ctx))
		return fmt.Errorf("esindex: rebuild: %w", err)
	}
	if _, err := ix.es.Refresh(name).Do(ctx); err != nil {
		return unavailable("refresh", err)
	}
	return ix.Swap(ctx, name)
}

// Drop deletes the alias's index versions (tests and benchmarks).
func (ix *Index) Drop(ctx context.Context) error {
	cur, err := ix.Current(ctx)
	if err != nil || cur == "" {
		return err
	}
	_, err = ix.es.DeleteIndex(cur).Do(ctx)
	return err
}

// SizeBytes returns the primary store size of the current version.
func (ix *Index) SizeBytes(ctx context.Context) (int64, error) {
	res, err := ix.es.IndexStats(ix.alias).Metric("store").Do(ctx)
	if err != nil {
		return 0, unavailable("stats", err)
	}
	if res.All == nil || res.All.Primaries == nil || res.All.Primaries.Store == nil {
		return 0, nil
	}
	return res.All.Primaries.Store.SizeInBytes, nil
}

// Close releases the client. The Elasticsearch index stays.
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return search.ErrClosed
	}
	ix.closed = true
	ix.es.Stop()
	return nil
}

func (ix *Index) checkOpen() error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return search.ErrClosed
	}
	return nil
}

// Refresh makes completed writes searchable now.
func (ix *Index) Refresh(ctx context.Context) error {
	if err := ix.checkOpen(); err != nil {
		return err
	}
	if _, err := ix.es.Refresh(ix.alias).Do(ctx); err != nil {
		return unavailable("refresh", err)
	}
	return nil
}

// unavailable wraps transport failures and 429/5xx answers in
// search.ErrUnavailable; other errors keep their own meaning.
func unavailable(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ee *elastic.Error
	if errors.As(err, &ee) && ee.Status < 500 && ee.Status != http.StatusTooManyRequests {
		return fmt.Errorf("esindex: %s: %w", what, err)
	}
	return fmt.Errorf("%w: esindex: %s: %w", search.ErrUnavailable, what, err)
}

// doc is a channel as stored in Elasticsearch: the Channel fields plus the
// derived fields queries use.
type doc struct {
	search.Channel
	Tags     []string `json:"tags"`
	TagsText string   `json:"tags_text"`
	Hidden   bool     `json:"hidden"`
	Started  *int64   `json:"started_ms,omitempty"`
}

func toDoc(c *search.Channel) *doc {
	d := &doc{Channel: *c, Tags: c.Tags(), Hidden: c.Hidden()}
	d.TagsText = strings.Join(d.Tags, " \u2063 ")
	if !c.StartedAt.IsZero() {
		ms := c.StartedAt.UnixMilli()
		d.Started = &ms
	}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	return d
}

func fromSource(raw json.RawMessage) (search.Channel, error) {
	var d doc
	if err := json.Unmarshal(raw, &d); err != nil {
		return search.Channel{}, fmt.Errorf("esindex: decoding a document: %w", err)
	}
	return d.Channel, nil
}

// indexBody is the settings and explicit mapping of a version.
func indexBody(refresh time.Duration) map[string]any {
	text := func(extra ...map[string]any) map[string]any {
		m := map[string]any{"type": "text", "analyzer": "beacon_text", "copy_to": "all", "norms": true}
		for _, e := range extra {
			for k, v := range e {
				m[k] = v
			}
		}
		return m
	}
	kw := map[string]any{"type": "keyword"}
	return map[string]any{
		"settings": map[string]any{
			"number_of_shards":   1,
			"number_of_replicas": 0,
			"refresh_interval":   fmt.Sprintf("%dms", refresh.Milliseconds()),
			"max_result_window":  search.MaxDepth + search.MaxLimit,
			// The index is rebuildable from the store and the topics, so
			// writes need not fsync the translog per request.
			"translog": map[string]any{"durability": "async", "sync_interval": "5s"},
			"analysis": map[string]any{
				"tokenizer": map[string]any{
					"beacon_terms": map[string]any{"type": "pattern", "pattern": search.TermPattern, "group": 0},
				},
				"filter": map[string]any{
					"beacon_edge": map[string]any{"type": "edge_ngram", "min_gram": search.MinPrefixLen, "max_gram": maxGram},
				},
				"analyzer": map[string]any{
					"beacon_text":   map[string]any{"type": "custom", "tokenizer": "beacon_terms", "filter": []string{"lowercase"}},
					"beacon_prefix": map[string]any{"type": "custom", "tokenizer": "beacon_terms", "filter": []string{"lowercase", "beacon_edge"}},
				},
			},
		},
		"mappings": map[string]any{
			"dynamic": "strict",
			"properties": map[string]any{
				"id":            kw,
				"login":         text(),
				"display_name":  text(),
				"title":         text(),
				"category_id":   kw,
				"category_name": text(map[string]any{"fields": map[string]any{"raw": kw}}),
				"language":      kw,
				"streamer_tags": kw,
				"smart_tags":    kw,
				"tags":          kw,
				"tags_text":     text(),
				"all": map[string]any{"type": "text", "analyzer": "beacon_text", "norms": false,
					"fields": map[string]any{"prefix": map[string]any{"type": "text", "analyzer": "beacon_prefix", "search_analyzer": "beacon_text", "norms": false}}},
				"mature":        map[string]any{"type": "boolean"},
				"live":          map[string]any{"type": "boolean"},
				"hidden":        map[string]any{"type": "boolean"},
				"safety":        kw,
				"started_at":    map[string]any{"type": "date"},
				"started_ms":    map[string]any{"type": "long"},
				"viewer_count":  map[string]any{"type": "long"},
				"thumbnail_url": map[string]any{"type": "keyword", "index": false, "doc_values": false},
			},
		},
	}
}

// maxGram is the longest prefix the edge n-gram subfield holds; longer
// prefixes use a prefix query on "all".
const maxGram = 20

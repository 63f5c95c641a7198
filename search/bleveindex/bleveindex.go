// Package bleveindex contains the embedded search index: bleve on disk.
//
// # Design
//
// bleve holds the text (title, names, category name, tags) and the slowly
// changing filter fields, and a stored copy of each document. Every document
// is also kept in memory, which is where Get reads, where viewer counts live
// and where ranking happens: a query asks bleve only for the ids (and scores)
// of the channels that match its text and filters, then facets are counted and
// the matches sorted in Go. A query without text skips bleve and filters the
// in-memory documents directly.
//
// Viewer counts change thousands of times a second, so a patch that sets only
// ViewerCount never touches bleve: it updates the in-memory document and marks
// the counts dirty; a background loop saves all counts into the index's
// internal storage every FlushInterval (and Close saves them), and Open reads
// them back. A crash loses at most FlushInterval of viewer-count changes,
// which the viewer counter republishes anyway.
package bleveindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/regexp"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/internal/snapshot"
)

// Config configures an Index.
type Config struct {
	// Path is the index directory, created if missing. It defaults to
	// ./data/index.
	Path string
	// FlushInterval is how often dirty viewer counts are saved. It defaults
	// to 5s.
	FlushInterval time.Duration
	// SnapshotTTL is how long a cursor's ranking snapshot is kept. It
	// defaults to 5 minutes.
	SnapshotTTL time.Duration
	// Logger receives background errors. It defaults to slog.Default().
	Logger *slog.Logger
	// LockTimeout is how long Open waits for another process that holds the
	// index directory (bleve locks it while open) before failing with
	// ErrLocked. It defaults to 1s.
	LockTimeout time.Duration
}

// ErrLocked is returned by Open and Rebuild when another process (a running
// server) holds the index directory.
var ErrLocked = errors.New("bleveindex: index in use by another process")

func (cfg Config) withDefaults() Config {
	if cfg.Path == "" {
		cfg.Path = filepath.Join("data", "index")
	}
	cfg.Path = filepath.Clean(cfg.Path)
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LockTimeout <= 0 {
		cfg.LockTimeout = time.Second
	}
	return cfg
}

// Index is the bleve backend of search.Index.
type Index struct {
	cfg   Config
	log   *slog.Logger
	bi    bleve.Index
	snaps *snapshot.Store
	ids   *idCache
	// scratch recycles the per-query buffers (*scratch).
	scratch sync.Pool

	// wmu serializes writes so bleve and docs change in the same order.
	wmu sync.Mutex
	// mu guards docs, dirty and closed.
	mu     sync.RWMutex
	docs   *store
	dirty  bool
	closed bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ search.Index = (*Index)(nil)

const (
	analyzerText    = "beacon_text"
	internalViewers = "beacon:viewers"
	fieldAll        = "all"
)

// textFields are the per-field text fields and their boosts.
var textFields = []struct {
	name  string
	boost float64
}{
	{"display_name", 3}, {"login", 3}, {"title", 2}, {"category_name", 1.5}, {"tags_text", 1.5},
}

// bdoc is what bleve indexes for a channel.
type bdoc struct {
	Title        string   `json:"title"`
	Login        string   `json:"login"`
	DisplayName  string   `json:"display_name"`
	CategoryName string   `json:"category_name"`
	TagsText     []string `json:"tags_text"`
	All          []string `json:"all"`
	CategoryID   string   `json:"category_id"`
	Language     string   `json:"language"`
	Tags         []string `json:"tags"`
	Live         bool     `json:"live"`
	Mature       bool     `json:"mature"`
	Hidden       bool     `json:"hidden"`
	Src          string   `json:"src"`
}

func toBdoc(c *search.Channel) (*bdoc, error) {
	src, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	tags := c.Tags()
	all := append([]string{c.Title, c.Login, c.DisplayName, c.CategoryName}, tags...)
	return &bdoc{
		Title: c.Title, Login: c.Login, DisplayName: c.DisplayName, CategoryName: c.CategoryName,
		TagsText: tags, All: all, CategoryID: c.CategoryID, Language: c.Language, Tags: tags,
		Live: c.Live, Mature: c.Mature, Hidden: c.Hidden(), Src: string(src),
	}, nil
}

func newMapping() (mapping.IndexMapping, error) {
	im := bleve.NewIndexMapping()
	if err := im.AddCustomTokenizer("beacon_terms", map[string]any{
		"type": regexp.Name, "regexp": search.TermPattern,
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(analyzerText, map[string]any{
		"type": custom.Name, "tokenizer": "beacon_terms", "token_filters": []string{lowercase.Name},
	}); err != nil {
		return nil, err
	}
	dm := bleve.NewDocumentStaticMapping()
	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = analyzerText
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = false
		return f
	}
	kw := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = false
		return f
	}
	boolean := func() *mapping.FieldMapping {
		f := bleve.NewBooleanFieldMapping()
		f.Store = false
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	for _, f := range textFields {
		dm.AddFieldMappingsAt(f.name, text())
	}
	dm.AddFieldMappingsAt(fieldAll, text())
	for _, n := range []string{"category_id", "language", "tags"} {
		dm.AddFieldMappingsAt(n, kw())
	}
	for _, n := range []string{"live", "mature", "hidden"} {
		dm.AddFieldMappingsAt(n, boolean())
	}
	src := bleve.NewTextFieldMapping()
	src.Index = false
	src.Store = true
	src.IncludeInAll = false
	src.IncludeTermVectors = false
	src.DocValues = false
	dm.AddFieldMappingsAt("src", src)
	im.DefaultMapping = dm
	im.DefaultAnalyzer = analyzerText
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	return im, nil
}

// Open opens the index at cfg.Path, creating it if missing, and loads every
// document into memory.
func Open(cfg Config) (*Index, error) {
	cfg = cfg.withDefaults()
	var bi bleve.Index
	var err error
	if _, statErr := os.Stat(filepath.Join(cfg.Path, "index_meta.json")); statErr == nil {
		bi, err = bleve.OpenUsing(cfg.Path, map[string]any{"bolt_timeout": cfg.LockTimeout.String()})
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s (locked for more than %s)", ErrLocked, cfg.Path, cfg.LockTimeout)
		}
	} else {
		var m mapping.IndexMapping
		if m, err = newMapping(); err != nil {
			return nil, fmt.Errorf("bleveindex: mapping: %w", err)
		}
		if err = os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
			return nil, fmt.Errorf("bleveindex: %w", err)
		}
		bi, err = bleve.New(cfg.Path, m)
	}
	if err != nil {
		return nil, fmt.Errorf("bleveindex: open %s: %w", cfg.Path, err)
	}
	keys := newKeyTable()
	ix := &Index{
		cfg: cfg, log: cfg.Logger.With("component", "bleveindex"), bi: bi,
		snaps: snapshot.New(cfg.SnapshotTTL, 0), ids: newIDCache(keys), docs: newStore(keys),
	}
	if err := ix.load(); err != nil {
		_ = bi.Close()
		return nil, err
	}
	// Read the segments' ids now rather than in the first query (some
	// 30 ms for 100,000 documents).
	if err := ix.warmIDs(); err != nil {
		_ = bi.Close()
		return nil, fmt.Errorf("bleveindex: load: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ix.cancel = cancel
	ix.wg.Add(1)
	go ix.flushLoop(ctx)
	return ix, nil
}

// load reads every stored document and the saved viewer counts.
func (ix *Index) load() error {
	if err := ix.loadDocs(); err != nil {
		return fmt.Errorf("bleveindex: load: %w", err)
	}
	raw, err := ix.bi.GetInternal([]byte(internalViewers))
	if err != nil {
		return fmt.Errorf("bleveindex: load viewer counts: %w", err)
	}
	if len(raw) > 0 {
		var counts map[string]int64
		if err := json.Unmarshal(raw, &counts); err != nil {
			ix.log.Warn("saved viewer counts unreadable; keeping the documents' counts", "error", err)
		}
		for id, v := range counts {
			if d, ok := ix.docs.get(id); ok && d.ViewerCount != v {
				c := *d
				c.ViewerCount = v
				ix.docs.setViewers(&c)
			}
		}
	}
	return nil
}

func (ix *Index) flushLoop(ctx context.Context) {
	defer ix.wg.Done()
	t := time.NewTicker(ix.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := ix.flushViewers(); err != nil {
				ix.log.Error("saving viewer counts", "error", err)
			}
		}
	}
}

// flushViewers saves every viewer count if any changed since the last save.
func (ix *Index) flushViewers() error {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.Lock()
	if !ix.dirty || ix.closed {
		ix.mu.Unlock()
		return nil
	}
	counts := make(map[string]int64, len(ix.docs.all))
	for _, e := range ix.docs.all {
		counts[e.c.ID] = e.c.ViewerCount
	}
	ix.dirty = false
	ix.mu.Unlock()
	raw, err := json.Marshal(counts)
	if err != nil {
		return err
	}
	if err := ix.bi.SetInternal([]byte(internalViewers), raw); err != nil {
		ix.mu.Lock()
		ix.dirty = true
		ix.mu.Unlock()
		return fmt.Errorf("bleveindex: save viewer counts: %w", err)
	}
	return nil
}

// Close saves viewer counts and closes the index.
func (ix *Index) Close() error {
	ix.mu.RLock()
	closed := ix.closed
	ix.mu.RUnlock()
	if closed {
		return search.ErrClosed
	}
	ix.cancel()
	ix.wg.Wait()
	ferr := ix.flushViewers()
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.Lock()
	ix.closed = true
	ix.mu.Unlock()
	return errors.Join(ferr, ix.bi.Close())
}

func (ix *Index) checkOpen() error {
	if ix.closed {
		return search.ErrClosed
	}
	return nil
}

// Get returns the current document of id.
func (ix *Index) Get(ctx context.Context, id string) (search.Channel, error) {
	if err := ctx.Err(); err != nil {
		return search.Channel{}, err
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if err := ix.checkOpen(); err != nil {
		return search.Channel{}, err
	}
	d, ok := ix.docs.get(id)
	if !ok {
		return search.Channel{}, search.ErrNotFound
	}
	return clone(d), nil
}

func clone(d *search.Channel) search.Channel {
	c := *d
	c.StreamerTags = append([]string(nil), d.StreamerTags...)
	c.SmartTags = append([]string(nil), d.SmartTags...)
	if len(c.StreamerTags) == 0 {
		c.StreamerTags = nil
	}
	if len(c.SmartTags) == 0 {
		c.SmartTags = nil
	}
	return c
}

// Upsert applies p to id.
func (ix *Index) Upsert(ctx context.Context, id string, p search.Patch) error {
	return ix.Bulk(ctx, []search.Op{{ID: id, Patch: p}})
}

// Delete removes id.
func (ix *Index) Delete(ctx context.Context, id string) error {
	return ix.Bulk(ctx, []search.Op{{ID: id, Delete: true}})
}

// Refresh is a no-op: bleve writes are searchable when they return.
func (ix *Index) Refresh(ctx context.Context) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.checkOpen()
}

// Bulk applies ops in order, in one bleve batch.
func (ix *Index) Bulk(ctx context.Context, ops []search.Op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.RLock()
	err := ix.checkOpen()
	ix.mu.RUnlock()
	if err != nil {
		return err
	}
	failed := map[int]error{}
	// Work on a private view of the touched documents, commit to bleve, then
	// publish to docs: a failed batch changes nothing.
	next := map[string]*search.Channel{}
	textChanged := map[string]bool{}
	deleted := map[string]bool{}
	cur := func(id string) (*search.Channel, bool) {
		if deleted[id] {
			return nil, false
		}
		if d, ok := next[id]; ok {
			return d, true
		}
		ix.mu.RLock()
		d, ok := ix.docs.get(id)
		ix.mu.RUnlock()
		return d, ok
	}
	batch := ix.bi.NewBatch()
	for i, op := range ops {
		if err := search.ValidateID(op.ID); err != nil {
			failed[i] = err
			continue
		}
		if op.Delete {
			deleted[op.ID] = true
			delete(next, op.ID)
			batch.Delete(op.ID)
			continue
		}
		if op.Patch.Empty() {
			continue
		}
		old, ok := cur(op.ID)
		base := search.Channel{ID: op.ID}
		if ok {
			base = clone(old)
		}
		c := op.Patch.Apply(base).Normalize()
		c.ID = op.ID
		if err := c.Validate(); err != nil {
			failed[i] = err
			continue
		}
		delete(deleted, op.ID)
		next[op.ID] = &c
		if ok && op.Patch.OnlyViewerCount() {
			continue
		}
		textChanged[op.ID] = true
		bd, err := toBdoc(&c)
		if err != nil {
			failed[i] = err
			continue
		}
		if err := batch.Index(op.ID, bd); err != nil {
			failed[i] = err
		}
	}
	if batch.Size() > 0 {
		if err := ix.bi.Batch(batch); err != nil {
			return fmt.Errorf("%w: bleveindex: batch: %w", search.ErrUnavailable, err)
		}
	}
	ix.mu.Lock()
	for id := range deleted {
		ix.docs.del(id)
	}
	for id, c := range next {
		if textChanged[id] {
			ix.docs.put(c)
		} else {
			ix.docs.setViewers(c)
		}
	}
	if len(next) > 0 {
		ix.dirty = true
	}
	ix.mu.Unlock()
	if len(failed) > 0 {
		return &search.BulkError{Failed: failed}
	}
	return nil
}

// loadDocs reads every live document's stored copy, segment by segment.
func (ix *Index) loadDocs() error {
	adv, err := ix.bi.Advanced()
	if err != nil {
		return err
	}
	r, err := adv.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return fmt.Errorf("unexpected index reader %T", r)
	}
	for _, ss := range snap.Segments() {
		deleted := ss.Deleted()
		n := ss.Segment().Count()
		for num := range n {
			if deleted != nil && deleted.Contains(uint32(num)) {
				continue
			}
			var src []byte
			err := ss.VisitDocument(num, func(field string, _ byte, value []byte, _ []uint64) bool {
				if field == "src" {
					src = append([]byte(nil), value...)
					return false
				}
				return true
			})
			if err != nil {
				return err
			}
			if src == nil {
				continue
			}
			var c search.Channel
			if err := json.Unmarshal(src, &c); err != nil {
				return fmt.Errorf("decoding a stored document: %w", err)
			}
			ix.docs.put(&c)
		}
	}
	return nil
}

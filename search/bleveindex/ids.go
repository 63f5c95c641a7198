package bleveindex

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// keyTable gives every channel id a stable int32 key for the life of the
// process. Keys are never reused, so a key always names the same channel: a
// bleve hit resolved to a key reads the store's current entry for it (or
// none, after a delete) with an array index instead of a hash of the id. A
// deleted channel keeps its key (a few dozen bytes) so that re-creating it
// gets the same one.
type keyTable struct {
	mu sync.Mutex
	m  map[string]int32
}

func newKeyTable() *keyTable { return &keyTable{m: map[string]int32{}} }

func (t *keyTable) key(id string) int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.keyLocked(id)
}

func (t *keyTable) keyLocked(id string) int32 {
	if k, ok := t.m[id]; ok {
		return k
	}
	k := int32(len(t.m))
	t.m[id] = k
	return k
}

// idCache maps bleve's internal document numbers to channel keys without
// reading stored fields for every hit. Scorch segments are immutable, so the
// ids of one segment are read once and kept, as keys, while the segment is
// part of the index; a hit's global document number is its segment's offset
// plus its local number. Reading a segment's ids takes about 0.3 µs a
// document (some 30 ms for a merged 100,000-document segment): Open reads
// every segment's, and the first query to meet a new segment (from a batch or
// a merge) reads its ids, outside the cache's lock, once; queries that meet
// it meanwhile wait for that read.
type idCache struct {
	keys *keyTable
	mu   sync.Mutex
	segs map[segment.Segment]*segTable
}

// segTable is one segment's keys, read once.
type segTable struct {
	once sync.Once
	keys []int32
	err  error
}

func newIDCache(keys *keyTable) *idCache {
	return &idCache{keys: keys, segs: map[segment.Segment]*segTable{}}
}

// resolver returns the key lookup for one index snapshot, reading the ids of
// segments not seen before (outside the cache's lock, once per segment).
func (c *idCache) resolver(snap *scorch.IndexSnapshot) (*resolver, error) {
	ss := snap.Segments()
	r := &resolver{offsets: make([]uint64, len(ss)), tables: make([][]int32, len(ss))}
	tabs := make([]*segTable, len(ss))
	live := make(map[segment.Segment]bool, len(ss))
	var running uint64
	c.mu.Lock()
	for i, s := range ss {
		r.offsets[i] = running
		seg := s.Segment()
		running += seg.Count()
		live[seg] = true
		t, ok := c.segs[seg]
		if !ok {
			t = &segTable{}
			c.segs[seg] = t
		}
		tabs[i] = t
	}
	for seg := range c.segs {
		if !live[seg] {
			delete(c.segs, seg)
		}
	}
	c.mu.Unlock()
	for i, t := range tabs {
		t.once.Do(func() { t.keys, t.err = c.readSegment(ss[i].Segment()) })
		if t.err != nil {
			c.mu.Lock()
			if c.segs[ss[i].Segment()] == t {
				delete(c.segs, ss[i].Segment()) // the next query tries again
			}
			c.mu.Unlock()
			return nil, t.err
		}
		r.tables[i] = t.keys
	}
	return r, nil
}

func (c *idCache) readSegment(seg segment.Segment) ([]int32, error) {
	t := make([]int32, seg.Count())
	ids := make([][]byte, len(t))
	for n := range t {
		id, err := seg.DocID(uint64(n))
		if err != nil {
			return nil, fmt.Errorf("bleveindex: reading ids of a segment: %w", err)
		}
		ids[n] = id
	}
	c.keys.mu.Lock()
	defer c.keys.mu.Unlock()
	for n, id := range ids {
		if k, ok := c.keys.m[string(id)]; ok {
			t[n] = k
		} else {
			t[n] = c.keys.keyLocked(string(id))
		}
	}
	return t, nil
}

// resolver maps the internal ids of one index snapshot to channel keys.
type resolver struct {
	offsets []uint64
	tables  [][]int32
	last    int // segment of the previous hit: hits come in document order
}

func (r *resolver) key(internal []byte) (int32, bool) {
	if len(internal) != 8 {
		return 0, false
	}
	g := binary.BigEndian.Uint64(internal)
	i := r.last
	if i >= len(r.offsets) || g < r.offsets[i] || (i+1 < len(r.offsets) && g >= r.offsets[i+1]) {
		i = sort.Search(len(r.offsets), func(i int) bool { return r.offsets[i] > g }) - 1
		if i < 0 {
			return 0, false
		}
		r.last = i
	}
	local := g - r.offsets[i]
	if local >= uint64(len(r.tables[i])) {
		return 0, false
	}
	return r.tables[i][local], true
}

// warmIDs reads the ids of the current snapshot's segments not read yet.
func (ix *Index) warmIDs() error {
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
		return fmt.Errorf("bleveindex: unexpected index reader %T", r)
	}
	_, err = ix.ids.resolver(snap)
	return err
}

// visit calls fn with the key and score of every document matching q.
func (ix *Index) visit(ctx context.Context, q query.Query, score bool, fn func(key int32, score float64)) error {
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
		return fmt.Errorf("bleveindex: unexpected index reader %T", r)
	}
	res, err := ix.ids.resolver(snap)
	if err != nil {
		return err
	}
	opts := bsearch.SearcherOptions{}
	if !score {
		opts.Score = "none"
	}
	sr, err := q.Searcher(ctx, r, ix.bi.Mapping(), opts)
	if err != nil {
		return err
	}
	defer sr.Close()
	sctx := &bsearch.SearchContext{DocumentMatchPool: bsearch.NewDocumentMatchPool(sr.DocumentMatchPoolSize(), 0), IndexReader: r}
	n := 0
	for {
		dm, err := sr.Next(sctx)
		if err != nil {
			return err
		}
		if dm == nil {
			return nil
		}
		if k, ok := res.key(dm.IndexInternalID); ok {
			fn(k, dm.Score)
		}
		sctx.DocumentMatchPool.Put(dm)
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

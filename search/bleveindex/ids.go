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

// idCache maps bleve's internal document numbers to channel ids without
// reading stored fields for every hit. Scorch segments are immutable, so the
// external ids of one segment are read once (on its first query) and kept
// while the segment is part of the index; a hit's global document number is
// its segment's offset plus its local number.
type idCache struct {
	mu   sync.Mutex
	segs map[segment.Segment][]string
}

func newIDCache() *idCache { return &idCache{segs: map[segment.Segment][]string{}} }

// resolver returns the id lookup for one index snapshot.
func (c *idCache) resolver(snap *scorch.IndexSnapshot) (func(internal []byte) (string, bool), error) {
	ss := snap.Segments()
	offsets := make([]uint64, len(ss))
	tables := make([][]string, len(ss))
	live := make(map[segment.Segment]bool, len(ss))
	var running uint64
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range ss {
		offsets[i] = running
		seg := s.Segment()
		running += seg.Count()
		live[seg] = true
		t, ok := c.segs[seg]
		if !ok {
			t = make([]string, seg.Count())
			for n := range t {
				id, err := seg.DocID(uint64(n))
				if err != nil {
					return nil, fmt.Errorf("bleveindex: reading ids of a segment: %w", err)
				}
				t[n] = string(id)
			}
			c.segs[seg] = t
		}
		tables[i] = t
	}
	for seg := range c.segs {
		if !live[seg] {
			delete(c.segs, seg)
		}
	}
	return func(internal []byte) (string, bool) {
		if len(internal) != 8 {
			return "", false
		}
		g := binary.BigEndian.Uint64(internal)
		i := sort.Search(len(offsets), func(i int) bool { return offsets[i] > g }) - 1
		if i < 0 {
			return "", false
		}
		local := g - offsets[i]
		if local >= uint64(len(tables[i])) {
			return "", false
		}
		return tables[i][local], true
	}, nil
}

// visit calls fn with the id and score of every document matching q.
func (ix *Index) visit(ctx context.Context, q query.Query, score bool, fn func(id string, score float64)) error {
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
	resolve, err := ix.ids.resolver(snap)
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
		if id, ok := resolve(dm.IndexInternalID); ok {
			fn(id, dm.Score)
		}
		sctx.DocumentMatchPool.Put(dm)
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

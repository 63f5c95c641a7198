package bleveindex

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/internal/snapshot"
)

// match is one matching channel during ranking.
type match struct {
	e     *entry
	id    string
	score float64
	key   int64
}

// rawHit is one bleve hit before the filters: the channel's key and score.
type rawHit struct {
	key   int32
	score float64
}

// scratch holds a query's buffers, recycled through Index.scratch so that a
// query allocates nothing in proportion to its matches.
type scratch struct {
	raw []rawHit
	ms  []match
}

func (ix *Index) getScratch() *scratch {
	if sc, ok := ix.scratch.Get().(*scratch); ok {
		return sc
	}
	return &scratch{raw: make([]rawHit, 0, 1024), ms: make([]match, 0, 1024)}
}

func (ix *Index) putScratch(sc *scratch) {
	clear(sc.ms) // drop the entry pointers
	sc.raw, sc.ms = sc.raw[:0], sc.ms[:0]
	ix.scratch.Put(sc)
}

// Search runs q.
func (ix *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	p, err := search.Prepare(q)
	if err != nil {
		return search.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return search.Result{}, err
	}
	ix.mu.RLock()
	err = ix.checkOpen()
	ix.mu.RUnlock()
	if err != nil {
		return search.Result{}, err
	}
	if p.MatchNone {
		return emptyResult(p), nil
	}
	if p.Cursor != nil {
		if e, ok := ix.snaps.Get(p.Cursor.Snapshot); ok {
			return ix.pageFromSnapshot(p, e), nil
		}
	}
	sc := ix.getScratch()
	defer ix.putScratch(sc)
	matches, names, err := ix.match(ctx, p, sc)
	if err != nil {
		return search.Result{}, err
	}
	for i := range matches {
		matches[i].key = sortKey(p.Sort, &matches[i])
	}
	res := search.Result{Total: len(matches)}
	if p.Facets {
		res.Facets = countFacets(matches, names, p.FacetSize)
	}
	if p.Cursor != nil {
		// Keyset continuation: the snapshot is gone, so continue after the
		// cursor's position in the current ranking.
		after := match{key: p.Cursor.Key, score: search.KeyScore(p.Cursor.Key), id: p.Cursor.ID}
		kept := matches[:0]
		for _, m := range matches {
			if less(p.Sort, &after, &m) {
				kept = append(kept, m)
			}
		}
		matches = kept
	}
	depth := search.MaxDepth - p.Offset
	ranked := topK(p.Sort, matches, depth)
	page := ranked[:min(p.Limit, len(ranked))]
	res.Hits = make([]search.Hit, len(page))
	for i, m := range page {
		res.Hits[i] = search.Hit{Channel: clone(m.e.c), Score: m.score}
	}
	if len(ranked) > len(page) && len(page) > 0 {
		last := page[len(page)-1]
		c := &search.Cursor{Sort: p.Sort, Fingerprint: p.Fingerprint, Offset: p.Offset + len(page), Key: last.key, ID: last.id}
		if p.Cursor == nil {
			e := &snapshot.Entry{Total: res.Total, Facets: res.Facets,
				IDs: make([]string, len(ranked)), Keys: make([]int64, len(ranked)), Scores: make([]float64, len(ranked))}
			for i, m := range ranked {
				e.IDs[i], e.Keys[i], e.Scores[i] = m.id, m.key, m.score
			}
			c.Snapshot = ix.snaps.Put(e)
		}
		res.NextCursor = c.Encode()
	}
	return res, nil
}

// pageFromSnapshot serves a later page from the first page's ranking, with
// each channel's current document; channels deleted or no longer passing the
// filters since are left out.
func (ix *Index) pageFromSnapshot(p *search.Plan, e *snapshot.Entry) search.Result {
	res := search.Result{Total: e.Total, Facets: e.Facets}
	from := min(p.Offset, len(e.IDs))
	to := min(p.Offset+p.Limit, len(e.IDs))
	ix.mu.RLock()
	for i := from; i < to; i++ {
		d, ok := ix.docs.get(e.IDs[i])
		if !ok || !p.Passes(d) {
			continue
		}
		res.Hits = append(res.Hits, search.Hit{Channel: clone(d), Score: e.Scores[i]})
	}
	ix.mu.RUnlock()
	if to < len(e.IDs) && to > from {
		c := &search.Cursor{Sort: p.Sort, Fingerprint: p.Fingerprint, Offset: to, Snapshot: p.Cursor.Snapshot, Key: e.Keys[to-1], ID: e.IDs[to-1]}
		res.NextCursor = c.Encode()
	}
	return res
}

// match returns every channel matching p's text and filters (in sc.ms), and
// the interned names its facets use.
func (ix *Index) match(ctx context.Context, p *search.Plan, sc *scratch) ([]match, []string, error) {
	if len(p.Terms) == 0 {
		ix.mu.RLock()
		defer ix.mu.RUnlock()
		f := ix.docs.compile(p)
		out := sc.ms[:0]
		if !f.none {
			for _, e := range ix.docs.all {
				if f.passes(e) {
					out = append(out, match{e: e, id: e.c.ID})
				}
			}
		}
		sc.ms = out
		return out, ix.docs.names, nil
	}
	raw := sc.raw[:0]
	err := ix.visit(ctx, buildQuery(p), p.Sort == search.SortRelevance, func(key int32, score float64) {
		raw = append(raw, rawHit{key: key, score: score})
	})
	sc.raw = raw
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("%w: bleveindex: search: %w", search.ErrUnavailable, err)
	}
	out := sc.ms[:0]
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	f := ix.docs.compile(p)
	if !f.none {
		for _, h := range raw {
			if e := ix.docs.byKeyGet(h.key); e != nil && f.passes(e) {
				out = append(out, match{e: e, id: e.c.ID, score: h.score})
			}
		}
	}
	sc.ms = out
	return out, ix.docs.names, nil
}

// buildQuery builds the bleve query of p's terms from query objects; no
// query-string parser sees user text. Filters are applied in Go (passes):
// the live, mature and hidden filters match most documents, and bleve's
// conjunctions over such dense posting lists cost more than the text itself.
func buildQuery(p *search.Plan) query.Query {
	var must []query.Query
	prefix := p.PrefixTerm()
	for i, t := range p.Terms {
		var any []query.Query
		for _, f := range textFields {
			tq := bleve.NewTermQuery(t)
			tq.SetField(f.name)
			tq.SetBoost(3 * f.boost)
			any = append(any, tq)
		}
		if fz := search.Fuzziness(t); fz > 0 {
			fq := bleve.NewFuzzyQuery(t)
			fq.SetField(fieldAll)
			fq.SetFuzziness(fz)
			fq.SetBoost(1)
			any = append(any, fq)
		}
		if i == len(p.Terms)-1 && prefix != "" {
			pq := bleve.NewPrefixQuery(prefix)
			pq.SetField(fieldAll)
			pq.SetBoost(1.5)
			any = append(any, pq)
		}
		must = append(must, bleve.NewDisjunctionQuery(any...))
	}
	return bleve.NewConjunctionQuery(must...)
}

func sortKey(s search.Sort, m *match) int64 {
	switch s {
	case search.SortViewers:
		return m.e.viewers
	case search.SortRecency:
		return m.e.startedMs
	default:
		return search.ScoreKey(m.score)
	}
}

// less reports whether a ranks before b.
func less(s search.Sort, a, b *match) bool {
	if s == search.SortRelevance {
		if a.score != b.score {
			return a.score > b.score
		}
	} else if a.key != b.key {
		return a.key > b.key
	}
	return a.id < b.id
}

// topK reorders ms so that its first k (or all) matches are the best, in
// rank order, and returns them. It works in place: a bounded heap of the
// worst of the best k at the front of ms, then a sort of those k.
func topK(s search.Sort, ms []match, k int) []match {
	if k <= 0 {
		return nil
	}
	if len(ms) > k {
		h := ms[:k]
		for i := k/2 - 1; i >= 0; i-- {
			siftDown(s, h, i)
		}
		for i := k; i < len(ms); i++ {
			if less(s, &ms[i], &h[0]) {
				h[0] = ms[i]
				siftDown(s, h, 0)
			}
		}
		ms = h
	}
	slices.SortFunc(ms, func(a, b match) int {
		if less(s, &a, &b) {
			return -1
		}
		if less(s, &b, &a) {
			return 1
		}
		return 0
	})
	return ms
}

// siftDown restores the heap below i; the worst-ranked match is on top.
func siftDown(s search.Sort, h []match, i int) {
	for {
		w := i
		if l := 2*i + 1; l < len(h) && less(s, &h[w], &h[l]) {
			w = l
		}
		if r := 2*i + 2; r < len(h) && less(s, &h[w], &h[r]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// countFacets counts categories, languages and tags over ms, on interned
// values.
func countFacets(ms []match, names []string, size int) *search.Facets {
	type acc struct {
		count   []int32
		viewers []int64
		label   []string
	}
	mk := func() acc { return acc{count: make([]int32, len(names)), viewers: make([]int64, len(names))} }
	cats, langs, tags := mk(), mk(), mk()
	cats.label = make([]string, len(names))
	for i := range ms {
		e := ms[i].e
		v := e.viewers
		if e.cat != 0 {
			cats.count[e.cat]++
			cats.viewers[e.cat] += v
			if cats.label[e.cat] == "" {
				cats.label[e.cat] = e.c.CategoryName
			}
		}
		if e.lang != 0 {
			langs.count[e.lang]++
			langs.viewers[e.lang] += v
		}
		for _, t := range e.tags {
			tags.count[t]++
			tags.viewers[t] += v
		}
	}
	top := func(a acc) []search.FacetValue {
		var out []search.FacetValue
		for n, c := range a.count {
			if c == 0 {
				continue
			}
			fv := search.FacetValue{Value: names[n], Count: int(c), Viewers: a.viewers[n]}
			if a.label != nil {
				fv.Label = a.label[n]
			}
			out = append(out, fv)
		}
		return topFacets(out, size)
	}
	return &search.Facets{Categories: top(cats), Languages: top(langs), Tags: top(tags)}
}

func topFacets(out []search.FacetValue, size int) []search.FacetValue {
	slices.SortFunc(out, func(a, b search.FacetValue) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
	return out[:min(size, len(out))]
}

func emptyResult(p *search.Plan) search.Result {
	var res search.Result
	if p.Facets {
		res.Facets = &search.Facets{}
	}
	return res
}

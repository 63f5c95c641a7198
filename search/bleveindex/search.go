package bleveindex

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/internal/snapshot"
)

// match is one matching channel during ranking.
type match struct {
	e     *entry
	doc   *search.Channel
	score float64
	key   int64
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
	matches, names, err := ix.match(ctx, p)
	if err != nil {
		return search.Result{}, err
	}
	defer putMatches(matches)
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
		after := match{key: p.Cursor.Key, score: search.KeyScore(p.Cursor.Key), doc: &search.Channel{ID: p.Cursor.ID}}
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
		res.Hits[i] = search.Hit{Channel: clone(m.doc), Score: m.score}
	}
	if len(ranked) > len(page) && len(page) > 0 {
		last := page[len(page)-1]
		c := &search.Cursor{Sort: p.Sort, Fingerprint: p.Fingerprint, Offset: p.Offset + len(page), Key: last.key, ID: last.doc.ID}
		if p.Cursor == nil {
			e := &snapshot.Entry{Total: res.Total, Facets: res.Facets,
				IDs: make([]string, len(ranked)), Keys: make([]int64, len(ranked)), Scores: make([]float64, len(ranked))}
			for i, m := range ranked {
				e.IDs[i], e.Keys[i], e.Scores[i] = m.doc.ID, m.key, m.score
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

// match returns every channel matching p's text and filters, and the
// interned names its facets use.
func (ix *Index) match(ctx context.Context, p *search.Plan) ([]match, []string, error) {
	if len(p.Terms) == 0 {
		ix.mu.RLock()
		defer ix.mu.RUnlock()
		f := ix.docs.compile(p)
		out := getMatches()
		if f.none {
			return out, ix.docs.names, nil
		}
		for _, e := range ix.docs.all {
			if f.passes(e) {
				out = append(out, match{e: e, doc: e.c})
			}
		}
		return out, ix.docs.names, nil
	}
	hits := getMatches()
	err := ix.visit(ctx, buildQuery(p), p.Sort == search.SortRelevance, func(id string, score float64) {
		hits = append(hits, match{doc: &search.Channel{ID: id}, score: score})
	})
	if err != nil {
		if ctx.Err() != nil {
			putMatches(hits)
			return nil, nil, ctx.Err()
		}
		putMatches(hits)
		return nil, nil, fmt.Errorf("%w: bleveindex: search: %w", search.ErrUnavailable, err)
	}
	out := hits[:0]
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	f := ix.docs.compile(p)
	for _, h := range hits {
		if e, ok := ix.docs.byID[h.doc.ID]; ok && f.passes(e) {
			out = append(out, match{e: e, doc: e.c, score: h.score})
		}
	}
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
	var c int
	if s == search.SortRelevance {
		c = cmp.Compare(b.score, a.score)
	} else {
		c = cmp.Compare(b.key, a.key)
	}
	if c != 0 {
		return c < 0
	}
	return a.doc.ID < b.doc.ID
}

// topK returns the k best matches in rank order.
func topK(s search.Sort, ms []match, k int) []match {
	if k <= 0 {
		return nil
	}
	if len(ms) <= k {
		out := slices.Clone(ms)
		slices.SortFunc(out, func(a, b match) int { return rankCmp(s, &a, &b) })
		return out
	}
	h := &worstHeap{s: s, ms: make([]match, 0, k)}
	for i := range ms {
		if len(h.ms) < k {
			heap.Push(h, ms[i])
		} else if less(s, &ms[i], &h.ms[0]) {
			h.ms[0] = ms[i]
			heap.Fix(h, 0)
		}
	}
	out := h.ms
	slices.SortFunc(out, func(a, b match) int { return rankCmp(s, &a, &b) })
	return out
}

func rankCmp(s search.Sort, a, b *match) int {
	if less(s, a, b) {
		return -1
	}
	if less(s, b, a) {
		return 1
	}
	return 0
}

// worstHeap keeps the worst-ranked match on top.
type worstHeap struct {
	s  search.Sort
	ms []match
}

func (h *worstHeap) Len() int           { return len(h.ms) }
func (h *worstHeap) Less(i, j int) bool { return less(h.s, &h.ms[j], &h.ms[i]) }
func (h *worstHeap) Swap(i, j int)      { h.ms[i], h.ms[j] = h.ms[j], h.ms[i] }
func (h *worstHeap) Push(x any)         { h.ms = append(h.ms, x.(match)) }
func (h *worstHeap) Pop() any {
	x := h.ms[len(h.ms)-1]
	h.ms = h.ms[:len(h.ms)-1]
	return x
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

// matchPool recycles the per-query match slices (up to one per document).
var matchPool sync.Pool

func getMatches() []match {
	if v, ok := matchPool.Get().(*[]match); ok {
		return (*v)[:0]
	}
	return make([]match, 0, 1024)
}

func putMatches(ms []match) {
	clear(ms)
	ms = ms[:0]
	matchPool.Put(&ms)
}

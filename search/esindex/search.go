package esindex

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/olivere/elastic/v7"

	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/internal/snapshot"
)

// Search runs q.
//
// The first page is one search for the ranked ids up to search.MaxDepth
// (sort values only: no _source, no stored fields), the total and the facet
// aggregations; those ids become the cursor's snapshot, and the page is the
// snapshot's first Limit ids, fetched with one _mget from the same refreshed
// view of the index (not realtime, which would force a refresh under a stream
// of viewer-count updates). Later pages slice the snapshot the same way, or —
// when the snapshot is gone — continue with search_after.
func (ix *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	p, err := search.Prepare(q)
	if err != nil {
		return search.Result{}, err
	}
	if err := ix.checkOpen(); err != nil {
		return search.Result{}, err
	}
	if p.MatchNone {
		res := search.Result{}
		if p.Facets {
			res.Facets = &search.Facets{}
		}
		return res, nil
	}
	if p.Cursor == nil {
		return ix.firstPage(ctx, p)
	}
	if e, ok := ix.snaps.Get(p.Cursor.Snapshot); ok {
		return ix.pageFromSnapshot(ctx, p, e, p.Cursor.Snapshot, true)
	}
	return ix.keysetPage(ctx, p)
}

// searchSource is the part of a search every page shares: the query, the
// order and the facets. Scores are computed only when they order the
// results (Hit.Score is 0 for the other orders).
func searchSource(p *search.Plan) *elastic.SearchSource {
	src := elastic.NewSearchSource().Query(buildQuery(p)).SortBy(sorters(p.Sort)...).TrackTotalHits(true)
	if p.Facets {
		for name, agg := range facetAggs(p.FacetSize) {
			src = src.Aggregation(name, agg)
		}
	}
	return src
}

// firstPage ranks the matches once, keeps them as the snapshot and serves
// the first page from it.
func (ix *Index) firstPage(ctx context.Context, p *search.Plan) (search.Result, error) {
	src := searchSource(p).Size(search.MaxDepth).FetchSource(false).StoredFields("_none_")
	sr, err := ix.es.Search(ix.alias).SearchSource(src).
		FilterPath("error", "status", "hits.total", "hits.hits._score", "hits.hits.sort", "aggregations").
		Do(ctx)
	if err != nil {
		return search.Result{}, unavailable("search", err)
	}
	e := &snapshot.Entry{}
	if sr.Hits != nil {
		if sr.Hits.TotalHits != nil {
			e.Total = int(sr.Hits.TotalHits.Value)
		}
		e.IDs = make([]string, 0, len(sr.Hits.Hits))
		e.Keys = make([]int64, 0, len(sr.Hits.Hits))
		e.Scores = make([]float64, 0, len(sr.Hits.Hits))
		for _, h := range sr.Hits.Hits {
			id, ok := lastSortString(h.Sort)
			if !ok {
				return search.Result{}, fmt.Errorf("%w: esindex: a hit without its id sort value", search.ErrUnavailable)
			}
			score := hitScore(p, h)
			e.IDs = append(e.IDs, id)
			e.Keys = append(e.Keys, sortKey(p.Sort, h.Sort, score))
			e.Scores = append(e.Scores, score)
		}
	}
	if p.Facets {
		e.Facets = readFacets(sr.Aggregations)
	}
	var id search.SnapshotID
	if len(e.IDs) > p.Limit {
		id = ix.snaps.Put(e)
	}
	return ix.pageFromSnapshot(ctx, p, e, id, false)
}

func hitScore(p *search.Plan, h *elastic.SearchHit) float64 {
	if p.Sort == search.SortRelevance && h.Score != nil && !math.IsNaN(*h.Score) {
		return *h.Score
	}
	return 0
}

// keysetPage continues after the cursor's position in the current ranking
// (the snapshot is gone).
func (ix *Index) keysetPage(ctx context.Context, p *search.Plan) (search.Result, error) {
	var key any = p.Cursor.Key
	if p.Sort == search.SortRelevance {
		key = search.KeyScore(p.Cursor.Key)
	}
	src := searchSource(p).Size(p.Limit).SearchAfter(key, p.Cursor.ID).
		FetchSourceIncludeExclude(nil, []string{"tags", "tags_text", "hidden", "started_ms"})
	sr, err := ix.es.Search(ix.alias).SearchSource(src).
		FilterPath("error", "status", "hits.total", "hits.hits._source", "hits.hits._score", "hits.hits.sort", "aggregations").
		Do(ctx)
	if err != nil {
		return search.Result{}, unavailable("search", err)
	}
	res := search.Result{}
	if sr.Hits != nil && sr.Hits.TotalHits != nil {
		res.Total = int(sr.Hits.TotalHits.Value)
	}
	if p.Facets {
		res.Facets = readFacets(sr.Aggregations)
	}
	var lastKey int64
	var lastID string
	if sr.Hits != nil {
		for _, h := range sr.Hits.Hits {
			c, err := fromSource(h.Source)
			if err != nil {
				return search.Result{}, err
			}
			score := hitScore(p, h)
			res.Hits = append(res.Hits, search.Hit{Channel: c, Score: score})
			lastKey, lastID = sortKey(p.Sort, h.Sort, score), c.ID
		}
	}
	consumed := p.Offset + len(res.Hits)
	if len(res.Hits) == p.Limit && consumed < search.MaxDepth && consumed < res.Total {
		c := &search.Cursor{Sort: p.Sort, Fingerprint: p.Fingerprint, Offset: consumed, Key: lastKey, ID: lastID}
		// Only continue when something follows.
		res.NextCursor = c.Encode()
	}
	return res, nil
}

// pageFromSnapshot serves the page at p.Offset from a ranking snapshot with
// each channel's current document (realtime: later pages show changes made
// since the snapshot), leaving out channels deleted or no longer passing the
// filters. id names the stored snapshot; zero when it was not stored (the
// ranking ends within the page).
func (ix *Index) pageFromSnapshot(ctx context.Context, p *search.Plan, e *snapshot.Entry, id search.SnapshotID, realtime bool) (search.Result, error) {
	res := search.Result{Total: e.Total, Facets: e.Facets}
	from := min(p.Offset, len(e.IDs))
	to := min(p.Offset+p.Limit, len(e.IDs))
	if to > from {
		mg := ix.es.Mget().Realtime(realtime)
		for _, id := range e.IDs[from:to] {
			mg = mg.Add(elastic.NewMultiGetItem().Index(ix.alias).Id(id))
		}
		mres, err := mg.Do(ctx)
		if err != nil {
			return search.Result{}, unavailable("mget", err)
		}
		for k, d := range mres.Docs {
			if !d.Found {
				continue
			}
			c, err := fromSource(d.Source)
			if err != nil {
				return search.Result{}, err
			}
			if !p.Passes(&c) {
				continue
			}
			res.Hits = append(res.Hits, search.Hit{Channel: c, Score: e.Scores[from+k]})
		}
	}
	if to < len(e.IDs) && to > from && !id.IsZero() {
		c := &search.Cursor{Sort: p.Sort, Fingerprint: p.Fingerprint, Offset: to, Snapshot: id, Key: e.Keys[to-1], ID: e.IDs[to-1]}
		res.NextCursor = c.Encode()
	}
	return res, nil
}

func sorters(s search.Sort) []elastic.Sorter {
	var first elastic.Sorter
	switch s {
	case search.SortViewers:
		first = elastic.NewFieldSort("viewer_count").Desc().Missing("_last")
	case search.SortRecency:
		first = elastic.NewFieldSort("started_ms").Desc().Missing("_last")
	default:
		first = elastic.NewScoreSort().Desc()
	}
	return []elastic.Sorter{first, elastic.NewFieldSort("id").Asc()}
}

// sortKey reads the cursor key from a hit's sort values.
func sortKey(s search.Sort, sortVals []any, score float64) int64 {
	if s == search.SortRelevance {
		return search.ScoreKey(score)
	}
	if len(sortVals) == 0 {
		return 0
	}
	switch v := sortVals[0].(type) {
	case float64:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

func lastSortString(vals []any) (string, bool) {
	if len(vals) == 0 {
		return "", false
	}
	s, ok := vals[len(vals)-1].(string)
	return s, ok
}

// buildQuery builds the query of p's terms and filters from query objects:
// term, fuzzy and prefix queries on analyzed fields, never query_string.
func buildQuery(p *search.Plan) elastic.Query {
	b := elastic.NewBoolQuery()
	prefix := p.PrefixTerm()
	for i, t := range p.Terms {
		any := elastic.NewBoolQuery().MinimumNumberShouldMatch(1)
		for _, f := range []struct {
			name  string
			boost float64
		}{{"display_name", 3}, {"login", 3}, {"title", 2}, {"category_name", 1.5}, {"tags_text", 1.5}} {
			any.Should(elastic.NewTermQuery(f.name, t).Boost(3 * f.boost))
		}
		if fz := search.Fuzziness(t); fz > 0 {
			any.Should(elastic.NewFuzzyQuery("all", t).Fuzziness(fz).PrefixLength(0).MaxExpansions(50).Transpositions(true))
		}
		if i == len(p.Terms)-1 && prefix != "" {
			if len([]rune(prefix)) <= maxGram {
				any.Should(elastic.NewTermQuery("all.prefix", prefix).Boost(1.5))
			} else {
				any.Should(elastic.NewPrefixQuery("all", prefix).Boost(1.5))
			}
		}
		b.Must(any)
	}
	if !p.IncludeHidden {
		b.Filter(elastic.NewTermQuery("hidden", false))
	}
	if p.Live != nil {
		b.Filter(elastic.NewTermQuery("live", *p.Live))
	}
	if p.Mature != nil {
		b.Filter(elastic.NewTermQuery("mature", *p.Mature))
	}
	if len(p.CategoryIDs) > 0 {
		b.Filter(elastic.NewTermsQuery("category_id", toAny(p.CategoryIDs)...))
	}
	if len(p.Languages) > 0 {
		b.Filter(elastic.NewTermsQuery("language", toAny(p.Languages)...))
	}
	for _, t := range p.TagsAll {
		b.Filter(elastic.NewTermQuery("tags", t))
	}
	if len(p.TagsAny) > 0 {
		b.Filter(elastic.NewTermsQuery("tags", toAny(p.TagsAny)...))
	}
	if len(p.Terms) == 0 {
		return elastic.NewConstantScoreQuery(b)
	}
	return b
}

func toAny(vs []string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func facetAggs(size int) map[string]elastic.Aggregation {
	terms := func(field string) *elastic.TermsAggregation {
		return elastic.NewTermsAggregation().Field(field).Size(size).
			Order("_count", false).Order("_key", true).
			SubAggregation("viewers", elastic.NewSumAggregation().Field("viewer_count"))
	}
	return map[string]elastic.Aggregation{
		"categories": terms("category_id").SubAggregation("label", elastic.NewTermsAggregation().Field("category_name.raw").Size(1)),
		"languages":  terms("language"),
		"tags":       terms("tags"),
	}
}

func readFacets(aggs elastic.Aggregations) *search.Facets {
	read := func(name string, label bool) []search.FacetValue {
		t, ok := aggs.Terms(name)
		if !ok {
			return nil
		}
		var out []search.FacetValue
		for _, b := range t.Buckets {
			v := search.FacetValue{Value: fmt.Sprint(b.Key), Count: int(b.DocCount)}
			if s, ok := b.Sum("viewers"); ok && s.Value != nil {
				v.Viewers = int64(*s.Value)
			}
			if label {
				if l, ok := b.Terms("label"); ok && len(l.Buckets) > 0 {
					v.Label = fmt.Sprint(l.Buckets[0].Key)
				}
			}
			out = append(out, v)
		}
		return out
	}
	return &search.Facets{Categories: read("categories", true), Languages: read("languages", false), Tags: read("tags", false)}
}

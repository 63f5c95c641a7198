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

// Search runs q. The first page sends two searches in one _msearch: the page
// itself (with facets and the total) and the ranked ids up to
// search.MaxDepth, kept as the cursor's snapshot.
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
	if p.Cursor != nil {
		if e, ok := ix.snaps.Get(p.Cursor.Snapshot); ok {
			return ix.pageFromSnapshot(ctx, p, e)
		}
	}
	query := buildQuery(p)
	page := elastic.NewSearchSource().Query(query).Size(p.Limit).SortBy(sorters(p.Sort)...).
		TrackTotalHits(true).TrackScores(len(p.Terms) > 0).FetchSourceIncludeExclude(nil, []string{"tags", "tags_text", "hidden", "started_ms"})
	if p.Facets {
		for name, agg := range facetAggs(p.FacetSize) {
			page = page.Aggregation(name, agg)
		}
	}
	if p.Cursor != nil {
		var key any = p.Cursor.Key
		if p.Sort == search.SortRelevance {
			key = search.KeyScore(p.Cursor.Key)
		}
		page = page.SearchAfter(key, p.Cursor.ID)
	}
	ms := ix.es.MultiSearch().FilterPath(
		"responses.error", "responses.status", "responses.hits.total",
		"responses.hits.hits._source", "responses.hits.hits._score", "responses.hits.hits.sort",
		"responses.aggregations",
	).Add(elastic.NewSearchRequest().Index(ix.alias).SearchSource(page))
	first := p.Cursor == nil
	if first {
		ranks := elastic.NewSearchSource().Query(query).Size(search.MaxDepth).SortBy(sorters(p.Sort)...).
			TrackTotalHits(false).TrackScores(len(p.Terms) > 0).FetchSource(false).StoredFields("_none_")
		ms = ms.Add(elastic.NewSearchRequest().Index(ix.alias).SearchSource(ranks))
	}
	mres, err := ms.Do(ctx)
	if err != nil {
		return search.Result{}, unavailable("search", err)
	}
	if len(mres.Responses) == 0 {
		return search.Result{}, fmt.Errorf("%w: esindex: empty _msearch answer", search.ErrUnavailable)
	}
	for _, r := range mres.Responses {
		if r.Error != nil {
			return search.Result{}, fmt.Errorf("%w: esindex: search: %s: %s", search.ErrUnavailable, r.Error.Type, r.Error.Reason)
		}
	}
	pr := mres.Responses[0]
	res := search.Result{}
	if pr.Hits != nil && pr.Hits.TotalHits != nil {
		res.Total = int(pr.Hits.TotalHits.Value)
	}
	if p.Facets {
		res.Facets = readFacets(pr.Aggregations)
	}
	var lastKey int64
	var lastID string
	if pr.Hits != nil {
		for _, h := range pr.Hits.Hits {
			c, err := fromSource(h.Source)
			if err != nil {
				return search.Result{}, err
			}
			score := 0.0
			if h.Score != nil && !math.IsNaN(*h.Score) && len(p.Terms) > 0 {
				score = *h.Score
			}
			res.Hits = append(res.Hits, search.Hit{Channel: c, Score: score})
			lastKey, lastID = sortKey(p.Sort, h.Sort, score), c.ID
		}
	}
	consumed := p.Offset + len(res.Hits)
	if first {
		e := &snapshot.Entry{Total: res.Total, Facets: res.Facets}
		if rr := mres.Responses[1]; rr.Hits != nil {
			for _, h := range rr.Hits.Hits {
				id, _ := lastSortString(h.Sort)
				score := 0.0
				if h.Score != nil && !math.IsNaN(*h.Score) && len(p.Terms) > 0 {
					score = *h.Score
				}
				e.IDs = append(e.IDs, id)
				e.Keys = append(e.Keys, sortKey(p.Sort, h.Sort, score))
				e.Scores = append(e.Scores, score)
			}
		}
		if len(e.IDs) > p.Limit && len(res.Hits) > 0 {
			c := &search.Cursor{Sort: p.Sort, Fingerprint: p.Fingerprint, Offset: p.Limit, Key: e.Keys[p.Limit-1], ID: e.IDs[p.Limit-1]}
			c.Snapshot = ix.snaps.Put(e)
			res.NextCursor = c.Encode()
		}
		return res, nil
	}
	if len(res.Hits) == p.Limit && consumed < search.MaxDepth && consumed < res.Total {
		c := &search.Cursor{Sort: p.Sort, Fingerprint: p.Fingerprint, Offset: consumed, Key: lastKey, ID: lastID}
		// Only continue when something follows.
		res.NextCursor = c.Encode()
	}
	return res, nil
}

// pageFromSnapshot serves a later page from the first page's ranking with
// each channel's current (realtime) document.
func (ix *Index) pageFromSnapshot(ctx context.Context, p *search.Plan, e *snapshot.Entry) (search.Result, error) {
	res := search.Result{Total: e.Total, Facets: e.Facets}
	from := min(p.Offset, len(e.IDs))
	to := min(p.Offset+p.Limit, len(e.IDs))
	if to > from {
		mg := ix.es.Mget().Realtime(true)
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
	if to < len(e.IDs) && to > from {
		c := &search.Cursor{Sort: p.Sort, Fingerprint: p.Fingerprint, Offset: to, Snapshot: p.Cursor.Snapshot, Key: e.Keys[to-1], ID: e.IDs[to-1]}
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

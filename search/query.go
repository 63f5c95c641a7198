package search

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on queries. Anything beyond them is refused with ErrInvalidQuery
// before a backend sees it.
const (
	// MaxTextLen is the longest query text, in bytes.
	MaxTextLen = 256
	// MaxTerms is the most terms a query text may have.
	MaxTerms = 8
	// MaxTermLen is the longest term, in bytes (longer runs of letters are
	// refused: nobody types them, and they make fuzzy matching costly).
	MaxTermLen = 64
	// MinPrefixLen is the shortest last term that is also matched as a prefix.
	MinPrefixLen = 2
	// MaxFilterValues is the most values of one filter (categories, languages,
	// tags all-of, tags any-of).
	MaxFilterValues = 20
	// DefaultLimit is the page size when Query.Limit is 0.
	DefaultLimit = 20
	// MaxLimit is the largest page size.
	MaxLimit = 100
	// MaxDepth is the most results a query may page through (offset + limit).
	MaxDepth = 1000
	// DefaultFacetSize is the number of values per facet when Query.FacetSize
	// is 0.
	DefaultFacetSize = 10
	// MaxFacetSize is the largest facet size.
	MaxFacetSize = 50
)

// Sort orders results.
type Sort string

// Sort orders. Ties break on channel id, ascending.
const (
	// SortDefault is SortRelevance when the query has text, SortViewers otherwise.
	SortDefault Sort = ""
	// SortRelevance orders by text score, best first.
	SortRelevance Sort = "relevance"
	// SortViewers orders by viewer count, most first.
	SortViewers Sort = "viewers"
	// SortRecency orders by start time, newest first.
	SortRecency Sort = "recency"
)

// Query is a search request.
type Query struct {
	// Text is plain text matched against title, login, display name,
	// category name and tags (see the package doc). Empty matches everything.
	Text string
	// Live filters on the live flag when set.
	Live *bool
	// CategoryIDs keeps channels in any of these categories.
	CategoryIDs []string
	// Languages keeps channels in any of these languages.
	Languages []string
	// TagsAll keeps channels that have every one of these tags (streamer or
	// Smart Tags).
	TagsAll []string
	// TagsAny keeps channels that have at least one of these tags.
	TagsAny []string
	// Mature filters on the mature flag when set.
	Mature *bool
	// IncludeHidden also returns channels hidden by a safety flag.
	IncludeHidden bool
	// Sort is the order. It defaults to SortDefault.
	Sort Sort
	// Facets asks for category, language and tag counts over every match.
	Facets bool
	// FacetSize is the number of values per facet. It defaults to
	// DefaultFacetSize and may be at most MaxFacetSize.
	FacetSize int
	// Limit is the page size. It defaults to DefaultLimit and may be at most
	// MaxLimit.
	Limit int
	// Cursor continues from a previous Result.NextCursor; empty for the
	// first page. Untrusted: it is parsed strictly.
	Cursor string
}

// Result is one page of a search.
type Result struct {
	// Hits are the page's channels, in order.
	Hits []Hit
	// Total is the number of matching channels.
	Total int
	// Facets holds the counts when Query.Facets was set.
	Facets *Facets
	// NextCursor fetches the next page; empty on the last page.
	NextCursor string
}

// Hit is one result.
type Hit struct {
	Channel
	// Score is the text relevance score when results sort by relevance;
	// it is 0 without text and for the other orders (backends skip scoring
	// when it does not decide the order). Scores are comparable within one
	// result only.
	Score float64
}

// Facets holds counts per value over every match of a query.
type Facets struct {
	Categories []FacetValue
	Languages  []FacetValue
	Tags       []FacetValue
}

// FacetValue is one facet bucket. Buckets are ordered by count, most first,
// then by value.
type FacetValue struct {
	// Value is the category id, language or tag.
	Value string
	// Label is the category name for category buckets, else empty.
	Label string
	// Count is the number of matching channels with the value.
	Count int
	// Viewers is the sum of their viewer counts.
	Viewers int64
}

// Plan is a validated, normalized Query ready for a backend.
type Plan struct {
	Query
	// Terms are the lower-cased text terms (see Terms).
	Terms []string
	// Offset is where the page starts in the ranking.
	Offset int
	// Cursor is the parsed cursor, nil on a first page.
	Cursor *Cursor
	// Fingerprint identifies the query apart from cursor and page size.
	Fingerprint uint64
	// MatchNone is set when the text has characters but no terms (such as
	// "/.*/"): as plain text it matches nothing.
	MatchNone bool
}

// PrefixTerm returns the last term when it is at least MinPrefixLen bytes
// long (matched as a prefix too), else "".
func (p *Plan) PrefixTerm() string {
	if len(p.Terms) == 0 {
		return ""
	}
	if t := p.Terms[len(p.Terms)-1]; utf8.RuneCountInString(t) >= MinPrefixLen {
		return t
	}
	return ""
}

// Fuzziness returns the edit distance a term is matched within: 0 for terms
// of up to 2 characters, 1 up to 5, 2 beyond (Elasticsearch's AUTO).
func Fuzziness(term string) int {
	switch n := utf8.RuneCountInString(term); {
	case n <= 2:
		return 0
	case n <= 5:
		return 1
	default:
		return 2
	}
}

// Terms splits text into lower-cased terms: maximal runs of letters, digits
// and combining marks. Every other character separates terms, so query
// syntax such as `title:*`, `/.*/` or `a~99` is plain words here.
func Terms(text string) []string {
	var out []string
	for f := range strings.FieldsFuncSeq(text, func(r rune) bool { return !isTermRune(r) }) {
		out = append(out, strings.ToLower(f))
	}
	return out
}

func isTermRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// TermPattern is the regular expression (RE2 and Java syntax) of one term;
// backends configure their analyzers with it so indexing splits text the way
// Terms does.
const TermPattern = `[\p{L}\p{N}\p{Mn}]+`

// Prepare validates q and returns its plan. Errors match ErrInvalidQuery.
func Prepare(q Query) (*Plan, error) {
	if len(q.Text) > MaxTextLen {
		return nil, queryErr("text", fmt.Sprintf("longer than %d bytes", MaxTextLen))
	}
	if !utf8.ValidString(q.Text) {
		return nil, queryErr("text", "not valid UTF-8")
	}
	p := &Plan{Query: q}
	p.Terms = Terms(q.Text)
	p.MatchNone = len(p.Terms) == 0 && strings.TrimSpace(q.Text) != ""
	if len(p.Terms) > MaxTerms {
		return nil, queryErr("text", fmt.Sprintf("more than %d terms", MaxTerms))
	}
	for _, t := range p.Terms {
		if len(t) > MaxTermLen {
			return nil, queryErr("text", fmt.Sprintf("a term is longer than %d bytes", MaxTermLen))
		}
	}
	var err error
	if p.CategoryIDs, err = filterValues("category_ids", q.CategoryIDs, false); err != nil {
		return nil, err
	}
	if p.Languages, err = filterValues("languages", q.Languages, true); err != nil {
		return nil, err
	}
	if p.TagsAll, err = filterValues("tags_all", q.TagsAll, true); err != nil {
		return nil, err
	}
	if p.TagsAny, err = filterValues("tags_any", q.TagsAny, true); err != nil {
		return nil, err
	}
	switch q.Sort {
	case SortDefault:
		p.Sort = SortViewers
		if len(p.Terms) > 0 {
			p.Sort = SortRelevance
		}
	case SortRelevance, SortViewers, SortRecency:
	default:
		return nil, queryErr("sort", fmt.Sprintf("unknown order %q", clip(string(q.Sort))))
	}
	switch {
	case q.Limit < 0 || q.Limit > MaxLimit:
		return nil, queryErr("limit", fmt.Sprintf("must be between 1 and %d", MaxLimit))
	case q.Limit == 0:
		p.Limit = DefaultLimit
	}
	switch {
	case q.FacetSize < 0 || q.FacetSize > MaxFacetSize:
		return nil, queryErr("facet_size", fmt.Sprintf("must be between 1 and %d", MaxFacetSize))
	case q.FacetSize == 0:
		p.FacetSize = DefaultFacetSize
	}
	p.Fingerprint = p.fingerprint()
	if q.Cursor != "" {
		c, err := DecodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		if c.Fingerprint != p.Fingerprint {
			return nil, cursorErr("belongs to another query")
		}
		if c.Sort != p.Sort {
			return nil, cursorErr("belongs to another sort order")
		}
		p.Cursor = c
		p.Offset = c.Offset
	}
	if p.Offset+p.Limit > MaxDepth {
		return nil, &QueryError{Field: "cursor", Reason: fmt.Sprintf("results beyond the first %d are not served; narrow the query", MaxDepth), kind: ErrTooDeep}
	}
	return p, nil
}

func filterValues(field string, vs []string, lower bool) ([]string, error) {
	if len(vs) > MaxFilterValues {
		return nil, queryErr(field, fmt.Sprintf("more than %d values", MaxFilterValues))
	}
	if len(vs) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if !utf8.ValidString(v) {
			return nil, queryErr(field, "a value is not valid UTF-8")
		}
		v = strings.TrimSpace(v)
		if lower {
			v = strings.ToLower(v)
		}
		if v == "" {
			return nil, queryErr(field, "empty value")
		}
		if len(v) > MaxTagLen || !utf8.ValidString(v) {
			return nil, queryErr(field, fmt.Sprintf("a value is longer than %d bytes or not valid UTF-8", MaxTagLen))
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out, nil
}

func clip(s string) string {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// fingerprint hashes everything that decides the ranking and the matched set.
func (p *Plan) fingerprint() uint64 {
	h := fnv.New64a()
	w := func(s string) {
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	tri := func(b *bool) string {
		if b == nil {
			return "-"
		}
		if *b {
			return "1"
		}
		return "0"
	}
	w("v1")
	w(strings.Join(p.Terms, " "))
	w(fmt.Sprint(p.MatchNone))
	w(tri(p.Live))
	w(tri(p.Mature))
	w(fmt.Sprint(p.IncludeHidden))
	w(string(p.Sort))
	for _, l := range [][]string{p.CategoryIDs, p.Languages, p.TagsAll, p.TagsAny} {
		w(strings.Join(l, "\x00"))
	}
	return h.Sum64()
}

// Passes reports whether c passes the plan's filters (not its text).
func (p *Plan) Passes(c *Channel) bool {
	if !p.IncludeHidden && c.Hidden() {
		return false
	}
	if p.Live != nil && c.Live != *p.Live {
		return false
	}
	if p.Mature != nil && c.Mature != *p.Mature {
		return false
	}
	if len(p.CategoryIDs) > 0 && !slices.Contains(p.CategoryIDs, c.CategoryID) {
		return false
	}
	if len(p.Languages) > 0 && !slices.Contains(p.Languages, c.Language) {
		return false
	}
	has := func(t string) bool { return slices.Contains(c.StreamerTags, t) || slices.Contains(c.SmartTags, t) }
	for _, t := range p.TagsAll {
		if !has(t) {
			return false
		}
	}
	if len(p.TagsAny) > 0 && !slices.ContainsFunc(p.TagsAny, has) {
		return false
	}
	return true
}

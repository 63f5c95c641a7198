package search

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTerms(t *testing.T) {
	for _, ca := range []struct {
		text string
		want []string
	}{
		{"Minecraft Speedrun", []string{"minecraft", "speedrun"}},
		{"title:* OR _exists_:x", []string{"title", "or", "exists", "x"}},
		{"/.*/", nil},
		{"a~99", []string{"a", "99"}},
		{"Pokémon  ÉTÉ", []string{"pokémon", "été"}},
		{"日本語 配信", []string{"日本語", "配信"}},
	} {
		require.Equal(t, ca.want, Terms(ca.text), ca.text)
	}
}

func TestPrepare(t *testing.T) {
	p, err := Prepare(Query{Text: "Mine"})
	require.NoError(t, err)
	require.Equal(t, SortRelevance, p.Sort)
	require.Equal(t, DefaultLimit, p.Limit)
	require.Equal(t, "mine", p.PrefixTerm())
	p, err = Prepare(Query{})
	require.NoError(t, err)
	require.Equal(t, SortViewers, p.Sort)

	for _, ca := range []struct {
		name string
		q    Query
		kind error
	}{
		{"long text", Query{Text: strings.Repeat("a ", MaxTextLen)}, ErrInvalidQuery},
		{"invalid utf8", Query{Text: "abc\xff"}, ErrInvalidQuery},
		{"many terms", Query{Text: "a b c d e f g h i j"}, ErrInvalidQuery},
		{"long term", Query{Text: strings.Repeat("a", MaxTermLen+1)}, ErrInvalidQuery},
		{"limit", Query{Limit: MaxLimit + 1}, ErrInvalidQuery},
		{"negative limit", Query{Limit: -1}, ErrInvalidQuery},
		{"sort", Query{Sort: "_script"}, ErrInvalidQuery},
		{"facet size", Query{FacetSize: 1000}, ErrInvalidQuery},
		{"many tags", Query{TagsAny: strings.Split(strings.Repeat("x,", MaxFilterValues+1), ",")}, ErrInvalidQuery},
		{"empty tag", Query{TagsAll: []string{" "}}, ErrInvalidQuery},
		{"garbage cursor", Query{Cursor: "title:* OR _exists_:x"}, ErrInvalidCursor},
		{"other query's cursor", Query{Text: "b", Cursor: (&Cursor{Sort: SortRelevance, Offset: 20, ID: "x"}).Encode()}, ErrInvalidCursor},
		{"deep", Query{Limit: 100, Cursor: (&Cursor{Sort: SortViewers, Fingerprint: mustFP(t, Query{}), Offset: 950, ID: "x"}).Encode()}, ErrTooDeep},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := Prepare(ca.q)
			require.Error(t, err)
			require.True(t, errors.Is(err, ca.kind), "%v", err)
			var qe *QueryError
			require.True(t, errors.As(err, &qe))
		})
	}
}

func mustFP(t *testing.T, q Query) uint64 {
	p, err := Prepare(q)
	require.NoError(t, err)
	return p.Fingerprint
}

func TestPatch(t *testing.T) {
	c := Channel{ID: "c1", Title: "old", ViewerCount: 3, StreamerTags: []string{"a"}}
	p := Patch{Title: Ptr("new")}
	got := p.Apply(c)
	require.Equal(t, "new", got.Title)
	require.Equal(t, int64(3), got.ViewerCount)
	require.False(t, p.OnlyViewerCount())
	require.True(t, Patch{ViewerCount: Ptr(int64(9))}.OnlyViewerCount())
	require.True(t, Patch{}.Empty())
	full := FullPatch(Channel{ID: "c1", Title: "t", SmartTags: []string{"x"}})
	require.Equal(t, Channel{Title: "t", SmartTags: []string{"x"}}, full.Apply(Channel{Title: "z", Mature: true}))
}

func TestChannelTagsAndNormalize(t *testing.T) {
	c := Channel{ID: "c", StreamerTags: []string{" FPS", "fps", "English"}, SmartTags: []string{"fps", "Speedrun"}}.Normalize()
	require.Equal(t, []string{"fps", "english"}, c.StreamerTags)
	require.Equal(t, []string{"fps", "english", "speedrun"}, c.Tags())
	require.Equal(t, SafetyVisible, c.Safety)
	require.NoError(t, c.Validate())
	require.ErrorIs(t, Channel{ID: "a b"}.Validate(), ErrInvalidDocument)
	require.ErrorIs(t, Channel{ID: "a", Safety: "weird"}.Validate(), ErrInvalidDocument)
}

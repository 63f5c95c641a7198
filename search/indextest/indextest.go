// Package indextest contains the conformance suite every search.Index backend
// passes, a deterministic generator of realistic channel documents, and the
// shared benchmarks.
package indextest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/search"
)

// Factory returns a new, empty index for one test. It registers the index's
// cleanup with t (ignoring search.ErrClosed, since some tests close it).
type Factory func(t *testing.T) search.Index

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// fixtures is the small corpus most tests search.
func fixtures() []search.Channel {
	return []search.Channel{
		{ID: "c01", Login: "speedyfox", DisplayName: "SpeedyFox", Title: "Minecraft speedrun world record attempts", CategoryID: "cat-mc", CategoryName: "Minecraft", Language: "en", StreamerTags: []string{"Speedrun", "English"}, SmartTags: []string{"gameplay"}, Live: true, StartedAt: t0.Add(1 * time.Minute), ViewerCount: 500, ThumbnailURL: "https://t/c01.jpg"},
		{ID: "c02", Login: "blockbuilder", DisplayName: "BlockBuilder", Title: "Chill survival building a castle", CategoryID: "cat-mc", CategoryName: "Minecraft", Language: "en", StreamerTags: []string{"chill", "english"}, SmartTags: []string{"building"}, Live: true, StartedAt: t0.Add(2 * time.Minute), ViewerCount: 120},
		{ID: "c03", Login: "valkyrie", DisplayName: "Valkyrie", Title: "Ranked grind to diamond", CategoryID: "cat-val", CategoryName: "Valorant", Language: "de", StreamerTags: []string{"competitive", "fps"}, SmartTags: []string{"shooter"}, Live: true, StartedAt: t0.Add(3 * time.Minute), ViewerCount: 900},
		{ID: "c04", Login: "pixelchef", DisplayName: "PixelChef", Title: "Cooking pasta and chatting", CategoryID: "cat-chat", CategoryName: "Just Chatting", Language: "fr", StreamerTags: []string{"irl"}, SmartTags: []string{"cooking", "webcam"}, Live: true, StartedAt: t0.Add(4 * time.Minute), ViewerCount: 75},
		{ID: "c05", Login: "nightowl", DisplayName: "NightOwl", Title: "Late night horror games", CategoryID: "cat-horror", CategoryName: "Phasmophobia", Language: "en", StreamerTags: []string{"horror", "english"}, Mature: true, Live: true, StartedAt: t0.Add(5 * time.Minute), ViewerCount: 300},
		{ID: "c06", Login: "offlineguy", DisplayName: "OfflineGuy", Title: "Minecraft hardcore day 100", CategoryID: "cat-mc", CategoryName: "Minecraft", Language: "en", StreamerTags: []string{"hardcore"}, Live: false, StartedAt: t0.Add(-time.Hour), ViewerCount: 0},
		{ID: "c07", Login: "hiddenone", DisplayName: "HiddenOne", Title: "Minecraft speedrun practice", CategoryID: "cat-mc", CategoryName: "Minecraft", Language: "en", StreamerTags: []string{"speedrun"}, Live: true, StartedAt: t0.Add(6 * time.Minute), ViewerCount: 800, Safety: search.SafetyHidden},
		{ID: "c08", Login: "tiedup_a", DisplayName: "TiedA", Title: "Art stream drawing commissions", CategoryID: "cat-art", CategoryName: "Art", Language: "es", StreamerTags: []string{"art", "chill"}, SmartTags: []string{"drawing"}, Live: true, StartedAt: t0.Add(7 * time.Minute), ViewerCount: 120},
		{ID: "c09", Login: "tiedup_b", DisplayName: "TiedB", Title: "Piano covers on request", CategoryID: "cat-music", CategoryName: "Music", Language: "es", StreamerTags: []string{"music", "chill"}, SmartTags: []string{"piano"}, Live: true, StartedAt: t0.Add(8 * time.Minute), ViewerCount: 120},
		{ID: "c10", Login: "retrokid", DisplayName: "RetroKid", Title: "Super Mario 64 any% glitchless", CategoryID: "cat-sm64", CategoryName: "Super Mario 64", Language: "en", StreamerTags: []string{"speedrun", "retro"}, Live: true, StartedAt: t0.Add(9 * time.Minute), ViewerCount: 42},
	}
}

func load(t *testing.T, ix search.Index, chs []search.Channel) {
	t.Helper()
	ctx := context.Background()
	ops := make([]search.Op, len(chs))
	for i, c := range chs {
		ops[i] = search.Op{ID: c.ID, Patch: search.FullPatch(c)}
	}
	require.NoError(t, ix.Bulk(ctx, ops))
	require.NoError(t, ix.Refresh(ctx))
}

func ids(res search.Result) []string {
	if len(res.Hits) == 0 {
		return nil
	}
	out := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = h.ID
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func yes() *bool { return search.Ptr(true) }
func no() *bool  { return search.Ptr(false) }

// Run runs the conformance suite against indexes made by newIndex.
func Run(t *testing.T, newIndex Factory) {
	ctx := context.Background()

	t.Run("UpsertGet", func(t *testing.T) {
		ix := newIndex(t)
		c := fixtures()[0]
		require.NoError(t, ix.Upsert(ctx, c.ID, search.FullPatch(c)))
		got, err := ix.Get(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, c.Normalize(), got)
		require.Equal(t, []string{"speedrun", "english"}, got.StreamerTags)
		require.Equal(t, []string{"speedrun", "english", "gameplay"}, got.Tags())
		_, err = ix.Get(ctx, "nope")
		require.ErrorIs(t, err, search.ErrNotFound)
	})

	t.Run("PartialUpdate", func(t *testing.T) {
		ix := newIndex(t)
		c := fixtures()[0]
		require.NoError(t, ix.Upsert(ctx, c.ID, search.FullPatch(c)))
		require.NoError(t, ix.Upsert(ctx, c.ID, search.Patch{Title: search.Ptr("Now playing Terraria")}))
		require.NoError(t, ix.Upsert(ctx, c.ID, search.Patch{ViewerCount: search.Ptr(int64(1234))}))
		require.NoError(t, ix.Upsert(ctx, c.ID, search.Patch{SmartTags: &[]string{"Building"}}))
		require.NoError(t, ix.Upsert(ctx, c.ID, search.Patch{}))
		got, err := ix.Get(ctx, c.ID)
		require.NoError(t, err)
		want := c.Normalize()
		want.Title = "Now playing Terraria"
		want.ViewerCount = 1234
		want.SmartTags = []string{"building"}
		require.Equal(t, want, got)

		// An upsert of a missing channel creates it from the patch.
		require.NoError(t, ix.Upsert(ctx, "fresh", search.Patch{Title: search.Ptr("hello world"), Live: yes()}))
		got, err = ix.Get(ctx, "fresh")
		require.NoError(t, err)
		require.Equal(t, search.Channel{ID: "fresh", Title: "hello world", Live: true, Safety: search.SafetyVisible}, got)
		require.NoError(t, ix.Refresh(ctx))
		res, err := ix.Search(ctx, search.Query{Text: "terraria"})
		require.NoError(t, err)
		require.Equal(t, []string{c.ID}, ids(res))
		require.Equal(t, int64(1234), res.Hits[0].ViewerCount)
		res, err = ix.Search(ctx, search.Query{Text: "minecraft speedrun world"})
		require.NoError(t, err)
		require.Empty(t, res.Hits, "the old title is no longer searchable")
	})

	t.Run("Delete", func(t *testing.T) {
		ix := newIndex(t)
		load(t, ix, fixtures())
		require.NoError(t, ix.Delete(ctx, "c01"))
		require.NoError(t, ix.Delete(ctx, "c01"), "deleting twice is fine")
		require.NoError(t, ix.Delete(ctx, "never-was"))
		_, err := ix.Get(ctx, "c01")
		require.ErrorIs(t, err, search.ErrNotFound)
		require.NoError(t, ix.Refresh(ctx))
		res, err := ix.Search(ctx, search.Query{Text: "speedyfox"})
		require.NoError(t, err)
		require.Empty(t, res.Hits)
	})

	t.Run("Bulk", func(t *testing.T) {
		ix := newIndex(t)
		err := ix.Bulk(ctx, []search.Op{
			{ID: "b1", Patch: search.Patch{Title: search.Ptr("first")}},
			{ID: "b1", Patch: search.Patch{ViewerCount: search.Ptr(int64(7))}},
			{ID: "b2", Patch: search.Patch{Title: search.Ptr("gone soon")}},
			{ID: "b2", Delete: true},
			{ID: "bad id!", Patch: search.Patch{Title: search.Ptr("x")}},
			{ID: "b3", Patch: search.Patch{Safety: search.Ptr(search.Safety("weird"))}},
			{ID: "b4", Delete: true},
			{ID: "b4", Patch: search.Patch{Title: search.Ptr("back")}},
		})
		var be *search.BulkError
		require.ErrorAs(t, err, &be)
		require.Len(t, be.Failed, 2)
		require.ErrorIs(t, be.Failed[4], search.ErrInvalidDocument)
		require.ErrorIs(t, be.Failed[5], search.ErrInvalidDocument)
		require.ErrorIs(t, err, search.ErrInvalidDocument)
		got, err := ix.Get(ctx, "b1")
		require.NoError(t, err)
		require.Equal(t, "first", got.Title)
		require.Equal(t, int64(7), got.ViewerCount)
		_, err = ix.Get(ctx, "b2")
		require.ErrorIs(t, err, search.ErrNotFound)
		_, err = ix.Get(ctx, "b3")
		require.ErrorIs(t, err, search.ErrNotFound)
		got, err = ix.Get(ctx, "b4")
		require.NoError(t, err)
		require.Equal(t, "back", got.Title)
		require.ErrorIs(t, ix.Upsert(ctx, strings.Repeat("x", search.MaxIDLen+1), search.Patch{Live: yes()}), search.ErrInvalidDocument)
		require.ErrorIs(t, ix.Upsert(ctx, "big", search.Patch{Title: search.Ptr(strings.Repeat("x", search.MaxFieldLen+1))}), search.ErrInvalidDocument)
	})

	t.Run("Text", func(t *testing.T) {
		ix := newIndex(t)
		load(t, ix, fixtures())
		for _, ca := range []struct {
			name, text string
			want       []string // as a set
		}{
			{"title word", "castle", []string{"c02"}},
			{"case folding", "CASTLE", []string{"c02"}},
			{"all terms must match", "minecraft castle", []string{"c02"}},
			{"login", "pixelchef", []string{"c04"}},
			{"category name", "valorant", []string{"c03"}},
			{"streamer tag", "horror", []string{"c05"}},
			{"smart tag", "piano", []string{"c09"}},
			{"typo one edit", "valorabt", []string{"c03"}},
			{"typo two edits", "glitchles", []string{"c10"}},
			{"typo transposition", "catsle", []string{"c02"}},
			{"prefix as you type", "speedr", []string{"c01", "c10"}},
			{"prefix of last term only", "chill cas", []string{"c02"}},
			{"hidden left out", "practice", nil},
			{"offline included without live filter", "hardcore", []string{"c06"}},
			{"no match", "zzzzqqq", nil},
		} {
			t.Run(ca.name, func(t *testing.T) {
				res, err := ix.Search(ctx, search.Query{Text: ca.text})
				require.NoError(t, err)
				require.Equal(t, sorted(ca.want), sorted(ids(res)), "query %q", ca.text)
				require.Equal(t, len(ca.want), res.Total)
			})
		}
		res, err := ix.Search(ctx, search.Query{Text: "practice", IncludeHidden: true})
		require.NoError(t, err)
		require.Equal(t, []string{"c07"}, ids(res))
	})

	t.Run("Filters", func(t *testing.T) {
		ix := newIndex(t)
		load(t, ix, fixtures())
		for _, ca := range []struct {
			name string
			q    search.Query
			want []string
		}{
			{"everything visible", search.Query{}, []string{"c01", "c02", "c03", "c04", "c05", "c06", "c08", "c09", "c10"}},
			{"live", search.Query{Live: yes()}, []string{"c01", "c02", "c03", "c04", "c05", "c08", "c09", "c10"}},
			{"offline", search.Query{Live: no()}, []string{"c06"}},
			{"category", search.Query{CategoryIDs: []string{"cat-mc"}}, []string{"c01", "c02", "c06"}},
			{"categories any", search.Query{CategoryIDs: []string{"cat-art", "cat-music"}}, []string{"c08", "c09"}},
			{"language", search.Query{Languages: []string{"ES"}}, []string{"c08", "c09"}},
			{"tags all", search.Query{TagsAll: []string{"chill", "music"}}, []string{"c09"}},
			{"tags all across kinds", search.Query{TagsAll: []string{"english", "gameplay"}}, []string{"c01"}},
			{"tags any", search.Query{TagsAny: []string{"horror", "Piano"}}, []string{"c05", "c09"}},
			{"not mature", search.Query{Mature: no(), Live: yes(), Languages: []string{"en"}}, []string{"c01", "c02", "c10"}},
			{"mature", search.Query{Mature: yes()}, []string{"c05"}},
			{"hidden included", search.Query{IncludeHidden: true, TagsAll: []string{"speedrun"}}, []string{"c01", "c07", "c10"}},
			{"text and filters", search.Query{Text: "minecraft", Live: yes()}, []string{"c01", "c02"}},
			{"filter value is not syntax", search.Query{CategoryIDs: []string{"*"}}, nil},
		} {
			t.Run(ca.name, func(t *testing.T) {
				res, err := ix.Search(ctx, ca.q)
				require.NoError(t, err)
				require.Equal(t, sorted(ca.want), sorted(ids(res)))
				require.Equal(t, len(ca.want), res.Total)
			})
		}
	})

	t.Run("Sort", func(t *testing.T) {
		ix := newIndex(t)
		load(t, ix, fixtures())
		res, err := ix.Search(ctx, search.Query{Live: yes()})
		require.NoError(t, err)
		require.Equal(t, []string{"c03", "c01", "c05", "c02", "c08", "c09", "c04", "c10"}, ids(res), "viewers desc, ties by id")
		res, err = ix.Search(ctx, search.Query{Live: yes(), Sort: search.SortRecency})
		require.NoError(t, err)
		require.Equal(t, []string{"c10", "c09", "c08", "c05", "c04", "c03", "c02", "c01"}, ids(res))
		res, err = ix.Search(ctx, search.Query{Text: "minecraft", Sort: search.SortViewers})
		require.NoError(t, err)
		require.Equal(t, []string{"c01", "c02", "c06"}, ids(res))
		res, err = ix.Search(ctx, search.Query{Text: "speedyfox"})
		require.NoError(t, err)
		require.Equal(t, "c01", ids(res)[0])
		// Relevance: a login match outranks a fuzzy title match.
		res, err = ix.Search(ctx, search.Query{Text: "retrokid"})
		require.NoError(t, err)
		require.Equal(t, "c10", ids(res)[0])
		require.Greater(t, res.Hits[0].Score, 0.0)
		for i := 1; i < len(res.Hits); i++ {
			require.GreaterOrEqual(t, res.Hits[i-1].Score, res.Hits[i].Score)
		}
	})

	t.Run("Facets", func(t *testing.T) {
		ix := newIndex(t)
		load(t, ix, fixtures())
		res, err := ix.Search(ctx, search.Query{Live: yes(), Facets: true, Limit: 1})
		require.NoError(t, err)
		require.Equal(t, 8, res.Total)
		require.NotNil(t, res.Facets)
		f := res.Facets
		require.Equal(t, search.FacetValue{Value: "cat-mc", Label: "Minecraft", Count: 2, Viewers: 620}, f.Categories[0])
		require.Len(t, f.Categories, 7)
		require.Equal(t, []search.FacetValue{
			{Value: "en", Count: 4, Viewers: 962}, {Value: "es", Count: 2, Viewers: 240},
			{Value: "de", Count: 1, Viewers: 900}, {Value: "fr", Count: 1, Viewers: 75},
		}, f.Languages)
		require.Equal(t, search.FacetValue{Value: "chill", Count: 3, Viewers: 360}, f.Tags[0])
		require.Equal(t, search.FacetValue{Value: "english", Count: 3, Viewers: 920}, f.Tags[1])
		require.Equal(t, search.FacetValue{Value: "speedrun", Count: 2, Viewers: 542}, f.Tags[2])
		res, err = ix.Search(ctx, search.Query{Text: "minecraft", Facets: true, FacetSize: 1})
		require.NoError(t, err)
		require.Equal(t, []search.FacetValue{{Value: "cat-mc", Label: "Minecraft", Count: 3, Viewers: 620}}, res.Facets.Categories)
		require.Equal(t, []search.FacetValue{{Value: "english", Count: 2, Viewers: 620}}, res.Facets.Tags)
		res, err = ix.Search(ctx, search.Query{})
		require.NoError(t, err)
		require.Nil(t, res.Facets)
	})

	t.Run("Pagination", func(t *testing.T) {
		ix := newIndex(t)
		load(t, ix, fixtures())
		all, err := ix.Search(ctx, search.Query{Live: yes(), Limit: 100})
		require.NoError(t, err)
		require.Empty(t, all.NextCursor)
		var got []string
		q := search.Query{Live: yes(), Limit: 3, Facets: true}
		for range 10 {
			res, err := ix.Search(ctx, q)
			require.NoError(t, err)
			require.Equal(t, 8, res.Total)
			require.NotNil(t, res.Facets)
			got = append(got, ids(res)...)
			if res.NextCursor == "" {
				break
			}
			q.Cursor = res.NextCursor
		}
		require.Equal(t, ids(all), got)

		// Stable while viewer counts change: reverse the ranking between
		// pages; the pages still cover every channel once, in the first
		// page's order.
		q = search.Query{Live: yes(), Limit: 3}
		first, err := ix.Search(ctx, q)
		require.NoError(t, err)
		got = ids(first)
		for i, id := range ids(all) {
			require.NoError(t, ix.Upsert(ctx, id, search.Patch{ViewerCount: search.Ptr(int64(i * 1000))}))
		}
		require.NoError(t, ix.Refresh(ctx))
		q.Cursor = first.NextCursor
		for q.Cursor != "" {
			res, err := ix.Search(ctx, q)
			require.NoError(t, err)
			got = append(got, ids(res)...)
			q.Cursor = res.NextCursor
		}
		require.Equal(t, ids(all), got)
		res, err := ix.Search(ctx, search.Query{Live: yes(), Limit: 3})
		require.NoError(t, err)
		require.Equal(t, "c10", ids(res)[0], "a new first page sees the new counts")

		// A cursor belongs to its query.
		_, err = ix.Search(ctx, search.Query{Live: no(), Limit: 3, Cursor: first.NextCursor})
		require.ErrorIs(t, err, search.ErrInvalidCursor)
		// Text queries page too.
		res, err = ix.Search(ctx, search.Query{Text: "minecraft", Limit: 2})
		require.NoError(t, err)
		require.Len(t, res.Hits, 2)
		res2, err := ix.Search(ctx, search.Query{Text: "minecraft", Limit: 2, Cursor: res.NextCursor})
		require.NoError(t, err)
		require.Len(t, res2.Hits, 1)
		require.Empty(t, res2.NextCursor)
		require.NotContains(t, ids(res), ids(res2)[0])
	})

	t.Run("KeysetFallback", func(t *testing.T) {
		// A cursor whose snapshot this process does not hold (another
		// replica's, or expired) continues after its keyset position.
		ix := newIndex(t)
		load(t, ix, fixtures())
		p, err := search.Prepare(search.Query{Live: yes(), Limit: 3})
		require.NoError(t, err)
		c := &search.Cursor{Sort: search.SortViewers, Fingerprint: p.Fingerprint, Offset: 3, Snapshot: search.NewSnapshotID(), Key: 300, ID: "c05"}
		res, err := ix.Search(ctx, search.Query{Live: yes(), Limit: 3, Cursor: c.Encode()})
		require.NoError(t, err)
		require.Equal(t, []string{"c02", "c08", "c09"}, ids(res))
		require.NotEmpty(t, res.NextCursor)
		res, err = ix.Search(ctx, search.Query{Live: yes(), Limit: 3, Cursor: res.NextCursor})
		require.NoError(t, err)
		require.Equal(t, []string{"c04", "c10"}, ids(res))
		require.Empty(t, res.NextCursor)
	})

	t.Run("Hostile", func(t *testing.T) {
		ix := newIndex(t)
		load(t, ix, fixtures())
		// Query syntax is plain text: these match nothing in the corpus
		// (none has all of their words), never everything.
		for _, text := range []string{
			`title:* OR _exists_:x`, `/.*/`, `a~99`, `*`, `?`, `title:minecraft AND NOT x`,
			`minecraft^1000 OR *:*`, `(((((`, `"unclosed`, `\`, `{"query":{"match_all":{}}}`,
			`<script>alert(1)</script>`, `login:speedyfox`, `_id:c01`, "\x00\x01\x02", `.*.*.*.*.*.*=~`,
			`minecraft)) OR ((_exists_:title`, `%00`, `'; DROP TABLE channels; --`,
		} {
			res, err := ix.Search(ctx, search.Query{Text: text, Facets: true})
			if err != nil {
				require.ErrorIs(t, err, search.ErrInvalidQuery, "%q", text)
				continue
			}
			require.Empty(t, res.Hits, "%q matched %v", text, ids(res))
			require.Zero(t, res.Total, "%q", text)
		}
		// Operators around real words are just separators.
		res, err := ix.Search(ctx, search.Query{Text: `+castle -"chill"`})
		require.NoError(t, err)
		require.Equal(t, []string{"c02"}, ids(res))
		res, err = ix.Search(ctx, search.Query{Text: `login:speedyfox*`})
		require.NoError(t, err)
		require.Empty(t, res.Hits)

		for _, ca := range []struct {
			name string
			q    search.Query
			kind error
		}{
			{"huge text", search.Query{Text: strings.Repeat("minecraft ", 1000)}, search.ErrInvalidQuery},
			{"huge term", search.Query{Text: strings.Repeat("a", 10000)}, search.ErrInvalidQuery},
			{"invalid utf8", search.Query{Text: "mine\xffcraft"}, search.ErrInvalidQuery},
			{"many terms", search.Query{Text: "a b c d e f g h i j k l"}, search.ErrInvalidQuery},
			{"page size", search.Query{Limit: 10000}, search.ErrInvalidQuery},
			{"sort injection", search.Query{Sort: "_script"}, search.ErrInvalidQuery},
			{"forged cursor", search.Query{Cursor: "eyJmcm9tIjoxMDAwMDB9"}, search.ErrInvalidCursor},
			{"cursor syntax", search.Query{Cursor: `title:* OR _exists_:x`}, search.ErrInvalidCursor},
			{"huge cursor", search.Query{Cursor: strings.Repeat("A", 100000)}, search.ErrInvalidCursor},
			{"deep page", search.Query{Limit: 50, Cursor: deepCursor(t, search.Query{Limit: 50})}, search.ErrTooDeep},
			{"beyond max depth", search.Query{Cursor: (&search.Cursor{Sort: search.SortViewers, Offset: 1 << 30, ID: "c01"}).Encode()}, search.ErrInvalidQuery},
			{"huge filter", search.Query{TagsAny: slices.Repeat([]string{"x"}, 1000)}, search.ErrInvalidQuery},
			{"filter invalid utf8", search.Query{Languages: []string{"\xff"}}, search.ErrInvalidQuery},
		} {
			t.Run(ca.name, func(t *testing.T) {
				_, err := ix.Search(ctx, ca.q)
				require.ErrorIs(t, err, ca.kind)
				var qe *search.QueryError
				require.ErrorAs(t, err, &qe)
				require.NotEmpty(t, qe.Field)
			})
		}
	})

	t.Run("VisibleWithinASecond", func(t *testing.T) {
		ix := newIndex(t)
		load(t, ix, fixtures())
		start := time.Now()
		require.NoError(t, ix.Upsert(ctx, "c04", search.Patch{Title: search.Ptr("Baking sourdough bread")}))
		var seen bool
		for time.Since(start) < search.MaxVisibilityDelay+500*time.Millisecond {
			res, err := ix.Search(ctx, search.Query{Text: "sourdough"})
			require.NoError(t, err)
			if len(res.Hits) == 1 && res.Hits[0].ID == "c04" {
				seen = true
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		require.True(t, seen, "title change not searchable after %v", time.Since(start))
		require.LessOrEqual(t, time.Since(start), search.MaxVisibilityDelay+200*time.Millisecond)
	})

	t.Run("Concurrent", func(t *testing.T) {
		ix := newIndex(t)
		load(t, ix, fixtures())
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for w := range 4 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := range 50 {
					id := fixtures()[i%10].ID
					if err := ix.Upsert(ctx, id, search.Patch{ViewerCount: search.Ptr(int64(i*10 + w))}); err != nil {
						errs <- err
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				for range 20 {
					if _, err := ix.Search(ctx, search.Query{Text: "minecraft", Facets: true}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	})

	t.Run("Closed", func(t *testing.T) {
		ix := newIndex(t)
		require.NoError(t, ix.Close())
		require.ErrorIs(t, ix.Upsert(ctx, "x", search.Patch{Live: yes()}), search.ErrClosed)
		_, err := ix.Get(ctx, "x")
		require.ErrorIs(t, err, search.ErrClosed)
		_, err = ix.Search(ctx, search.Query{})
		require.ErrorIs(t, err, search.ErrClosed)
		require.ErrorIs(t, ix.Close(), search.ErrClosed)
	})

	t.Run("Generated", func(t *testing.T) {
		ix := newIndex(t)
		chs := Generate(2000, 1)
		load(t, ix, chs)
		res, err := ix.Search(ctx, search.Query{Text: "minecraft", Live: yes(), Languages: []string{"en"}, Facets: true, Sort: search.SortViewers, Limit: 50})
		require.NoError(t, err)
		var want int
		for _, c := range chs {
			if c.Live && c.Language == "en" && !c.Hidden() && strings.Contains(strings.ToLower(c.Title+" "+c.CategoryName), "minecraft") {
				want++
			}
		}
		require.GreaterOrEqual(t, res.Total, want)
		require.NotEmpty(t, res.Hits)
		for i := 1; i < len(res.Hits); i++ {
			require.GreaterOrEqual(t, res.Hits[i-1].ViewerCount, res.Hits[i].ViewerCount)
		}
		// Page to the end of the depth limit without duplicates.
		seen := map[string]bool{}
		q := search.Query{Live: yes(), Limit: 100}
		for {
			res, err := ix.Search(ctx, q)
			require.NoError(t, err)
			for _, h := range res.Hits {
				require.False(t, seen[h.ID], "duplicate %s", h.ID)
				seen[h.ID] = true
			}
			if res.NextCursor == "" {
				break
			}
			q.Cursor = res.NextCursor
		}
		require.Len(t, seen, search.MaxDepth)
	})
}

// deepCursor returns a well-formed cursor for q at offset MaxDepth-10.
func deepCursor(t *testing.T, q search.Query) string {
	p, err := search.Prepare(q)
	require.NoError(t, err)
	return (&search.Cursor{Sort: p.Sort, Fingerprint: p.Fingerprint, Offset: search.MaxDepth - 10, ID: "c01"}).Encode()
}

// CloseIgnoringClosed is a cleanup helper for factories.
func CloseIgnoringClosed(t *testing.T, ix search.Index) {
	t.Helper()
	if err := ix.Close(); err != nil && !errors.Is(err, search.ErrClosed) {
		t.Errorf("close: %v", err)
	}
}

var _ = fmt.Sprintf

package storetest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/store"
)

// flagCases are the flags-queue cases; Run lists them.
var flagCases = []struct {
	name string
	f    func(*testing.T, store.Store)
}{
	{"FlagsInsertIdempotent", testFlagsInsert},
	{"FlagsListOrderFiltersPaging", testFlagsList},
	{"FlagsReviewAudited", testFlagsReview},
	{"FlagsConcurrentReview", testFlagsConcurrentReview},
	{"FlagsHostileInput", testFlagsHostile},
}

func flagsOf(t *testing.T, s store.Store) store.Flags {
	t.Helper()
	f, ok := s.(store.Flags)
	require.True(t, ok, "the backend must implement store.Flags")
	return f
}

var flagT0 = time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC)

func newFlag(id string, score float32, at time.Time) store.NewFlag {
	return store.NewFlag{
		ID: id, ChannelID: 7, Kind: store.FlagFrame, SubjectID: "frame-" + id, Label: "Porn", Model: "frame-safety@1",
		Score: score, Threshold: 0.8, CreatedAt: at,
		Evidence: store.FlagEvidence{URI: "evidence:frames/7/" + id + ".jpg", Scores: map[string]float32{"Porn": score, "Neutral": 1 - score}},
	}
}

func testFlagsInsert(t *testing.T, s store.Store) {
	c, fs := ctx(t), flagsOf(t, s)
	nf := newFlag("f-1", 0.93, flagT0)
	f, created, err := fs.InsertFlag(c, nf)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, "f-1", f.ID)
	require.Equal(t, store.ChannelID(7), f.ChannelID)
	require.Equal(t, store.FlagFrame, f.Kind)
	require.Equal(t, "frame-f-1", f.SubjectID)
	require.Equal(t, "Porn", f.Label)
	require.Equal(t, "frame-safety@1", f.Model)
	require.Equal(t, float32(0.93), f.Score, "float32 scores round-trip exactly")
	require.Equal(t, float32(0.8), f.Threshold)
	require.Equal(t, nf.Evidence.URI, f.Evidence.URI)
	require.Equal(t, map[string]float32{"Porn": 0.93, "Neutral": 1 - float32(0.93)}, f.Evidence.Scores)
	require.True(t, flagT0.Equal(f.CreatedAt))
	require.Equal(t, store.FlagOpen, f.State)
	require.Empty(t, f.Decision)
	require.Zero(t, f.ReviewerID)
	require.True(t, f.ReviewedAt.IsZero())

	got, err := fs.FlagByID(c, "f-1")
	require.NoError(t, err)
	require.Equal(t, f, got)

	// Redelivery, even with other content, changes nothing.
	again := newFlag("f-1", 0.2, flagT0.Add(time.Hour))
	again.Label = "Hentai"
	f2, created, err := fs.InsertFlag(c, again)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, f, f2)
	page, err := fs.ListFlags(c, store.FlagFilter{})
	require.NoError(t, err)
	require.Len(t, page.Flags, 1)

	// A message flag with text and no creation time gets the store's clock.
	m := store.NewFlag{ID: "m-1", ChannelID: 8, Kind: store.FlagMessage, SubjectID: "msg-1", Label: "unsafe", Model: "chat", Score: 0.7, Threshold: 0.6,
		Evidence: store.FlagEvidence{Text: "line one\nline\ttwo ✓"}}
	mf, created, err := fs.InsertFlag(c, m)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, "line one\nline\ttwo ✓", mf.Evidence.Text)
	require.False(t, mf.Evidence.Truncated)
	require.Empty(t, mf.Evidence.Scores)
	require.WithinDuration(t, time.Now(), mf.CreatedAt, time.Minute)

	_, err = fs.FlagByID(c, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// listAll pages through a listing and returns the flag ids in order.
func listAll(t *testing.T, fs store.Flags, f store.FlagFilter) []string {
	t.Helper()
	var ids []string
	for range 100 {
		page, err := fs.ListFlags(ctx(t), f)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Flags), f.EffectiveLimit())
		for _, fl := range page.Flags {
			ids = append(ids, fl.ID)
		}
		if page.Next == "" {
			return ids
		}
		f.Cursor = page.Next
	}
	t.Fatal("listing does not end")
	return nil
}

func testFlagsList(t *testing.T, s store.Store) {
	c, fs := ctx(t), flagsOf(t, s)
	type row struct {
		id    string
		score float32
		at    time.Time
		seq   int
	}
	var rows []row
	// 23 flags: scores collide in groups of 4 and times collide in pairs, so
	// every key of the orders is exercised.
	for i := range 23 {
		nf := newFlag(fmt.Sprintf("f-%02d", i), float32(0.5+0.1*float64(i%4)), flagT0.Add(time.Duration(i/2)*time.Second))
		if i%3 == 0 {
			nf.Kind, nf.Label, nf.Evidence.URI = store.FlagMessage, "unsafe", ""
		}
		if i%5 == 0 {
			nf.ChannelID = 9
		}
		_, _, err := fs.InsertFlag(c, nf)
		require.NoError(t, err)
		rows = append(rows, row{nf.ID, nf.Score, nf.CreatedAt, i})
	}
	byScore := slices.Clone(rows)
	slices.SortStableFunc(byScore, func(a, b row) int {
		switch {
		case a.score != b.score:
			if a.score > b.score {
				return -1
			}
			return 1
		case !a.at.Equal(b.at):
			return a.at.Compare(b.at)
		}
		return a.seq - b.seq
	})
	var want []string
	for _, r := range byScore {
		want = append(want, r.id)
	}
	for _, limit := range []int{1, 4, 7, 23, 100} {
		require.Equal(t, want, listAll(t, fs, store.FlagFilter{Limit: limit}), "score order, limit %d", limit)
	}
	var wantAge []string
	for _, r := range rows { // inserted oldest first; equal times keep insertion order
		wantAge = append(wantAge, r.id)
	}
	require.Equal(t, wantAge, listAll(t, fs, store.FlagFilter{Sort: store.FlagSortAge, Limit: 5}))

	// Filters.
	only := func(keep func(i int) bool, from []string) []string {
		var out []string
		for _, id := range from {
			var i int
			_, _ = fmt.Sscanf(id, "f-%d", &i)
			if keep(i) {
				out = append(out, id)
			}
		}
		return out
	}
	require.Equal(t, only(func(i int) bool { return i%5 == 0 }, want), listAll(t, fs, store.FlagFilter{ChannelID: 9, Limit: 2}))
	require.Equal(t, only(func(i int) bool { return i%3 == 0 }, want), listAll(t, fs, store.FlagFilter{Kind: store.FlagMessage, Limit: 3}))
	require.Equal(t, only(func(i int) bool { return i%3 != 0 }, wantAge), listAll(t, fs, store.FlagFilter{Label: "Porn", Sort: store.FlagSortAge, Limit: 3}))
	require.Equal(t, only(func(i int) bool { return i%3 == 0 && i%5 == 0 }, want), listAll(t, fs, store.FlagFilter{Kind: store.FlagMessage, ChannelID: 9, Label: "unsafe"}))
	none, err := fs.ListFlags(c, store.FlagFilter{Label: "Drawing"})
	require.NoError(t, err)
	require.Empty(t, none.Flags)
	require.Empty(t, none.Next)

	// State filter after reviews.
	_, _, err = fs.ReviewFlag(c, store.FlagReview{FlagID: "f-01", Decision: store.DecisionDismiss, ReviewerID: 3})
	require.NoError(t, err)
	_, _, err = fs.ReviewFlag(c, store.FlagReview{FlagID: "f-02", Decision: store.DecisionConfirmHide, ReviewerID: 3})
	require.NoError(t, err)
	require.Equal(t, []string{"f-01"}, listAll(t, fs, store.FlagFilter{State: store.FlagDismissed}))
	require.Equal(t, []string{"f-02"}, listAll(t, fs, store.FlagFilter{State: store.FlagConfirmed}))
	open := listAll(t, fs, store.FlagFilter{State: store.FlagOpen, Limit: 4})
	require.Len(t, open, 21)
	require.NotContains(t, open, "f-01")

	// Keyset paging is stable: a flag raised mid-listing ahead of the
	// cursor is not seen, one behind it is, and nothing repeats.
	page, err := fs.ListFlags(c, store.FlagFilter{Limit: 5})
	require.NoError(t, err)
	require.Equal(t, want[:5], ids(page.Flags))
	_, _, err = fs.InsertFlag(c, newFlag("f-top", 1, flagT0))
	require.NoError(t, err)
	_, _, err = fs.InsertFlag(c, newFlag("f-low", 0.01, flagT0))
	require.NoError(t, err)
	rest := listAll(t, fs, store.FlagFilter{Limit: 5, Cursor: page.Next})
	require.Equal(t, append(slices.Clone(want[5:]), "f-low"), rest)

	// A cursor made for one order is refused by the other.
	_, err = fs.ListFlags(c, store.FlagFilter{Sort: store.FlagSortAge, Cursor: page.Next})
	require.ErrorIs(t, err, store.ErrInvalid)
}

func ids(fs []store.Flag) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func testFlagsReview(t *testing.T, s store.Store) {
	c, fs := ctx(t), flagsOf(t, s)
	mod := mkUser(t, s, "mod_one", store.RoleModerator)
	_, _, err := fs.InsertFlag(c, newFlag("r-1", 0.9, flagT0))
	require.NoError(t, err)
	at := flagT0.Add(time.Minute)
	f, changed, err := fs.ReviewFlag(c, store.FlagReview{FlagID: "r-1", Decision: store.DecisionConfirmEndStream, ReviewerID: mod.ID, At: at})
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, store.FlagConfirmed, f.State)
	require.Equal(t, store.DecisionConfirmEndStream, f.Decision)
	require.Equal(t, mod.ID, f.ReviewerID)
	require.True(t, at.Equal(f.ReviewedAt))
	got, err := fs.FlagByID(c, "r-1")
	require.NoError(t, err)
	require.Equal(t, f, got)

	audit, err := s.AuditEvents(c, store.AuditFilter{Kind: store.AuditModeration})
	require.NoError(t, err)
	require.Len(t, audit, 1)
	require.Equal(t, mod.ID, audit[0].ActorID)
	require.Equal(t, store.ChannelID(7), audit[0].ChannelID)
	require.Equal(t, store.OutcomeSuccess, audit[0].Outcome)
	require.True(t, at.Equal(audit[0].Time))
	require.Contains(t, audit[0].Detail, "flag r-1: confirm_end_stream")

	// The same decision again is a no-op (a retried request), and writes
	// no second audit entry; another decision conflicts.
	again, changed, err := fs.ReviewFlag(c, store.FlagReview{FlagID: "r-1", Decision: store.DecisionConfirmEndStream, ReviewerID: mod.ID + 1})
	require.NoError(t, err)
	require.False(t, changed)
	require.Equal(t, f, again, "the first review stands")
	cur, _, err := fs.ReviewFlag(c, store.FlagReview{FlagID: "r-1", Decision: store.DecisionDismiss, ReviewerID: mod.ID})
	require.ErrorIs(t, err, store.ErrConflict)
	require.Equal(t, store.DecisionConfirmEndStream, cur.Decision)
	audit, err = s.AuditEvents(c, store.AuditFilter{Kind: store.AuditModeration})
	require.NoError(t, err)
	require.Len(t, audit, 1)

	_, _, err = fs.ReviewFlag(c, store.FlagReview{FlagID: "missing", Decision: store.DecisionDismiss, ReviewerID: mod.ID})
	require.ErrorIs(t, err, store.ErrNotFound)
	for _, bad := range []store.FlagReview{
		{FlagID: "r-1", Decision: "ban_forever", ReviewerID: mod.ID},
		{FlagID: "r-1", Decision: "", ReviewerID: mod.ID},
		{FlagID: "r-1", Decision: store.DecisionDismiss},
		{FlagID: "", Decision: store.DecisionDismiss, ReviewerID: mod.ID},
	} {
		_, _, err = fs.ReviewFlag(c, bad)
		require.ErrorIs(t, err, store.ErrInvalid, "%+v", bad)
	}
	// Each decision maps to its state.
	for i, d := range []store.FlagDecision{store.DecisionDismiss, store.DecisionConfirm, store.DecisionConfirmHide} {
		id := fmt.Sprintf("r-d%d", i)
		_, _, err := fs.InsertFlag(c, newFlag(id, 0.9, flagT0))
		require.NoError(t, err)
		f, _, err := fs.ReviewFlag(c, store.FlagReview{FlagID: id, Decision: d, ReviewerID: mod.ID})
		require.NoError(t, err)
		require.Equal(t, d.State(), f.State)
		require.WithinDuration(t, time.Now(), f.ReviewedAt, time.Minute)
	}
}

func testFlagsConcurrentReview(t *testing.T, s store.Store) {
	c, fs := ctx(t), flagsOf(t, s)
	_, _, err := fs.InsertFlag(c, newFlag("race", 0.9, flagT0))
	require.NoError(t, err)
	decisions := []store.FlagDecision{store.DecisionDismiss, store.DecisionConfirm, store.DecisionConfirmHide, store.DecisionConfirmEndStream}
	errs := make([]error, 8)
	changed := make([]bool, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, changed[i], errs[i] = fs.ReviewFlag(c, store.FlagReview{FlagID: "race", Decision: decisions[i%4], ReviewerID: store.UserID(i + 1)})
		})
	}
	wg.Wait()
	f, err := fs.FlagByID(c, "race")
	require.NoError(t, err)
	winners := 0
	for i, err := range errs {
		if changed[i] {
			winners++
			require.NoError(t, err)
			require.Equal(t, decisions[i%4], f.Decision)
			continue
		}
		if decisions[i%4] == f.Decision {
			require.NoError(t, err, "the same decision as the winner's is a no-op")
		} else {
			require.ErrorIs(t, err, store.ErrConflict)
		}
	}
	require.Equal(t, 1, winners, "exactly one review is recorded")
	audit, err := s.AuditEvents(c, store.AuditFilter{Kind: store.AuditModeration})
	require.NoError(t, err)
	require.Len(t, audit, 1)
}

func testFlagsHostile(t *testing.T, s store.Store) {
	c, fs := ctx(t), flagsOf(t, s)
	// SQL injection in free text and the URI is stored literally.
	for i, inj := range Injections {
		nf := newFlag(fmt.Sprintf("inj-%d", i), 0.9, flagT0)
		nf.Kind, nf.Evidence.Text, nf.Evidence.URI, nf.Model = store.FlagMessage, inj, inj, inj
		f, created, err := fs.InsertFlag(c, nf)
		require.NoError(t, err, inj)
		require.True(t, created)
		require.Equal(t, inj, f.Evidence.Text)
		require.Equal(t, inj, f.Evidence.URI)
		require.Equal(t, inj, f.Model)
		// ...and refused where the contract has no room for it.
		bad := newFlag(fmt.Sprintf("inj-label-%d", i), 0.9, flagT0)
		bad.Label = inj
		_, _, err = fs.InsertFlag(c, bad)
		require.ErrorIs(t, err, store.ErrInvalid)
		_, err = fs.ListFlags(c, store.FlagFilter{Label: inj})
		require.ErrorIs(t, err, store.ErrInvalid)
		_, err = fs.ListFlags(c, store.FlagFilter{State: store.FlagState(inj)})
		require.ErrorIs(t, err, store.ErrInvalid)
		_, err = fs.ListFlags(c, store.FlagFilter{Kind: store.FlagKind(inj)})
		require.ErrorIs(t, err, store.ErrInvalid)
		_, err = fs.FlagByID(c, inj)
		require.ErrorIs(t, err, store.ErrInvalid)
		_, _, err = fs.ReviewFlag(c, store.FlagReview{FlagID: "inj-0", Decision: store.FlagDecision(inj), ReviewerID: 1})
		require.ErrorIs(t, err, store.ErrInvalid)
	}
	all := listAll(t, fs, store.FlagFilter{})
	require.Len(t, all, len(Injections), "no injection touched the table")
	_, err := s.CategoryByID(c, 1)
	require.NoError(t, err, "other tables are intact")

	// Evidence text rule: invalid UTF-8 and control characters become
	// U+FFFD; more than MaxFlagTextLen characters are cut and marked.
	nf := newFlag("utf8", 0.9, flagT0)
	nf.Kind, nf.Evidence.Text = store.FlagMessage, "ok \xff\xfe bad \x00 nul \x1b esc"
	f, _, err := fs.InsertFlag(c, nf)
	require.NoError(t, err)
	require.True(t, utf8.ValidString(f.Evidence.Text))
	require.Equal(t, "ok \uFFFD\uFFFD bad \uFFFD nul \uFFFD esc", f.Evidence.Text)
	require.False(t, f.Evidence.Truncated)

	huge := newFlag("huge", 0.9, flagT0)
	huge.Kind, huge.Evidence.Text = store.FlagMessage, strings.Repeat("é", 1<<19) // 1 MiB
	f, _, err = fs.InsertFlag(c, huge)
	require.NoError(t, err)
	require.True(t, f.Evidence.Truncated)
	require.Equal(t, store.MaxFlagTextLen, utf8.RuneCountInString(f.Evidence.Text))
	require.Equal(t, strings.Repeat("é", store.MaxFlagTextLen), f.Evidence.Text)

	// Every structured field refuses what it cannot hold.
	for name, mutate := range map[string]func(*store.NewFlag){
		"unknown kind":         func(f *store.NewFlag) { f.Kind = "video" },
		"empty kind":           func(f *store.NewFlag) { f.Kind = "" },
		"empty id":             func(f *store.NewFlag) { f.ID = "" },
		"id with slash":        func(f *store.NewFlag) { f.ID = "../../etc/passwd" },
		"id invalid utf8":      func(f *store.NewFlag) { f.ID = "a\xffb" },
		"long id":              func(f *store.NewFlag) { f.ID = strings.Repeat("a", store.MaxFlagIDLen+1) },
		"no channel":           func(f *store.NewFlag) { f.ChannelID = 0 },
		"label invalid utf8":   func(f *store.NewFlag) { f.Label = "Porn\xff" },
		"label empty":          func(f *store.NewFlag) { f.Label = "" },
		"model invalid utf8":   func(f *store.NewFlag) { f.Model = "m\xff" },
		"model control":        func(f *store.NewFlag) { f.Model = "m\x00" },
		"uri invalid utf8":     func(f *store.NewFlag) { f.Evidence.URI = "evidence:\xff" },
		"uri too long":         func(f *store.NewFlag) { f.Evidence.URI = strings.Repeat("u", 1<<20) },
		"nan score":            func(f *store.NewFlag) { f.Score = float32(math.NaN()) },
		"score above one":      func(f *store.NewFlag) { f.Score = 1.5 },
		"negative threshold":   func(f *store.NewFlag) { f.Threshold = -0.1 },
		"inf evidence score":   func(f *store.NewFlag) { f.Evidence.Scores = map[string]float32{"Porn": float32(math.Inf(1))} },
		"bad evidence label":   func(f *store.NewFlag) { f.Evidence.Scores = map[string]float32{"'; DROP TABLE flags; --": 0.5} },
		"too many scores":      func(f *store.NewFlag) { f.Evidence.Scores = manyScores(store.MaxFlagScores + 1) },
		"subject id bad chars": func(f *store.NewFlag) { f.SubjectID = "a b" },
	} {
		bad := newFlag("bad-"+strings.ReplaceAll(name, " ", "-"), 0.9, flagT0)
		mutate(&bad)
		_, _, err := fs.InsertFlag(c, bad)
		require.ErrorIs(t, err, store.ErrInvalid, name)
	}

	// Forged and foreign page tokens.
	for _, tok := range []string{"x", "!!!", strings.Repeat("A", 1000), "ZjEuMC4wLjAuLTE", store.FlagCursor{Sort: store.FlagSortAge}.Encode()} {
		_, err := fs.ListFlags(c, store.FlagFilter{Cursor: tok})
		require.ErrorIs(t, err, store.ErrInvalid, tok)
	}
	// A well-formed token names a position and nothing more.
	page, err := fs.ListFlags(c, store.FlagFilter{Cursor: store.FlagCursor{Score: 2, Seq: math.MaxInt64}.Encode()})
	require.NoError(t, err)
	require.NotEmpty(t, page.Flags)
	_, err = fs.ListFlags(c, store.FlagFilter{ChannelID: -1})
	require.ErrorIs(t, err, store.ErrInvalid)
}

func manyScores(n int) map[string]float32 {
	m := map[string]float32{}
	for i := range n {
		m[fmt.Sprintf("l%d", i)] = 0.1
	}
	return m
}

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/api/server"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/membus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/moderation"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

// flagsEnv is the flags API over a real SQLite store, the in-process bus, a
// moderation.Reviewer and a moderation.Evidence directory. The stream ender
// is a func-field fake (the lead wires media/ingest in cmd/beacon).
type flagsEnv struct {
	*running
	st      *sqlitestore.Store
	bus     *membus.Bus
	ev      *moderation.Evidence
	mu      sync.Mutex
	ended   []string
	reviews []*eventsv1.FlagEvent
}

type enderFunc func(ctx context.Context, channelID string) error

func (f enderFunc) EndStream(ctx context.Context, channelID string) error { return f(ctx, channelID) }

// testReviewer reads the reviewer from an "Authorization: Test <user id>"
// header (the gateway forwards Authorization as metadata), standing in for
// the authentication interceptor in tests that are not about
// authorization; TestFlagsModeratorOnly runs the real one.
func testReviewer(ctx context.Context) (int64, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get("authorization")
	if len(v) == 0 {
		return 0, false
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(v[0], "Test "), 10, 64)
	return id, err == nil
}

func newFlagsEnv(t *testing.T, cfg server.Config, reviewerFrom func(context.Context) (int64, bool), st *sqlitestore.Store) *flagsEnv {
	t.Helper()
	if st == nil {
		var err error
		st, err = sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(t.TempDir(), "beacon.db")})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
	}
	b, err := membus.New(membus.Config{Topics: event.Topics(2)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	ev, err := moderation.NewEvidence(moderation.EvidenceConfig{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ev.Close() })
	e := &flagsEnv{st: st, bus: b, ev: ev}
	ender := enderFunc(func(_ context.Context, ch string) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.ended = append(e.ended, ch)
		return nil
	})
	rev, err := moderation.NewReviewer(moderation.ReviewerConfig{}, st, b, ender)
	require.NoError(t, err)
	svc, err := server.NewFlagsService(st, rev, ev, reviewerFrom, nil)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = b.Subscribe(ctx, "test", event.TopicFlags, event.Handler(func(_ context.Context, _ bus.Message, fe *eventsv1.FlagEvent) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.reviews = append(e.reviews, fe)
			return nil
		}))
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	e.running = start(t, cfg, svc.Register)
	return e
}

var flagT0 = time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC)

func (e *flagsEnv) seed(t *testing.T, nf store.NewFlag) {
	t.Helper()
	_, _, err := e.st.InsertFlag(context.Background(), nf)
	require.NoError(t, err)
}

func frameFlag(id string, ch store.ChannelID, label string, score float32, age time.Duration) store.NewFlag {
	return store.NewFlag{ID: id, ChannelID: ch, Kind: store.FlagFrame, SubjectID: "fr-" + id, Label: label, Model: "frame-safety@1",
		Score: score, Threshold: 0.5, CreatedAt: flagT0.Add(-age),
		Evidence: store.FlagEvidence{URI: "evidence:frames/" + strconv.FormatInt(int64(ch), 10) + "/fr-" + id + ".jpg", Scores: map[string]float32{label: score}}}
}

type apiFlag struct {
	ID         string `json:"id"`
	ChannelID  string `json:"channel_id"`
	Kind       string `json:"kind"`
	Label      string `json:"label"`
	Score      float32
	State      string     `json:"state"`
	Decision   string     `json:"decision"`
	ReviewerID string     `json:"reviewer_id"`
	ReviewedAt *time.Time `json:"reviewed_at"`
	CreatedAt  time.Time  `json:"created_at"`
	Evidence   struct {
		Scores           map[string]float32 `json:"scores"`
		Text             string             `json:"text"`
		TextTruncated    bool               `json:"text_truncated"`
		FrameJPEG        []byte             `json:"frame_jpeg"`
		FrameUnavailable bool               `json:"frame_unavailable"`
	} `json:"evidence"`
}

type flagsList struct {
	Flags         []apiFlag `json:"flags"`
	NextPageToken string    `json:"next_page_token"`
}

func flagIDs(l flagsList) []string {
	out := []string{}
	for _, f := range l.Flags {
		out = append(out, f.ID)
	}
	return out
}

// listAllFlags pages through GET /v1/flags with q.
func listAllFlags(t *testing.T, e *flagsEnv, q url.Values) []string {
	t.Helper()
	var all []string
	q = cloneValues(q)
	for range 50 {
		var l flagsList
		code, ed := getJSON(t, e.running, "/v1/flags", q, &l)
		require.Equal(t, 200, code, ed.Message)
		all = append(all, flagIDs(l)...)
		if l.NextPageToken == "" {
			return all
		}
		q.Set("page_token", l.NextPageToken)
	}
	t.Fatal("listing never ends")
	return nil
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func TestFlagsListSortsFiltersPages(t *testing.T) {
	e := newFlagsEnv(t, server.Config{}, testReviewer, nil)
	e.seed(t, frameFlag("a", 1, "Porn", 0.91, 3*time.Minute))
	e.seed(t, frameFlag("b", 1, "Hentai", 0.99, 1*time.Minute))
	e.seed(t, frameFlag("c", 2, "Porn", 0.91, 5*time.Minute))
	e.seed(t, frameFlag("d", 2, "Porn", 0.60, 10*time.Minute))
	e.seed(t, store.NewFlag{ID: "m", ChannelID: 3, Kind: store.FlagMessage, SubjectID: "msg-1", Label: "unsafe", Model: "chat-safety@1", Score: 0.95, Threshold: 0.7,
		CreatedAt: flagT0.Add(-2 * time.Minute), Evidence: store.FlagEvidence{Text: "hateful words"}})

	var l flagsList
	code, _ := getJSON(t, e.running, "/v1/flags", nil, &l)
	require.Equal(t, 200, code)
	require.Equal(t, []string{"b", "m", "c", "a", "d"}, flagIDs(l), "score desc, then oldest first")
	require.Empty(t, l.NextPageToken)
	require.Equal(t, "1", l.Flags[0].ChannelID)
	require.Equal(t, "frame", l.Flags[0].Kind)
	require.Equal(t, "open", l.Flags[0].State)
	require.Equal(t, map[string]float32{"Hentai": 0.99}, l.Flags[0].Evidence.Scores)
	require.Empty(t, l.Flags[0].Evidence.FrameJPEG, "listings carry no JPEGs")
	require.Equal(t, "hateful words", l.Flags[1].Evidence.Text)
	require.True(t, flagT0.Add(-time.Minute).Equal(l.Flags[0].CreatedAt))

	for _, ca := range []struct {
		q    string
		want []string
	}{
		{"sort=age", []string{"d", "c", "a", "m", "b"}},
		{"sort=score&page_size=2", []string{"b", "m", "c", "a", "d"}},
		{"sort=age&page_size=1", []string{"d", "c", "a", "m", "b"}},
		{"kind=message", []string{"m"}},
		{"kind=frame&sort=age&page_size=2", []string{"d", "c", "a", "b"}},
		{"channel_id=2", []string{"c", "d"}},
		{"label=Porn&page_size=1", []string{"c", "a", "d"}},
		{"label=Drawing", nil},
		{"state=open&channel_id=1", []string{"b", "a"}},
		{"state=confirmed", nil},
	} {
		q, err := url.ParseQuery(ca.q)
		require.NoError(t, err)
		require.Equal(t, ca.want, listAllFlags(t, e, q), ca.q)
	}
}

func TestFlagsGetWithEvidence(t *testing.T) {
	e := newFlagsEnv(t, server.Config{}, testReviewer, nil)
	img := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{0x42}, 2000)...)
	uri, err := e.ev.Put(context.Background(), "1", "fr-a", img)
	require.NoError(t, err)
	nf := frameFlag("a", 1, "Porn", 0.9, 0)
	require.Equal(t, uri, nf.Evidence.URI)
	e.seed(t, nf)
	e.seed(t, frameFlag("gone", 1, "Porn", 0.9, 0)) // its JPEG was never kept (or expired)
	e.seed(t, store.NewFlag{ID: "m", ChannelID: 3, Kind: store.FlagMessage, Label: "unsafe", Model: "chat", Score: 0.9, Threshold: 0.7,
		Evidence: store.FlagEvidence{Text: strings.Repeat("x", store.MaxFlagTextLen+10)}})

	var b struct{ Flag apiFlag }
	code, _ := getJSON(t, e.running, "/v1/flags/a", nil, &b)
	require.Equal(t, 200, code)
	require.Equal(t, img, b.Flag.Evidence.FrameJPEG, "the JPEG travels base64 in frame_jpeg")
	require.False(t, b.Flag.Evidence.FrameUnavailable)
	require.Equal(t, map[string]float32{"Porn": 0.9}, b.Flag.Evidence.Scores)

	code, _ = getJSON(t, e.running, "/v1/flags/gone", nil, &b)
	require.Equal(t, 200, code)
	require.True(t, b.Flag.Evidence.FrameUnavailable)
	require.Empty(t, b.Flag.Evidence.FrameJPEG)

	code, _ = getJSON(t, e.running, "/v1/flags/m", nil, &b)
	require.Equal(t, 200, code)
	require.Len(t, b.Flag.Evidence.Text, store.MaxFlagTextLen)
	require.True(t, b.Flag.Evidence.TextTruncated)
	require.False(t, b.Flag.Evidence.FrameUnavailable, "messages have no frame")

	code, ed := getJSON(t, e.running, "/v1/flags/nope", nil, &b)
	require.Equal(t, 404, code)
	require.Equal(t, "NOT_FOUND", ed.Code)
}

// post sends a JSON body and returns the status and body.
func post(t *testing.T, u, body string, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestFlagsReview(t *testing.T) {
	e := newFlagsEnv(t, server.Config{}, testReviewer, nil)
	e.seed(t, frameFlag("a", 11, "Porn", 0.9, 0))
	e.seed(t, frameFlag("b", 12, "Porn", 0.9, 0))
	as := []string{"Authorization", "Test 42"}

	code, body := post(t, e.http+"/v1/flags/a:review", `{"decision":"confirm_hide"}`, as...)
	require.Equal(t, 200, code, string(body))
	var r struct{ Flag apiFlag }
	require.NoError(t, json.Unmarshal(body, &r))
	require.Equal(t, "confirmed", r.Flag.State)
	require.Equal(t, "confirm_hide", r.Flag.Decision)
	require.Equal(t, "42", r.Flag.ReviewerID, "the reviewer is the caller")
	require.NotNil(t, r.Flag.ReviewedAt)
	require.WithinDuration(t, time.Now(), *r.Flag.ReviewedAt, time.Minute)

	audit, err := e.st.AuditEvents(context.Background(), store.AuditFilter{Kind: store.AuditModeration})
	require.NoError(t, err)
	require.Len(t, audit, 1)
	require.Equal(t, store.UserID(42), audit[0].ActorID)
	require.Equal(t, store.ChannelID(11), audit[0].ChannelID)

	// The same decision again is fine; another one conflicts.
	code, _ = post(t, e.http+"/v1/flags/a:review", `{"decision":"confirm_hide"}`, as...)
	require.Equal(t, 200, code)
	code, body = post(t, e.http+"/v1/flags/a:review", `{"decision":"dismiss"}`, as...)
	require.Equal(t, http.StatusConflict, code)
	ed := errorBody(t, body)
	require.Equal(t, "ABORTED", ed.Code)
	require.Contains(t, ed.Message, "already reviewed: confirm_hide by user 42")

	// confirm_end_stream ends the stream through the injected ender.
	code, body = post(t, e.http+"/v1/flags/b:review", `{"decision":"confirm_end_stream"}`, as...)
	require.Equal(t, 200, code, string(body))
	require.Eventually(t, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		n := 0
		for _, ev := range e.reviews {
			if ev.GetReviewed() != nil {
				n++
			}
		}
		return n == 3
	}, 5*time.Second, 5*time.Millisecond, "each review is published on flags")
	e.mu.Lock()
	require.Equal(t, []string{"12"}, e.ended)
	e.mu.Unlock()

	// No authenticated user: 401, nothing recorded.
	e.seed(t, frameFlag("c", 13, "Porn", 0.9, 0))
	code, body = post(t, e.http+"/v1/flags/c:review", `{"decision":"dismiss"}`)
	require.Equal(t, 401, code)
	require.Equal(t, "UNAUTHENTICATED", errorBody(t, body).Code)
	code, body = post(t, e.http+"/v1/flags/missing:review", `{"decision":"dismiss"}`, as...)
	require.Equal(t, 404, code, string(body))
}

func TestFlagsHostileInput(t *testing.T) {
	e := newFlagsEnv(t, server.Config{}, testReviewer, nil)
	e.seed(t, frameFlag("a", 1, "Porn", 0.9, 0))
	e.seed(t, frameFlag("b", 1, "Porn", 0.8, 0))
	as := []string{"Authorization", "Test 7"}

	for _, ca := range []struct {
		name, body, want string
	}{
		{"empty decision", `{"decision":""}`, "decision is required"},
		{"no decision", `{}`, "decision is required"},
		{"unknown decision", `{"decision":"ban_forever"}`, "unknown decision"},
		{"upper case", `{"decision":"DISMISS"}`, "unknown decision"},
		{"injection", `{"decision":"dismiss'; UPDATE flags SET state='dismissed'; --"}`, "unknown decision"},
		{"number", `{"decision":3}`, ""},
		{"unknown field", `{"decision":"dismiss","reviewer_id":"1"}`, ""},
		{"not json", `decision=dismiss`, ""},
		{"invalid utf-8", "{\"decision\":\"dismiss\xff\"}", ""},
		{"huge", `{"decision":"` + strings.Repeat("d", 1<<20) + `"}`, ""},
	} {
		code, body := post(t, e.http+"/v1/flags/a:review", ca.body, as...)
		require.Contains(t, []int{400, 413}, code, ca.name)
		ed := errorBody(t, body)
		require.Contains(t, []string{"INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"}, ed.Code, ca.name)
		require.NotEqual(t, "internal error", ed.Message, ca.name)
		if ca.want != "" {
			require.Contains(t, ed.Message, ca.want, ca.name)
		}
	}
	f, err := e.st.FlagByID(context.Background(), "a")
	require.NoError(t, err)
	require.Equal(t, store.FlagOpen, f.State, "no hostile review was recorded")

	for _, ca := range []struct {
		name, q, want string
	}{
		{"forged token", "page_token=AAAA", "page_token"},
		{"garbage token", "page_token=%27%20OR%201%3D1--", "page_token"},
		{"foreign sort token", "sort=age&page_token=" + store.FlagCursor{Sort: store.FlagSortScore}.Encode(), "another sort order"},
		{"long token", "page_token=" + strings.Repeat("A", 300), "longer than"},
		{"label injection", "label=" + url.QueryEscape("' OR '1'='1"), "label"},
		{"state injection", "state=" + url.QueryEscape("open' OR 1=1 --"), "unknown flag state"},
		{"kind injection", "kind=" + url.QueryEscape("frame\"; DROP TABLE flags"), "unknown flag kind"},
		{"channel injection", "channel_id=" + url.QueryEscape("1 OR 1=1"), "channel_id must be a positive integer"},
		{"negative channel", "channel_id=-4", "channel_id must be a positive integer"},
		{"unknown sort", "sort=random", "unknown sort"},
		{"negative page size", "page_size=-1", "page_size"},
		{"invalid utf-8 label", "label=%FF%FE", "UTF-8"},
		{"invalid utf-8 state", "state=open%C3", "UTF-8"},
	} {
		var l flagsList
		code, ed := getJSON(t, e.running, "/v1/flags?"+ca.q, nil, &l)
		require.Equal(t, 400, code, ca.name)
		require.Equal(t, "INVALID_ARGUMENT", ed.Code, ca.name)
		require.Contains(t, ed.Message, ca.want, ca.name)
	}
	// A well-formed page token only names a position.
	var l flagsList
	code, _ := getJSON(t, e.running, "/v1/flags", url.Values{"page_token": {store.FlagCursor{Score: 0.85}.Encode()}}, &l)
	require.Equal(t, 200, code)
	require.Equal(t, []string{"b"}, flagIDs(l))

	for _, ca := range []struct{ path, want string }{
		{"/v1/flags/" + url.PathEscape("a' OR '1'='1"), "flag_id"},
		{"/v1/flags/" + strings.Repeat("a", 300), "longer than"},
	} {
		var b struct{ Flag apiFlag }
		code, ed := getJSON(t, e.running, ca.path, nil, &b)
		require.Equal(t, 400, code, ca.path+": "+ed.Message)
		require.Contains(t, ed.Message, ca.want, ca.path)
	}
	// Invalid UTF-8 in the path never reaches the service: the chassis
	// refuses it (checkQueryUTF8) before the gateway builds a request.
	var b struct{ Flag apiFlag }
	code, ed := getJSON(t, e.running, "/v1/flags/%FF", nil, &b)
	require.Equal(t, 400, code)
	require.Equal(t, "INVALID_ARGUMENT", ed.Code)
	require.NotContains(t, ed.Message, "\xff")
	code, body := post(t, e.http+"/v1/flags/"+url.PathEscape("x/../a")+":review", `{"decision":"dismiss"}`, as...)
	require.Contains(t, []int{400, 404}, code, string(body))
}

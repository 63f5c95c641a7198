package viewers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/membus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/viewers"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestCountsDistinctSessionsInWindow(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	tr := viewers.New(viewers.Config{Now: c.Now, MaxPerAddr: 2})
	require.True(t, tr.Seen("ch", "a", "1.1.1.1"))
	require.True(t, tr.Seen("ch", "a", "1.1.1.1"), "the same session again")
	require.True(t, tr.Seen("ch", "b", "1.1.1.1"))
	require.False(t, tr.Seen("ch", "c", "1.1.1.1"), "a third session from one address does not count")
	require.True(t, tr.Seen("ch", "d", "2.2.2.2"))
	require.EqualValues(t, 3, tr.Count("ch"))
	c.Add(20 * time.Second)
	tr.Seen("ch", "a", "1.1.1.1")
	c.Add(15 * time.Second) // b and d are 35 s old, a is 15 s old
	require.EqualValues(t, 1, tr.Count("ch"))
	require.True(t, tr.Seen("ch", "c", "1.1.1.1"), "space frees up when sessions expire")
	require.EqualValues(t, 0, tr.Count("other"))
}

func TestFlushPublishesChangesOnly(t *testing.T) {
	b, err := membus.New(membus.Config{Topics: event.Topics(2)})
	require.NoError(t, err)
	defer b.Close()
	c := &clock{t: time.Unix(1000, 0)}
	tr := viewers.New(viewers.Config{Publisher: b, Now: c.Now})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got := make(chan [2]any, 10)
	go func() {
		_ = b.Subscribe(ctx, "t", event.TopicStreams, event.Handler(func(_ context.Context, m bus.Message, e *eventsv1.StreamEvent) error {
			got <- [2]any{string(m.Key), e.GetViewers().GetCount()}
			return nil
		}))
	}()
	tr.Seen("ch1", "s1", "1.1.1.1")
	tr.Seen("ch1", "s2", "1.1.1.2")
	require.NoError(t, tr.Flush(ctx))
	require.Equal(t, [2]any{"ch1", int64(2)}, <-got)
	require.NoError(t, tr.Flush(ctx)) // nothing changed: nothing published
	c.Add(31 * time.Second)
	require.NoError(t, tr.Flush(ctx))
	require.Equal(t, [2]any{"ch1", int64(0)}, <-got, "a drop to zero is published")
	select {
	case e := <-got:
		t.Fatalf("unexpected event %v", e)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestMiddlewareSetsCookieAndCounts(t *testing.T) {
	tr := viewers.New(viewers.Config{})
	h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }),
		func(r *http.Request) (string, bool) {
			rest, ok := strings.CutPrefix(r.URL.Path, "/hls/")
			if !ok || !strings.HasSuffix(r.URL.Path, ".m3u8") {
				return "", false
			}
			ch, _, _ := strings.Cut(rest, "/")
			return ch, true
		})
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/hls/ch1/index.m3u8")
	require.NoError(t, err)
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == viewers.CookieName {
			cookie = c
		}
	}
	require.NotNil(t, cookie)
	require.True(t, cookie.HttpOnly)
	// The same viewer again, with its cookie: still one.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/hls/ch1/index.m3u8", nil)
	req.AddCookie(cookie)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.EqualValues(t, 1, tr.Count("ch1"))
	// Segments do not count; forged cookies are replaced and capped per address.
	resp, err = http.Get(srv.URL + "/hls/ch2/seg1.ts")
	require.NoError(t, err)
	resp.Body.Close()
	require.EqualValues(t, 0, tr.Count("ch2"))
	for _, forged := range []string{"x", strings.Repeat("z", 32), "'; DROP TABLE--", strings.Repeat("a", 4096)} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/hls/ch1/index.m3u8", nil)
		req.AddCookie(&http.Cookie{Name: viewers.CookieName, Value: forged})
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.EqualValues(t, 4, tr.Count("ch1"), "one address counts for at most 4 sessions")
}

func BenchmarkSeen(b *testing.B) {
	tr := viewers.New(viewers.Config{MaxPerAddr: 1 << 30})
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = strings.Repeat("a", 31) + string(rune('a'+i%26))
	}
	i := 0
	for b.Loop() {
		tr.Seen("ch", ids[i%len(ids)], "1.1.1.1")
		i++
	}
}

package moderation_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/moderation"
)

// jpeg returns n bytes that start like a JPEG.
func jpeg(n int, fill byte) []byte {
	b := bytes.Repeat([]byte{fill}, n)
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	return b
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newEvidence(t *testing.T, cfg moderation.EvidenceConfig) *moderation.Evidence {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	e, err := moderation.NewEvidence(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestEvidencePutOpen(t *testing.T) {
	dir := t.TempDir()
	e := newEvidence(t, moderation.EvidenceConfig{Dir: dir})
	ctx := context.Background()
	img := jpeg(1000, 1)
	uri, err := e.Put(ctx, "42", "0b9c-frame_1", img)
	require.NoError(t, err)
	require.Equal(t, "evidence:frames/42/0b9c-frame_1.jpg", uri)
	got, err := e.Open(uri)
	require.NoError(t, err)
	require.Equal(t, img, got)
	require.FileExists(t, filepath.Join(dir, "frames", "42", "0b9c-frame_1.jpg"))

	// Storing the same frame again replaces it.
	img2 := jpeg(500, 2)
	_, err = e.Put(ctx, "42", "0b9c-frame_1", img2)
	require.NoError(t, err)
	got, err = e.Open(uri)
	require.NoError(t, err)
	require.Equal(t, img2, got)

	// The layout ml/safety's EvidenceDir writes is readable.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "frames", "h0123abcd"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "frames", "h0123abcd", "f-1.jpg"), img, 0o640))
	got, err = e.Open("evidence:frames/h0123abcd/f-1.jpg")
	require.NoError(t, err)
	require.Equal(t, img, got)

	_, err = e.Open("evidence:frames/42/never.jpg")
	require.ErrorIs(t, err, moderation.ErrNoEvidence)
}

func TestEvidenceHostileInput(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.jpg")
	require.NoError(t, os.WriteFile(outside, jpeg(100, 9), 0o600))
	e := newEvidence(t, moderation.EvidenceConfig{Dir: dir, MaxFileBytes: 4096})
	ctx := context.Background()

	for _, ca := range []struct{ channel, frame string }{
		{"../..", "x"}, {"a/b", "x"}, {"", "x"}, {".", "x"}, {"..", "x"}, {"42", "../../etc/passwd"},
		{"42", "a\x00b"}, {"42", strings.Repeat("a", 65)}, {"42", "café"}, {"42", "a b"}, {"42", `a\b`}, {"42", "x.jpg"},
	} {
		_, err := e.Put(ctx, ca.channel, ca.frame, jpeg(100, 1))
		require.ErrorIs(t, err, moderation.ErrInvalidEvidence, "%q/%q", ca.channel, ca.frame)
	}
	_, err := e.Put(ctx, "42", "f", []byte("GIF89a not a jpeg"))
	require.ErrorIs(t, err, moderation.ErrInvalidEvidence)
	_, err = e.Put(ctx, "42", "f", jpeg(4097, 1))
	require.ErrorIs(t, err, moderation.ErrInvalidEvidence)
	_, err = e.Put(ctx, "42", "f", nil)
	require.ErrorIs(t, err, moderation.ErrInvalidEvidence)

	for _, uri := range []string{
		"", "evidence:", "file:///etc/passwd", "evidence:../../etc/passwd", "evidence:/etc/passwd",
		"evidence:frames/../../x.jpg", "evidence:frames/42/../../x.jpg", "evidence:frames/42/f.png",
		"evidence:frames/42/sub/f.jpg", "evidence:other/42/f.jpg", "evidence:frames/42/.jpg",
		"evidence:frames/4%2F2/f.jpg", "evidence:frames/42/f.jpg\x00", "evidence:frames//f.jpg",
		"evidence:frames/" + strings.Repeat("a", 300) + "/f.jpg",
	} {
		_, err := e.Open(uri)
		require.ErrorIs(t, err, moderation.ErrInvalidEvidence, "%q", uri)
	}

	// A symbolic link planted inside the directory cannot reach outside it.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "frames", "42"), 0o750))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "frames", "42", "link.jpg")))
	_, err = e.Open("evidence:frames/42/link.jpg")
	require.Error(t, err)
	require.NoError(t, os.Symlink(filepath.Dir(outside), filepath.Join(dir, "frames", "evil")))
	_, err = e.Open("evidence:frames/evil/secret.jpg")
	require.Error(t, err)
}

func TestEvidenceRetentionByAge(t *testing.T) {
	clk := &clock{now: t0}
	e := newEvidence(t, moderation.EvidenceConfig{MaxAge: 24 * time.Hour, Now: clk.Now})
	ctx := context.Background()
	old, err := e.Put(ctx, "1", "old", jpeg(100, 1))
	require.NoError(t, err)
	clk.Advance(12 * time.Hour)
	mid, err := e.Put(ctx, "1", "mid", jpeg(100, 1))
	require.NoError(t, err)
	clk.Advance(13 * time.Hour) // old is 25 h old, mid 13 h
	st, err := e.Prune(ctx)
	require.NoError(t, err)
	require.Equal(t, moderation.PruneStats{Deleted: 1, DeletedBytes: 100, Kept: 1, KeptBytes: 100}, st)
	_, err = e.Open(old)
	require.ErrorIs(t, err, moderation.ErrNoEvidence)
	_, err = e.Open(mid)
	require.NoError(t, err)
}

func TestEvidenceRetentionByBytesOldestFirst(t *testing.T) {
	clk := &clock{now: t0}
	dir := t.TempDir()
	e := newEvidence(t, moderation.EvidenceConfig{Dir: dir, MaxBytes: 3000, Now: clk.Now})
	ctx := context.Background()
	var uris []string
	for i, ch := range []string{"1", "2", "1", "3", "2"} {
		clk.Advance(time.Minute)
		u, err := e.Put(ctx, ch, "f"+string(rune('a'+i)), jpeg(1000, byte(i)))
		require.NoError(t, err)
		uris = append(uris, u)
	}
	// The 4th and 5th writes went over 3000 bytes: the two oldest went.
	for i, u := range uris {
		_, err := e.Open(u)
		if i < 2 {
			require.ErrorIs(t, err, moderation.ErrNoEvidence, u)
		} else {
			require.NoError(t, err, u)
		}
	}
	st, err := e.Prune(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, st.Kept)
	require.Equal(t, int64(3000), st.KeptBytes)

	// A reopened store counts what is already on disk.
	e2 := newEvidence(t, moderation.EvidenceConfig{Dir: dir, MaxBytes: 1500, Now: clk.Now})
	for i, u := range uris {
		_, err := e2.Open(u)
		if i < 4 {
			require.ErrorIs(t, err, moderation.ErrNoEvidence, u)
		} else {
			require.NoError(t, err, u)
		}
	}
}

func TestEvidenceRunPrunes(t *testing.T) {
	clk := &clock{now: t0}
	e := newEvidence(t, moderation.EvidenceConfig{MaxAge: time.Hour, PruneInterval: 5 * time.Millisecond, Now: clk.Now})
	u, err := e.Put(context.Background(), "1", "f", jpeg(10, 1))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	clk.Advance(2 * time.Hour)
	require.Eventually(t, func() bool {
		_, err := e.Open(u)
		return err != nil
	}, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

func TestServeEvidence(t *testing.T) {
	e := newEvidence(t, moderation.EvidenceConfig{})
	img := jpeg(321, 7)
	u, err := e.Put(context.Background(), "5", "frame", img)
	require.NoError(t, err)
	for _, ca := range []struct {
		uri    string
		status int
	}{
		{u, http.StatusOK},
		{"evidence:frames/5/gone.jpg", http.StatusNotFound},
		{"evidence:../../etc/passwd", http.StatusBadRequest},
	} {
		w := httptest.NewRecorder()
		e.ServeEvidence(w, httptest.NewRequest(http.MethodGet, "/", nil), ca.uri)
		require.Equal(t, ca.status, w.Code, ca.uri)
		require.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
		require.Equal(t, "private, no-store", w.Header().Get("Cache-Control"))
		if ca.status == http.StatusOK {
			require.Equal(t, "image/jpeg", w.Header().Get("Content-Type"))
			require.Equal(t, img, w.Body.Bytes())
		} else {
			require.NotContains(t, w.Body.String(), "/etc/passwd")
		}
	}
}

var evidenceURICases = []struct {
	uri string
	ok  bool
}{
	{"evidence:frames/42/f-1.jpg", true},
	{"evidence:frames/h00ff/A_b-C.jpg", true},
	{"evidence:frames/../x.jpg", false},
	{"evidence:frames/42/../../x.jpg", false},
	{"evidence:frames/42/f.jpeg", false},
	{"http://example.com/f.jpg", false},
}

func TestParseEvidenceURI(t *testing.T) {
	for _, ca := range evidenceURICases {
		ch, fr, err := moderation.ParseEvidenceURI(ca.uri)
		if !ca.ok {
			require.ErrorIs(t, err, moderation.ErrInvalidEvidence, ca.uri)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, ca.uri, "evidence:frames/"+ch+"/"+fr+".jpg")
	}
}

func FuzzParseEvidenceURI(f *testing.F) {
	for _, ca := range evidenceURICases {
		f.Add(ca.uri)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		ch, fr, err := moderation.ParseEvidenceURI(uri)
		if err != nil {
			require.ErrorIs(t, err, moderation.ErrInvalidEvidence)
			return
		}
		for _, id := range []string{ch, fr} {
			require.NotEmpty(t, id)
			require.NotContains(t, id, "/")
			require.NotContains(t, id, ".")
			require.NotContains(t, id, "\\")
		}
		require.Equal(t, uri, "evidence:frames/"+ch+"/"+fr+".jpg")
	})
}

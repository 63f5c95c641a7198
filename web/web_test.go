package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/internal/browser"
	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/beaconlive/beacon/web"
)

func newServer(t *testing.T, hlsDir string) *httptest.Server {
	t.Helper()
	p, err := web.New(web.Config{Channels: names{"demo": "demo"}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	p.Register(mux)
	if hlsDir != "" {
		mux.Handle("/hls/demo/", http.StripPrefix("/hls/demo/", http.FileServer(http.Dir(hlsDir))))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestWatchPage(t *testing.T) {
	srv := newServer(t, "")
	for _, ca := range []struct {
		path string
		code int
		want string
	}{
		{"/watch/demo", 200, `data-src="/hls/demo/index.m3u8"`},
		{"/watch/%3Cscript%3E", 400, "invalid channel"},
		{"/watch/" + strings.Repeat("a", 65), 400, "invalid channel"},
		{"/watch/..%2F..%2Fetc", 400, "invalid channel"},
		{"/static/vendor/hls.min.js", 200, "Hls"},
		{"/static/../web.go", 404, ""},
	} {
		t.Run(ca.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + ca.path)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, ca.code, resp.StatusCode)
			require.Contains(t, string(b), ca.want)
			if ca.code == 200 && strings.HasPrefix(ca.path, "/watch/") {
				require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
				require.NotEmpty(t, resp.Header.Get("Content-Security-Policy"))
			}
		})
	}
}

// The watch page plays an HLS stream in headless Chromium: video.currentTime
// advances. The stream is made by real ffmpeg (H.264/AAC, as the ladder
// writes it).
func TestWatchPagePlaysInChromium(t *testing.T) {
	ffmpeg := testenv.Command(t, "ffmpeg")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", "12", "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
		filepath.Join(dir, "index.m3u8")).CombinedOutput()
	require.NoError(t, err, string(out))

	srv := newServer(t, dir)
	bctx := browser.New(t)
	bctx, bcancel := context.WithTimeout(bctx, 60*time.Second)
	defer bcancel()
	_, err = chromedp.Run(bctx, chromedp.Navigate(srv.URL+"/watch/demo"))
	require.NoError(t, err)
	var current float64
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		current, err = chromedp.Run(bctx, chromedp.Evaluate[float64](`document.getElementById("video").currentTime`))
		require.NoError(t, err)
		if current > 2 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	status, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("status").textContent`))
	require.Greater(t, current, 2.0, "video.currentTime did not advance (status %q)", status)
	levels, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.getElementById("quality").options.length`))
	require.NoError(t, err)
	require.GreaterOrEqual(t, levels, 2, "Auto plus at least one rendition")
}

type names map[string]string

func (n names) ChannelIDByName(_ context.Context, name string) (string, error) {
	if id, ok := n[name]; ok {
		return id, nil
	}
	return "", errors.New("store: not found")
}

func TestWatchByLogin(t *testing.T) {
	p, err := web.New(web.Config{Channels: names{"speedy": "42"}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	p.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, ca := range []struct {
		path string
		code int
		want string
	}{
		{"/watch/speedy", 200, `data-src="/hls/42/index.m3u8"`},
		{"/watch/42", 200, `data-channel="42"`},
		{"/watch/nobody", 404, "no such channel"},
	} {
		resp, err := http.Get(srv.URL + ca.path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, ca.code, resp.StatusCode, ca.path)
		require.Contains(t, string(b), ca.want, ca.path)
	}
}

package ingest_test

// End-to-end tests with real clients: ffmpeg publishes over RTMP, the
// ingest server hands the stream to a real media server (wired exactly as
// cmd wires them), and ffprobe / HTTP clients read the HLS output.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/ingest"
	"github.com/beaconlive/beacon/media"
)

// keys is a fake store: stream key → channel id.
type keys map[string]string

func (k keys) VerifyStreamKey(_ context.Context, key string) (string, error) {
	if ch, ok := k[key]; ok {
		return ch, nil
	}
	return "", errors.New("store: unknown stream key")
}

// frameSink records published frames.
type frameSink struct {
	mu     sync.Mutex
	frames []media.Frame
}

func (f *frameSink) PublishFrame(_ context.Context, fr media.Frame) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frames = append(f.frames, fr)
	return nil
}

func (f *frameSink) byChannel(ch string) []media.Frame {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []media.Frame
	for _, fr := range f.frames {
		if fr.ChannelID == ch {
			out = append(out, fr)
		}
	}
	return out
}

// eventSink records lifecycle events.
type eventSink struct {
	mu     sync.Mutex
	events []media.StreamEvent
}

func (e *eventSink) PublishStreamEvent(_ context.Context, ev media.StreamEvent) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, ev)
	return nil
}

func (e *eventSink) first(ch string, k media.EventKind) (media.StreamEvent, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.events {
		if ev.ChannelID == ch && ev.Kind == k {
			return ev, true
		}
	}
	return media.StreamEvent{}, false
}

type stack struct {
	rtmp   string // rtmp://127.0.0.1:port/live/
	http   string
	media  *media.Server
	ingest *ingest.Server
	frames *frameSink
	events *eventSink
}

// testRenditions keep the ladder cheap on two cores.
var testRenditions = []media.Rendition{
	{Name: "240p", Height: 240, FPS: 30, VideoBitrate: 400_000},
	{Name: "144p", Height: 144, FPS: 30, VideoBitrate: 150_000},
}

func requireFFmpeg(t *testing.T) {
	t.Helper()
	for _, b := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required (scripts/deps.sh installs it)", b)
			}
			t.Skipf("%s not installed", b)
		}
	}
}

func startStack(t *testing.T, mcfg media.Config, icfg ingest.Config) *stack {
	t.Helper()
	requireFFmpeg(t)
	st := &stack{frames: &frameSink{}, events: &eventSink{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("BEACON_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	mcfg.WorkDir = t.TempDir()
	mcfg.Frames = st.frames
	mcfg.Events = st.events
	mcfg.Logger = log
	if mcfg.Renditions == nil {
		mcfg.Renditions = testRenditions
	}
	if mcfg.X264Preset == "" {
		mcfg.X264Preset = "ultrafast"
	}
	if mcfg.ReconnectGrace == 0 {
		mcfg.ReconnectGrace = 6 * time.Second
	}
	if mcfg.HealthInterval == 0 {
		mcfg.HealthInterval = time.Second
	}
	ms, err := media.New(mcfg)
	require.NoError(t, err)
	st.media = ms

	icfg.Address = "127.0.0.1:0"
	if icfg.Keys == nil {
		icfg.Keys = keys{"key-alpha-0001": "alpha", "key-beta-0002": "beta", "key-gamma-0003": "gamma"}
	}
	icfg.Sink = ms // *media.Server satisfies ingest's streamSink as it is
	icfg.Logger = log
	is, err := ingest.New(icfg)
	require.NoError(t, err)
	st.ingest = is
	st.rtmp = "rtmp://" + is.Addr().String() + "/live/"

	hs := httptest.NewServer(ms)
	st.http = hs.URL

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = ms.Run(ctx) })
	wg.Go(func() { _ = is.Run(ctx) })
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		cancel()
		wg.Wait()
	})
	return st
}

// publisher is a running ffmpeg publisher.
type publisher struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	err    error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// publishArgs publishes testsrc2 + sine, H.264/AAC, 15 fps with a 2 s GOP.
func publishArgs(url string, size string, seconds int, videoCodec ...string) []string {
	vc := []string{"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p"}
	if len(videoCodec) > 0 {
		vc = videoCodec
	}
	a := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=15",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"}
	if seconds > 0 {
		a = append(a, "-t", strconv.Itoa(seconds))
	}
	a = append(a, vc...)
	a = append(a, "-c:a", "aac", "-b:a", "64k", "-f", "flv", url)
	return a
}

func startPublisher(t *testing.T, args []string) *publisher {
	t.Helper()
	p := &publisher{stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command("ffmpeg", args...)
	p.cmd.Stderr = p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *publisher) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// wait waits for the publisher to exit and returns its stderr.
func (p *publisher) wait(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case <-p.done:
		return p.stderr.String()
	case <-time.After(timeout):
		t.Fatalf("publisher still running after %v", timeout)
		return ""
	}
}

func (p *publisher) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func httpGet(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// playlistURIs returns the URI lines of a playlist.
func playlistURIs(body []byte) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// extinfs returns the EXTINF durations of a media playlist.
func extinfs(body []byte) []float64 {
	var out []float64
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "#EXTINF:"); ok {
			v, _, _ = strings.Cut(v, ",")
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				out = append(out, f)
			}
		}
	}
	return out
}

type probe struct {
	width, height int
	codec         string
	audio         bool
	duration      float64
	raw           string
}

// ffprobe reads url (a playlist or a segment) with ffprobe.
func ffprobe(t *testing.T, url string) probe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries",
		"stream=codec_type,codec_name,width,height:format=duration", "-of", "default=noprint_wrappers=1", url).CombinedOutput()
	require.NoError(t, err, "ffprobe %s: %s", url, out)
	p := probe{raw: string(out)}
	for _, l := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(l), "=")
		switch k {
		case "width":
			p.width, _ = strconv.Atoi(v)
		case "height":
			p.height, _ = strconv.Atoi(v)
		case "codec_name":
			if v == "aac" {
				p.audio = true
			} else if p.codec == "" {
				p.codec = v
			}
		case "duration":
			p.duration, _ = strconv.ParseFloat(v, 64)
		}
	}
	return p
}

// checkVariant probes a media playlist and its last segment.
func checkVariant(t *testing.T, base, uri string, wantW, wantH int, seg time.Duration) {
	t.Helper()
	u := base + "/" + uri
	_, body := httpGet(t, u)
	durs := extinfs(body)
	require.NotEmpty(t, durs, "no segment in %s:\n%s", uri, body)
	for _, d := range durs {
		require.InDelta(t, seg.Seconds(), d, seg.Seconds()*0.6, "segment duration in %s:\n%s", uri, body)
	}
	segs := playlistURIs(body)
	last := segs[len(segs)-1]
	segURL := u[:strings.LastIndex(u, "/")+1] + last
	p := ffprobe(t, segURL)
	require.Equal(t, "h264", p.codec, uri)
	require.Equal(t, wantW, p.width, uri)
	require.Equal(t, wantH, p.height, uri)
	require.True(t, p.audio, "%s has no audio", uri)
	require.InDelta(t, durs[len(durs)-1], p.duration, 0.5, "%s: %s", uri, p.raw)
}

func TestPublishToHLS(t *testing.T) {
	st := startStack(t, media.Config{LowLatency: true}, ingest.Config{})

	start := time.Now()
	pub := startPublisher(t, publishArgs(st.rtmp+"key-alpha-0001", "320x240", 0))
	base := st.http + "/hls/alpha"

	// The master playlist waits for the first source segment.
	waitFor(t, 20*time.Second, "the channel", func() bool { _, ok := st.media.Channel("alpha"); return ok })
	resp, master := httpGet(t, base+"/index.m3u8")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", master)
	ready := time.Since(start)
	t.Logf("publish → first playable segment: %v", ready.Round(10*time.Millisecond))
	require.Equal(t, "application/vnd.apple.mpegurl", resp.Header.Get("Content-Type"))
	require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	require.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	t.Logf("master playlist:\n%s", master)
	require.Contains(t, string(master), `RESOLUTION=320x240`)
	require.Contains(t, string(master), `RESOLUTION=320x240,FRAME-RATE=15.000,CODECS="avc1.4d40`)
	require.Contains(t, string(master), `RESOLUTION=192x144`)
	require.Contains(t, string(master), `mp4a.40.2`)
	uris := playlistURIs(master)
	require.Equal(t, []string{"source/main_stream.m3u8", "240p/index.m3u8", "144p/index.m3u8"}, uris)

	// Let the ladder produce a few segments, then check every variant.
	time.Sleep(6 * time.Second)
	require.True(t, pub.running(), "publisher exited: %s", pub.stderr.String())
	checkVariant(t, base, "source/main_stream.m3u8", 320, 240, 2*time.Second)
	checkVariant(t, base, "240p/index.m3u8", 320, 240, 2*time.Second)
	checkVariant(t, base, "144p/index.m3u8", 192, 144, 2*time.Second)

	// ffprobe reads the whole adaptive stream through the master playlist.
	p := ffprobe(t, base+"/index.m3u8")
	require.Equal(t, "h264", p.codec)

	// Segment caching, content types.
	_, srcPl := httpGet(t, base+"/source/main_stream.m3u8")
	segs := playlistURIs(srcPl)
	resp, _ = httpGet(t, base+"/source/"+segs[len(segs)-1])
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "video/mp2t", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Cache-Control"), "max-age=31536000")
	_, rendPl := httpGet(t, base+"/144p/index.m3u8")
	segs = playlistURIs(rendPl)
	resp, _ = httpGet(t, base+"/144p/"+segs[len(segs)-1])
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "video/mp2t", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Cache-Control"), "max-age=31536000")

	// LL-HLS variant.
	resp, llMaster := httpGet(t, base+"/ll/index.m3u8")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", llMaster)
	require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	require.Contains(t, string(llMaster), "#EXT-X-STREAM-INF")
	llURIs := playlistURIs(llMaster)
	require.NotEmpty(t, llURIs)
	_, llMedia := httpGet(t, base+"/ll/"+llURIs[0])
	require.Contains(t, string(llMedia), "#EXT-X-PART:")

	// Frames arrive at the sink, model-sized JPEGs with capture times.
	waitFor(t, 10*time.Second, "sampled frames", func() bool { return len(st.frames.byChannel("alpha")) >= 2 })
	fr := st.frames.byChannel("alpha")[0]
	require.Equal(t, 224, fr.Width)
	require.Equal(t, 224, fr.Height)
	require.True(t, len(fr.JPEG) > 100 && fr.JPEG[0] == 0xFF && fr.JPEG[1] == 0xD8, "not a JPEG")
	require.WithinDuration(t, time.Now(), fr.CaptureTime, 30*time.Second)

	// Thumbnails at the allowed sizes only.
	var thumb []byte
	waitFor(t, 15*time.Second, "a thumbnail", func() bool {
		resp, thumb = httpGet(t, st.http+"/thumbnails/alpha-440x248.jpg")
		return resp.StatusCode == http.StatusOK
	})
	require.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
	require.Equal(t, []byte{0xFF, 0xD8}, thumb[:2])
	resp, _ = httpGet(t, st.http+"/thumbnails/alpha-441x248.jpg")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Online and health events.
	on, ok := st.events.first("alpha", media.EventOnline)
	require.True(t, ok)
	require.Equal(t, 320, on.Width)
	require.Equal(t, 240, on.Height)
	require.InDelta(t, 15, on.FPS, 0.01)
	require.Equal(t, "mp4a.40.2", on.AudioCodec)
	require.Greater(t, on.Bitrate, int64(0))
	waitFor(t, 5*time.Second, "a health event", func() bool { _, ok := st.events.first("alpha", media.EventHealth); return ok })

	// The publisher leaves: after the grace period the channel goes offline
	// and its ladder files are removed.
	pub.kill()
	waitFor(t, 15*time.Second, "offline", func() bool { _, ok := st.events.first("alpha", media.EventOffline); return ok })
	_, ok = st.media.Channel("alpha")
	require.False(t, ok)
	resp, _ = httpGet(t, base+"/index.m3u8")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestRefusals(t *testing.T) {
	st := startStack(t, media.Config{}, ingest.Config{})
	// A stream that must keep serving whatever the others do.
	good := startPublisher(t, publishArgs(st.rtmp+"key-beta-0002", "320x240", 0))
	waitFor(t, 20*time.Second, "beta live", func() bool {
		ci, ok := st.media.Channel("beta")
		return ok && !ci.ReadyAt.IsZero()
	})
	lastSeg := func() string {
		_, b := httpGet(t, st.http+"/hls/beta/source/main_stream.m3u8")
		u := playlistURIs(b)
		require.NotEmpty(t, u)
		return u[len(u)-1]
	}

	t.Run("wrong key", func(t *testing.T) {
		before := st.ingest.Rejected(ingest.ReasonUnauthorized)
		p := startPublisher(t, publishArgs(st.rtmp+"not-a-key", "160x120", 3))
		out := p.wait(t, 20*time.Second)
		require.Error(t, p.err)
		require.Contains(t, out, "authentication failed")
		require.Equal(t, before+1, st.ingest.Rejected(ingest.ReasonUnauthorized))
	})
	t.Run("missing key", func(t *testing.T) {
		before := st.ingest.Rejected(ingest.ReasonUnauthorized)
		p := startPublisher(t, publishArgs(strings.TrimSuffix(st.rtmp, "/"), "160x120", 3))
		p.wait(t, 20*time.Second)
		require.Error(t, p.err)
		require.Equal(t, before+1, st.ingest.Rejected(ingest.ReasonUnauthorized))
	})
	t.Run("duplicate publish", func(t *testing.T) {
		p := startPublisher(t, publishArgs(st.rtmp+"key-beta-0002", "160x120", 3))
		out := p.wait(t, 20*time.Second)
		require.Error(t, p.err)
		require.Contains(t, out, "already live")
		require.Equal(t, 1.0, st.ingest.Rejected(ingest.ReasonDuplicate))
	})
	t.Run("non-H.264 video", func(t *testing.T) {
		p := startPublisher(t, publishArgs(st.rtmp+"key-gamma-0003", "160x120", 5, "-c:v", "flv1"))
		out := p.wait(t, 20*time.Second)
		require.Error(t, p.err)
		require.Contains(t, out, "H.264")
		require.Equal(t, 1.0, st.ingest.Rejected(ingest.ReasonCodec))
		_, ok := st.media.Channel("gamma")
		require.False(t, ok)
	})
	t.Run("random bytes", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		var conns []net.Conn
		for i := range 8 {
			c, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(st.rtmp, "/live/"), "rtmp://"))
			require.NoError(t, err)
			conns = append(conns, c)
			buf := make([]byte, 1+rng.IntN(8192))
			for j := range buf {
				buf[j] = byte(rng.Uint32())
			}
			if i%2 == 0 {
				buf[0] = 3 // a plausible RTMP version byte, then garbage
			}
			_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			_, _ = c.Write(buf)
		}
		// Idle, garbage-sending connections do not stop other streams; the
		// handshake timeout closes them.
		time.Sleep(time.Second)
		for _, c := range conns {
			_ = c.Close()
		}
	})
	t.Run("publisher killed mid-stream", func(t *testing.T) {
		p := startPublisher(t, publishArgs(st.rtmp+"key-gamma-0003", "160x120", 0))
		waitFor(t, 20*time.Second, "gamma ready", func() bool {
			ci, ok := st.media.Channel("gamma")
			return ok && !ci.ReadyAt.IsZero()
		})
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		// Within the grace period the channel stays up…
		waitFor(t, 15*time.Second, "gamma not publishing", func() bool {
			ci, ok := st.media.Channel("gamma")
			return ok && !ci.Publishing
		})
		// …and a reconnect resumes the same broadcast.
		ci, _ := st.media.Channel("gamma")
		p2 := startPublisher(t, publishArgs(st.rtmp+"key-gamma-0003", "160x120", 0))
		waitFor(t, 20*time.Second, "gamma publishing again", func() bool {
			ci2, ok := st.media.Channel("gamma")
			return ok && ci2.Publishing
		})
		ci2, _ := st.media.Channel("gamma")
		require.Equal(t, ci.BroadcastID, ci2.BroadcastID)
		p2.kill()
		waitFor(t, 20*time.Second, "gamma offline", func() bool { _, ok := st.media.Channel("gamma"); return !ok })
	})

	// beta kept publishing and its playlist kept moving.
	s1 := lastSeg()
	waitFor(t, 10*time.Second, "a new beta segment", func() bool { return lastSeg() != s1 })
	require.True(t, good.running(), "beta publisher exited: %s", good.stderr.String())
	resp, _ := httpGet(t, st.http+"/hls/beta/index.m3u8")
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestLadderRestart(t *testing.T) {
	st := startStack(t, media.Config{SamplerDisabled: true, ThumbnailsDisabled: true,
		Renditions: testRenditions[1:], RestartBackoff: 200 * time.Millisecond}, ingest.Config{})
	startPublisher(t, publishArgs(st.rtmp+"key-alpha-0001", "320x240", 0))
	base := st.http + "/hls/alpha"
	var pid int
	waitFor(t, 20*time.Second, "the ladder", func() bool {
		s, ok := st.media.ChannelStats("alpha")
		pid = s.LadderPID
		return ok && pid != 0
	})
	resp, _ := httpGet(t, base+"/144p/index.m3u8")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	// The source keeps playing while ffmpeg is down…
	resp, _ = httpGet(t, base+"/source/main_stream.m3u8")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// …and ffmpeg comes back.
	waitFor(t, 15*time.Second, "a restarted ladder", func() bool {
		s, _ := st.media.ChannelStats("alpha")
		return s.LadderRestarts >= 1 && s.LadderPID != 0 && s.LadderPID != pid
	})
	waitFor(t, 15*time.Second, "new rendition segments", func() bool {
		_, b := httpGet(t, base+"/144p/index.m3u8")
		return strings.Contains(string(b), ".ts")
	})
	checkVariant(t, base, "144p/index.m3u8", 192, 144, 2*time.Second)
}

// EndStream (a moderator's "confirm and end stream") disconnects the
// channel's publisher and leaves other channels alone; ending a channel that
// is not live is not an error.
func TestEndStream(t *testing.T) {
	st := startStack(t, media.Config{LadderDisabled: true}, ingest.Config{})
	ctx := context.Background()
	require.NoError(t, st.ingest.EndStream(ctx, "nobody"))
	alpha := startPublisher(t, publishArgs(st.rtmp+"key-alpha-0001", "320x240", 0))
	beta := startPublisher(t, publishArgs(st.rtmp+"key-beta-0002", "320x240", 0))
	waitFor(t, 20*time.Second, "both channels", func() bool {
		_, a := st.media.Channel("alpha")
		_, b := st.media.Channel("beta")
		return a && b
	})
	require.NoError(t, st.ingest.EndStream(ctx, "alpha"))
	alpha.wait(t, 15*time.Second) // ffmpeg exits when the server drops it
	require.True(t, beta.running(), "the other publisher keeps streaming")
	// The key still works for a new publish once the old one is gone (the
	// caller decides whether to revoke it).
	again := startPublisher(t, publishArgs(st.rtmp+"key-alpha-0001", "320x240", 0))
	waitFor(t, 20*time.Second, "alpha live again", func() bool {
		ci, ok := st.media.Channel("alpha")
		return ok && ci.Publishing
	})
	again.kill()
	beta.kill()
}

//go:build measure

package ingest_test

// TestMeasure prints the figures of the streaming core on this machine. It
// replays a pre-encoded 720p30 3 Mbit/s file (ffmpeg -re -stream_loop -1
// -c copy, so the publisher costs almost nothing) and reads the CPU time of
// the processes from /proc. It takes about two minutes, so it only runs
// with the measure build tag:
//
//	go test -tags measure ./ingest -run TestMeasure -v -timeout 10m

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/ingest"
	"github.com/beaconlive/beacon/media"
)

// cpuTicks returns utime+stime of a process, in clock ticks (1/100 s).
func cpuTicks(t *testing.T, pid string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	require.NoError(t, err)
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return u + st
}

func TestMeasure(t *testing.T) {
	requireFFmpeg(t)
	src := filepath.Join(t.TempDir(), "720p30.flv")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
		"testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "20", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3M", "-maxrate", "3M", "-bufsize", "6M",
		"-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-f", "flv", src).CombinedOutput()
	require.NoError(t, err, "%s", out)
	replay := func(url string) []string {
		return []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1",
			"-i", src, "-c", "copy", "-f", "flv", url}
	}
	const window = 30 * time.Second
	self := strconv.Itoa(os.Getpid())

	t.Run("passthrough and sampler", func(t *testing.T) {
		st := startStack(t, media.Config{LadderDisabled: true}, ingest.Config{})
		start := time.Now()
		startPublisher(t, replay(st.rtmp+"key-alpha-0001"))
		waitFor(t, 20*time.Second, "the channel", func() bool { _, ok := st.media.Channel("alpha"); return ok })
		resp, _ := httpGet(t, st.http+"/hls/alpha/index.m3u8")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		t.Logf("publish → first playable segment: %v (includes ~2 s of RTMP track detection and one 2 s GOP)",
			time.Since(start).Round(10*time.Millisecond))
		time.Sleep(3 * time.Second)
		s, _ := st.media.ChannelStats("alpha")
		tap := strconv.Itoa(s.TapPID)
		tap0, self0, t0 := cpuTicks(t, tap), cpuTicks(t, self), time.Now()
		time.Sleep(window)
		tap1, self1, el := cpuTicks(t, tap), cpuTicks(t, self), time.Since(t0).Seconds()
		s2, _ := st.media.ChannelStats("alpha")
		t.Logf("sampler ffmpeg (720p30 source, one IDR decoded per 2 s): %.2f%% of a core over %.0f s",
			float64(tap1-tap0)/el, el)
		t.Logf("server process (RTMP ingest + passthrough HLS + sample JPEGs, one 720p 3 Mbit/s stream): %.2f%% of a core",
			float64(self1-self0)/el)
		t.Logf("frames sampled: %d, dropped: %d", s2.SampledFrames, s2.DroppedFrames)
	})

	t.Run("ladder", func(t *testing.T) {
		st := startStack(t, media.Config{SamplerDisabled: true, ThumbnailsDisabled: true,
			Renditions: media.DefaultRenditions(), X264Preset: "veryfast"}, ingest.Config{})
		startPublisher(t, replay(st.rtmp+"key-alpha-0001"))
		var pid int
		waitFor(t, 20*time.Second, "the ladder", func() bool {
			s, ok := st.media.ChannelStats("alpha")
			pid = s.LadderPID
			return ok && pid != 0
		})
		time.Sleep(5 * time.Second)
		p := strconv.Itoa(pid)
		c0, t0 := cpuTicks(t, p), time.Now()
		time.Sleep(window)
		c1, el := cpuTicks(t, p), time.Since(t0).Seconds()
		s, _ := st.media.ChannelStats("alpha")
		t.Logf("ladder ffmpeg (720p30 → 720p/480p/360p/160p, x264 veryfast): %.1f%% of a core over %.0f s; "+
			"feed drops %d, restarts %d", float64(c1-c0)/el, el, s.DroppedFrames, s.LadderRestarts)
		_, body := httpGet(t, st.http+"/hls/alpha/720p/index.m3u8")
		durs := extinfs(body)
		require.NotEmpty(t, durs)
		t.Logf("720p rendition segment durations: %v", durs)
	})
}

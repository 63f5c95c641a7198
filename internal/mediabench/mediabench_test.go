package mediabench_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/internal/mediabench"
	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/beaconlive/beacon/media"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

// loadGenEnv makes the test binary the load generator process (the
// benchmark re-executes it, as beaconctl re-executes itself).
const loadGenEnv = "BEACON_MEDIABENCH_LOADGEN"

func TestMain(m *testing.M) {
	if os.Getenv(loadGenEnv) == "1" {
		if err := mediabench.RunLoadGen(context.Background(), os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRun runs every part of the benchmark with tiny sizes (two 320×180
// streams, 1 s segments, a one-rendition ladder) and checks that each
// figure is there and plausible. It takes about half a minute.
func TestRun(t *testing.T) {
	testenv.Command(t, "ffmpeg")
	testenv.Command(t, "ffprobe")
	var progress bytes.Buffer
	cfg := mediabench.Config{
		LoadGen: func(ctx context.Context) *exec.Cmd {
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), loadGenEnv+"=1")
			return cmd
		},
		OpenStore:        openSQLite,
		CacheDir:         t.TempDir(),
		Source:           mediabench.Source{Width: 320, Height: 180, FPS: 15, VideoBitrate: 300_000, AudioBitrate: 64_000, Length: 6 * time.Second},
		SegmentDuration:  time.Second,
		FirstSegmentRuns: 1,
		LatencySegments:  3,
		Streams:          []int{1, 2},
		StepDuration:     3 * time.Second,
		LadderWindow:     4 * time.Second,
		Renditions:       []media.Rendition{{Name: "144p", Height: 144, FPS: 15, VideoBitrate: 150_000}},
		X264Preset:       "ultrafast",
		Progress:         &progress,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := mediabench.Run(ctx, cfg)
	require.NoError(t, err, "progress:\n%s", progress.String())
	t.Logf("progress:\n%s", progress.String())

	get := func(name string) float64 {
		t.Helper()
		m, ok := res.Metric(name)
		require.True(t, ok, "metric %s missing", name)
		require.False(t, math.IsNaN(m.Value) || math.IsInf(m.Value, 0), name)
		return m.Value
	}
	for _, ca := range []struct {
		name     string
		min, max float64
	}{
		// The ingest buffers ~2 s to detect tracks; a 1 s segment follows.
		{"first_segment", 0.5, 20},
		{"publish_accepted", 0.1, 20},
		// A segment's first frame waits about one segment (1 s) to be listed.
		{"latency/first_frame_p50", 0.5, 3},
		{"latency/first_frame_max", 0.5, 5},
		{"latency/last_frame_p50", 0, 2},
		{"latency/close_p50", 0, 1000},
		{"ladder/cores", 0.001, 2},
		{"ladder/realtime_factor", 0.5, 1.6},
		{"ladder/rss", 1, 2000},
		{"passthrough_2/server_cpu_per_stream", 0.001, 100},
		{"passthrough_2/sampler_cpu_per_stream", 0, 100},
		{"passthrough_2/loadgen_cpu_per_stream", 0, 100},
		{"passthrough_2/sampler_rss_per_stream", 1, 1000},
		{"passthrough_2/sampler_pss_per_stream", 0.1, 1000},
		{"passthrough_2/streams_ok", 2, 2},
		{"passthrough_1/streams_ok", 1, 1},
		{"memory_per_stream", 0.1, 1000},
		{"max_streams_ok", 2, 2},
	} {
		v := get(ca.name)
		require.GreaterOrEqual(t, v, ca.min, ca.name)
		require.LessOrEqual(t, v, ca.max, ca.name)
	}
	first, _ := res.Metric("latency/first_frame_p50")
	last, _ := res.Metric("latency/last_frame_p50")
	require.Greater(t, first.Value, last.Value, "the first frame of a segment waits longer than the last")
	require.Len(t, res.Steps, 2)
	for _, s := range res.Steps {
		require.Positive(t, s.Segments, "segments at %d streams", s.Streams)
		require.Zero(t, s.Died)
	}

	var table, lines bytes.Buffer
	require.NoError(t, res.WriteTable(&table))
	require.Contains(t, table.String(), "latency method")
	require.NoError(t, res.WriteBenchLines(&lines, "BenchmarkMedia"))
	re := regexp.MustCompile(`^BenchmarkMedia/[A-Za-z0-9_/.-]+ 1 [-+0-9.e]+ \S+$`)
	got := strings.Split(strings.TrimSpace(lines.String()), "\n")
	require.Len(t, got, len(res.Metrics))
	for _, l := range got {
		require.Regexp(t, re, l)
	}
	t.Logf("\n%s\n%s", table.String(), lines.String())
}

func openSQLite(ctx context.Context, dir string) (store.Store, error) {
	return sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(dir, "beacon.db")})
}

func TestConfigValidation(t *testing.T) {
	lg := func(context.Context) *exec.Cmd { return exec.Command("true") }
	for _, ca := range []struct {
		name string
		cfg  mediabench.Config
		err  string
	}{
		{"no load generator", mediabench.Config{OpenStore: openSQLite}, "'LoadGen' is required"},
		{"no store", mediabench.Config{LoadGen: lg}, "'OpenStore' is required"},
		{"odd size", mediabench.Config{LoadGen: lg, OpenStore: openSQLite, Source: mediabench.Source{Width: 321}}, "'Source' size"},
		{"decreasing ramp", mediabench.Config{LoadGen: lg, OpenStore: openSQLite, Streams: []int{10, 5}}, "'Streams'"},
		{"short step", mediabench.Config{LoadGen: lg, OpenStore: openSQLite, StepDuration: time.Millisecond}, "'StepDuration'"},
		{"too many runs", mediabench.Config{LoadGen: lg, OpenStore: openSQLite, FirstSegmentRuns: 50}, "'FirstSegmentRuns'"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := mediabench.Run(context.Background(), ca.cfg)
			require.ErrorContains(t, err, ca.err)
		})
	}
}

package mediabench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/ingest"
	"github.com/beaconlive/beacon/media"
	"github.com/beaconlive/beacon/store"
)

// listing is a segment as it appeared in a playlist.
type listing struct {
	at  time.Time
	dur float64 // EXTINF, seconds
}

// realtimeFactor is the least-squares slope of the media time listed
// against wall-clock time: the media seconds produced per second. Each
// segment's media time counts once it is listed, so the first listing is
// the origin. It is NaN with fewer than three listings.
func realtimeFactor(l []listing) float64 {
	if len(l) < 3 {
		return math.NaN()
	}
	var sx, sy, sxx, sxy, media float64
	for i, x := range l {
		if i > 0 {
			media += x.dur
		}
		t := x.at.Sub(l[0].at).Seconds()
		sx += t
		sy += media
		sxx += t * t
		sxy += t * media
	}
	n := float64(len(l))
	d := n*sxx - sx*sx
	if d <= 0 {
		return math.NaN()
	}
	return (n*sxy - sx*sy) / d
}

// Config configures a benchmark run. Every zero value means the documented
// default; the defaults measure the production settings and take about
// three minutes (plus about half a minute to encode the source the first
// time).
type Config struct {
	// LoadGen returns the command of the load generator process, which must
	// run RunLoadGen on its standard input and output (beaconctl re-executes
	// itself; tests re-execute the test binary). Required.
	LoadGen func(ctx context.Context) *exec.Cmd
	// OpenStore opens an empty state store in dir, a fresh temporary folder
	// (beaconctl opens SQLite there; only cmd picks a backend). The
	// benchmark creates its streamers, channels and stream keys in it.
	// Required.
	OpenStore func(ctx context.Context, dir string) (store.Store, error)

	// FFmpegPath and FFprobePath default to "ffmpeg" and "ffprobe" in PATH.
	FFmpegPath, FFprobePath string
	// CacheDir keeps the pre-encoded source between runs. It defaults to
	// ".cache/mediabench".
	CacheDir string
	// Source is the replayed file. It defaults to 720p30, 3 Mbit/s H.264 +
	// 128 kbit/s AAC, a keyframe every segment duration, 20 s long.
	Source Source
	// SegmentDuration of the HLS output. It defaults to 2s.
	SegmentDuration time.Duration

	// FirstSegmentRuns is the number of publishes timed until their first
	// playable segment. It defaults to 3.
	FirstSegmentRuns int
	// LatencySegments is the number of source segments whose latency is
	// measured (after two warm-up segments). It defaults to 8.
	LatencySegments int
	// Streams are the steps of the concurrent passthrough ramp. It defaults
	// to 10, 25, 50, 100.
	Streams []int
	// StepDuration is the measuring window of each ramp step. It defaults
	// to 15s.
	StepDuration time.Duration
	// LadderWindow is the measuring window of the transcoded ladder. It
	// defaults to 20s.
	LadderWindow time.Duration
	// Renditions of the ladder. They default to media.DefaultRenditions()
	// (720p, 480p, 360p, 160p at 30 fps).
	Renditions []media.Rendition
	// X264Preset of the ladder. It defaults to "veryfast".
	X264Preset string

	// SkipFirstSegment, SkipLatency, SkipStreams and SkipLadder leave a part out.
	SkipFirstSegment, SkipLatency, SkipStreams, SkipLadder bool

	// Logger receives the servers' logs. It defaults to discarding them.
	Logger *slog.Logger
	// Progress receives one line per step as the run goes; nil is silent.
	Progress io.Writer
}

func (c Config) withDefaults() Config {
	if c.FFmpegPath == "" {
		c.FFmpegPath = "ffmpeg"
	}
	if c.FFprobePath == "" {
		c.FFprobePath = "ffprobe"
	}
	if c.CacheDir == "" {
		c.CacheDir = filepath.Join(".cache", "mediabench")
	}
	if c.SegmentDuration == 0 {
		c.SegmentDuration = 2 * time.Second
	}
	c.Source = c.Source.withDefaults(c.SegmentDuration)
	if c.FirstSegmentRuns == 0 {
		c.FirstSegmentRuns = 3
	}
	if c.LatencySegments == 0 {
		c.LatencySegments = 8
	}
	if len(c.Streams) == 0 {
		c.Streams = []int{10, 25, 50, 100}
	}
	if c.StepDuration == 0 {
		c.StepDuration = 15 * time.Second
	}
	if c.LadderWindow == 0 {
		c.LadderWindow = 20 * time.Second
	}
	if len(c.Renditions) == 0 {
		c.Renditions = media.DefaultRenditions()
	}
	if c.X264Preset == "" {
		c.X264Preset = "veryfast"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

func (c Config) validate() error {
	if c.LoadGen == nil {
		return errors.New("mediabench: 'LoadGen' is required")
	}
	if c.OpenStore == nil {
		return errors.New("mediabench: 'OpenStore' is required")
	}
	if err := c.Source.validate(); err != nil {
		return err
	}
	if c.FirstSegmentRuns < 0 || c.FirstSegmentRuns > 20 {
		return errors.New("mediabench: 'FirstSegmentRuns' must be within 0..20")
	}
	if c.LatencySegments < 1 || c.LatencySegments > 100 {
		return errors.New("mediabench: 'LatencySegments' must be within 1..100")
	}
	if !slices.IsSorted(c.Streams) || c.Streams[0] < 1 || c.Streams[len(c.Streams)-1] > 1000 {
		return errors.New("mediabench: 'Streams' must be increasing, within 1..1000")
	}
	if c.StepDuration < time.Second || c.LadderWindow < time.Second {
		return errors.New("mediabench: 'StepDuration' and 'LadderWindow' must be at least 1s")
	}
	return nil
}

// Metric is one figure of a run.
type Metric struct {
	// Name is a path such as "first_segment" or "passthrough_100/cpu_per_stream".
	Name  string
	Value float64
	// Unit has no spaces: "s", "ms", "cores", "%core/stream", "MB/stream"…
	Unit string
	// Help says what was measured, for the human table.
	Help string
}

// Step is one step of the concurrent passthrough ramp.
type Step struct {
	Streams int
	Window  time.Duration
	// CPU in cores (1 = one core busy) over the window: the server process
	// (ingest, passthrough HLS, JPEG samples), the sampler ffmpeg processes
	// together, the load generator process, and the whole machine (every
	// process, including other users').
	ServerCores, SamplerCores, LoadGenCores, MachineCores float64
	// ServerRSSDelta is the server's resident memory above its level before
	// the ramp; SamplerRSS and SamplerPSS are the sums over the sampler
	// processes of their resident and proportional (shared library pages
	// divided among the processes mapping them) set sizes.
	ServerRSSDelta, SamplerRSS, SamplerPSS int64
	// StreamsOK counts streams that listed at least the expected number of
	// new source segments (window / segment duration, minus one) during the
	// window; Segments and SegmentsExpected are the totals.
	StreamsOK, Segments, SegmentsExpected int
	// Died counts publishers that failed (load generator side); NotReady
	// the streams that had no segment yet when the window began.
	Died, NotReady int
	// ServerHeap is the Go heap in use at the end of the window (a part of
	// the server's RSS).
	ServerHeap int64
}

// Result is the outcome of Run.
type Result struct {
	Metrics []Metric
	Steps   []Step
	// Notes explain the methods and anything that went wrong.
	Notes []string
	// Cores is the number of CPUs of this machine.
	Cores   int
	Elapsed time.Duration
}

func (r *Result) add(name string, v float64, unit, help string) {
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: v, Unit: unit, Help: help})
}

func (r *Result) note(format string, a ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, a...))
}

// Metric returns the metric called name.
func (r *Result) Metric(name string) (Metric, bool) {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// run is the state of one benchmark run.
type run struct {
	cfg      Config
	res      *Result
	src      string
	progress func(format string, a ...any)
	lg       *loadGen
	keys     auth.IngestKeys
	chs      []benchChannel
	work     string
}

// Run starts a SQLite store with real stream keys, the RTMP ingest and the
// HLS media server in this process on 127.0.0.1, and measures them (see
// the package doc). A part that fails is reported in the result's notes
// and the error; the other parts still run.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	began := time.Now()
	r := &run{cfg: cfg, res: &Result{Cores: runtime.NumCPU()}}
	// The load generator's stderr is copied into Progress from another
	// goroutine: serialize the writes.
	pw := &syncWriter{w: cfg.Progress}
	r.progress = func(format string, a ...any) {
		fmt.Fprintf(pw, "mediabench: "+format+"\n", a...)
	}
	for _, b := range []string{cfg.FFmpegPath, cfg.FFprobePath} {
		if _, err := exec.LookPath(b); err != nil {
			return nil, fmt.Errorf("mediabench: %w", err)
		}
	}

	src, encoded, err := prepareSource(ctx, cfg.FFmpegPath, cfg.CacheDir, cfg.Source)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("mediabench: %w", err)
	}
	fl, err := parseFLV(b)
	if err != nil {
		return nil, fmt.Errorf("mediabench: %s: %w", src, err)
	}
	r.src = src
	verb := "cached"
	if encoded {
		verb = "encoded once"
	}
	r.res.note("source: %s (%s), %dx%d %d fps H.264 + AAC, keyframe every %v, %.2f Mbit/s measured payload, looped every %v; every publisher replays it with -c copy semantics (no re-encoding)",
		src, verb, cfg.Source.Width, cfg.Source.Height, cfg.Source.FPS, cfg.Source.GOP, fl.bitrate/1e6, fl.length.Round(time.Millisecond))
	r.progress("source %s (%s, %.2f Mbit/s)", src, verb, fl.bitrate/1e6)

	r.work, err = os.MkdirTemp("", "beacon-mediabench-")
	if err != nil {
		return nil, fmt.Errorf("mediabench: %w", err)
	}
	defer os.RemoveAll(r.work)

	n := cfg.FirstSegmentRuns + 2 + cfg.Streams[len(cfg.Streams)-1]
	st, a, chs, err := newStore(ctx, cfg.OpenStore, r.work, n)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	r.keys, r.chs = auth.IngestKeys{Service: a}, chs
	r.progress("store: %d channels with stream keys in %s", n, r.work)

	lcmd := cfg.LoadGen(ctx)
	lcmd.Stderr = pw
	r.lg, err = startLoadGen(lcmd)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := r.lg.close(); err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("load generator exit", "error", err)
		}
	}()

	var errs []error
	part := func(name string, fn func(context.Context) error) {
		if ctx.Err() != nil {
			return
		}
		if err := fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			r.res.note("%s FAILED: %v", name, err)
			r.progress("%s FAILED: %v", name, err)
		}
	}

	// Production settings: passthrough, ladder and sampler on.
	if !cfg.SkipFirstSegment || !cfg.SkipLadder {
		s, err := startStack(r.keys, r.mediaConfig("full", false), cfg.Logger)
		if err != nil {
			return r.res, err
		}
		if !cfg.SkipFirstSegment {
			part("first segment", func(ctx context.Context) error { return r.firstSegment(ctx, s) })
		}
		if !cfg.SkipLadder {
			part("ladder", func(ctx context.Context) error { return r.ladder(ctx, s) })
		}
		s.close()
	}
	// Passthrough only (ladder off), sampler on.
	if !cfg.SkipLatency || !cfg.SkipStreams {
		s, err := startStack(r.keys, r.mediaConfig("passthrough", true), cfg.Logger)
		if err != nil {
			return r.res, err
		}
		if !cfg.SkipLatency {
			part("latency", func(ctx context.Context) error { return r.latency(ctx, s) })
		}
		if !cfg.SkipStreams {
			part("streams", func(ctx context.Context) error { return r.streams(ctx, s) })
		}
		s.close()
	}
	r.res.Elapsed = time.Since(began)
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return r.res, errors.Join(errs...)
}

func (r *run) mediaConfig(name string, ladderOff bool) media.Config {
	return media.Config{
		WorkDir:         filepath.Join(r.work, name),
		FFmpegPath:      r.cfg.FFmpegPath,
		SegmentDuration: r.cfg.SegmentDuration,
		LadderDisabled:  ladderOff,
		Renditions:      r.cfg.Renditions,
		X264Preset:      r.cfg.X264Preset,
		ReconnectGrace:  time.Second,
	}
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// poll calls cond every interval until it returns true, an error, or
// timeout passes.
func poll(ctx context.Context, interval, timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mediabench: timed out after %v waiting for %s", timeout, what)
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// firstSegment times publishes from the start of an ffmpeg publisher
// (-re -c copy of the source) until the master playlist's first variant
// (the source) lists a segment that ffprobe reads as the source's video.
func (r *run) firstSegment(ctx context.Context, s *stack) error {
	var listed, accepted []float64
	for i := range r.cfg.FirstSegmentRuns {
		ch := r.chs[i]
		start := time.Now()
		cmd := exec.CommandContext(ctx, r.cfg.FFmpegPath, "-hide_banner", "-loglevel", "error", "-nostdin",
			"-re", "-stream_loop", "-1", "-i", r.src, "-c", "copy", "-f", "flv", s.rtmpURL+ch.key)
		cmd.WaitDelay = 5 * time.Second
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("mediabench: starting ffmpeg: %w", err)
		}
		var at time.Duration
		var pl string
		err := poll(ctx, 50*time.Millisecond, 30*time.Second, "the first playable segment", func() (bool, error) {
			if pl == "" {
				pl = s.sourcePlaylist(ctx, ch.id)
				if pl == "" {
					return false, nil
				}
			}
			p, err := s.playlist(ctx, pl)
			if err != nil || len(p.Segments) == 0 {
				return false, nil
			}
			t := time.Since(start)
			seg := path.Join(path.Dir(pl), p.Segments[0].URI)
			if err := r.probeSegment(ctx, s.httpURL+seg); err != nil {
				r.progress("first segment run %d: %s not readable yet: %v", i+1, seg, err)
				return false, nil
			}
			at = t
			return true, nil
		})
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err != nil {
			return fmt.Errorf("%w (ffmpeg: %s)", err, strings.TrimSpace(stderr.String()))
		}
		acc := s.sink.openedAt(ch.id).Sub(start)
		listed = append(listed, at.Seconds())
		accepted = append(accepted, acc.Seconds())
		r.progress("first segment run %d/%d: publish accepted after %v, first playable segment after %v",
			i+1, r.cfg.FirstSegmentRuns, acc.Round(time.Millisecond), at.Round(time.Millisecond))
	}
	r.res.add("first_segment", median(listed), "s",
		fmt.Sprintf("publish → first playable segment, median of %d (ffmpeg -re -c copy start → source playlist lists a segment ffprobe reads)", len(listed)))
	r.res.add("first_segment_max", slices.Max(listed), "s", "publish → first playable segment, worst run")
	r.res.add("publish_accepted", median(accepted), "s",
		"ffmpeg start → ingest hands the stream to media (handshake, key check in SQLite, ~2 s of track detection), median")
	return nil
}

// probeSegment checks with ffprobe that url holds the source's H.264 video.
func (r *run) probeSegment(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, r.cfg.FFprobePath, "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", url).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ffprobe: %w: %s", err, strings.TrimSpace(string(out)))
	}
	want := fmt.Sprintf("h264,%d,%d", r.cfg.Source.Width, r.cfg.Source.Height)
	// ffprobe prints the stream once per program and once alone.
	got, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if got = strings.TrimSpace(got); got != want {
		return fmt.Errorf("ffprobe read %q, want %q", got, want)
	}
	return nil
}

// ladder measures one transcoded ladder: the CPU of its ffmpeg process
// and its real-time factor, the media time it lists per wall time.
func (r *run) ladder(ctx context.Context, s *stack) error {
	ch := r.chs[r.cfg.FirstSegmentRuns]
	const id = "ladder"
	if err := r.lg.publish(ctx, r.src, []string{id}, []string{s.rtmpURL + ch.key}); err != nil {
		return err
	}
	defer func() { _ = r.lg.stop(ctx, id) }()
	var ci media.ChannelInfo
	var pid int
	err := poll(ctx, 100*time.Millisecond, 60*time.Second, "the ladder's first segments", func() (bool, error) {
		var ok bool
		ci, ok = s.media.Channel(ch.id)
		st, _ := s.media.ChannelStats(ch.id)
		pid = st.LadderPID
		if !ok || pid == 0 || len(ci.Renditions) == 0 {
			return false, nil
		}
		for _, ri := range ci.Renditions {
			p, err := s.playlist(ctx, ri.PlaylistPath)
			if err != nil || len(p.Segments) == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	// The ladder starts behind (the ingest hands over ~2 s at once, x264
	// starts up): let it catch up before measuring.
	if err := sleep(ctx, 3*r.cfg.SegmentDuration); err != nil {
		return err
	}
	st0, _ := s.media.ChannelStats(ch.id)
	seen := make([]map[int]bool, len(ci.Renditions))
	lists := make([][]listing, len(ci.Renditions))
	scan := func(initial bool) {
		for i, ri := range ci.Renditions {
			p, err := s.playlist(ctx, ri.PlaylistPath)
			if err != nil {
				continue
			}
			now := time.Now()
			if seen[i] == nil {
				seen[i] = map[int]bool{}
			}
			for k, sg := range p.Segments {
				if seq := p.Sequence + k; !seen[i][seq] {
					seen[i][seq] = true
					if !initial {
						lists[i] = append(lists[i], listing{now, sg.Duration})
					}
				}
			}
		}
	}
	scan(true)
	p0, err := readProc(pid)
	if err != nil {
		return err
	}
	m0, _ := readMachineCPU()
	t0 := time.Now()
	for time.Since(t0) < r.cfg.LadderWindow {
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
		scan(false)
	}
	p1, err := readProc(pid)
	m1, _ := readMachineCPU()
	el := time.Since(t0).Seconds()
	st1, _ := s.media.ChannelStats(ch.id)
	if err != nil || st1.LadderPID != pid {
		return fmt.Errorf("mediabench: the ladder ffmpeg (pid %d) restarted during the window", pid)
	}
	cores := (p1.CPU - p0.CPU) / el
	rtf := math.Inf(1)
	var names []string
	for i, l := range lists {
		if len(l) < 3 {
			return fmt.Errorf("mediabench: rendition %s listed %d new segments in %v", ci.Renditions[i].Name, len(l), r.cfg.LadderWindow)
		}
		f := realtimeFactor(l)
		rtf = min(rtf, f)
		names = append(names, fmt.Sprintf("%s %dx%d: %.3f", ci.Renditions[i].Name, ci.Renditions[i].Width, ci.Renditions[i].Height, f))
	}
	r.res.add("ladder/cores", cores, "cores", fmt.Sprintf("CPU of one ladder ffmpeg (x264 %s, %s from %dx%d@%dfps), /proc/%d/stat over %.0f s",
		r.cfg.X264Preset, strings.Join(renditionNames(ci.Renditions), "/"), r.cfg.Source.Width, r.cfg.Source.Height, r.cfg.Source.FPS, pid, el))
	r.res.add("ladder/realtime_factor", rtf, "x", "media time listed / wall time, slowest rendition (1.0 = keeps up with the live input)")
	r.res.add("ladder/cores_per_realtime", cores/rtf, "cores", "CPU seconds the ladder spends per second of media (cores / real-time factor): the cores one live ladder needs to keep up")
	r.res.add("ladder/machine_busy", (m1.busy-m0.busy)/el, "cores", "whole machine busy over the window (every process, including other users')")
	r.res.add("ladder/rss", float64(p1.RSS)/1e6, "MB", "resident memory of the ladder ffmpeg")
	r.res.add("ladder/feed_drops", float64(st1.DroppedFrames-st0.DroppedFrames), "frames", "access units dropped by the ladder and sampler feeds during the window")
	r.res.note("ladder: real-time factor per rendition = least-squares slope of the media time listed (cumulative EXTINF) against the wall-clock time of each new listing (playlists polled every 100 ms; ~1.0 when it keeps up with the real-time input): %s; %.2f ladders of this kind would fill %d cores",
		strings.Join(names, ", "), float64(r.res.Cores)/(cores/rtf), r.res.Cores)
	r.progress("ladder: %.2f cores, real-time factor %.3f (%s), %.2f cores per real-time ladder; machine %.2f/%d cores busy",
		cores, rtf, strings.Join(names, ", "), cores/rtf, (m1.busy-m0.busy)/el, r.res.Cores)
	return nil
}

func renditionNames(rs []media.RenditionInfo) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

// latency measures, for each source segment, the time from the arrival of
// its frames at media's StreamWriter to the moment the source playlist
// lists the segment.
func (r *run) latency(ctx context.Context, s *stack) error {
	ch := r.chs[r.cfg.FirstSegmentRuns+1]
	const id, warmup = "latency", 2
	s.sink.trace(ch.id)
	if err := r.lg.publish(ctx, r.src, []string{id}, []string{s.rtmpURL + ch.key}); err != nil {
		return err
	}
	defer func() { _ = r.lg.stop(ctx, id) }()
	var pl string
	if err := poll(ctx, 20*time.Millisecond, 30*time.Second, "the source playlist", func() (bool, error) {
		pl = s.sourcePlaylist(ctx, ch.id)
		return pl != "", nil
	}); err != nil {
		return err
	}
	type firstSeen struct {
		listing
		initial bool
	}
	seen := map[int]firstSeen{}
	need := warmup + r.cfg.LatencySegments
	first := true
	const every = 20 * time.Millisecond
	err := poll(ctx, every, 30*time.Second+time.Duration(need+2)*r.cfg.SegmentDuration*2, "the source segments", func() (bool, error) {
		p, err := s.playlist(ctx, pl)
		if err != nil {
			return false, nil
		}
		now := time.Now()
		for k, sg := range p.Segments {
			if _, ok := seen[p.Sequence+k]; !ok {
				seen[p.Sequence+k] = firstSeen{listing{now, sg.Duration}, first}
			}
		}
		first = false
		return p.end() >= need, nil
	})
	if err != nil {
		return err
	}
	arr := s.sink.arrivals(ch.id)
	var idrs []int
	for i, a := range arr {
		if a.idr {
			idrs = append(idrs, i)
		}
	}
	if len(idrs) < need+1 {
		return fmt.Errorf("mediabench: %d IDR frames traced, want %d", len(idrs), need+1)
	}
	base := arr[idrs[0]].pts
	const tol = 50 * time.Millisecond
	var firstL, lastL, closeL []float64
	var mismatched int
	cum := 0.0
	for seq := range need {
		l, ok := seen[seq]
		if !ok {
			return fmt.Errorf("mediabench: source segment %d was never seen (media sequence does not start at 0?)", seq)
		}
		start := base + time.Duration(cum*float64(time.Second))
		cum += l.dur
		end := base + time.Duration(cum*float64(time.Second))
		if seq < warmup || l.initial {
			continue
		}
		k, j := -1, -1
		// gohlslib's boundaries are the IDRs' DTS, except the start of the
		// first segment (its PTS): match either.
		near := func(a arrival, t time.Duration) bool {
			return (a.pts-t).Abs() < tol || (a.dts-t).Abs() < tol
		}
		for _, i := range idrs {
			if k < 0 && near(arr[i], start) {
				k = i
			}
			if j < 0 && near(arr[i], end) {
				j = i
			}
		}
		if k < 0 || j <= k {
			r.cfg.Logger.Debug("latency: segment not matched", "seq", seq, "start", start, "end", end, "k", k, "j", j)
			mismatched++
			continue
		}
		firstL = append(firstL, l.at.Sub(arr[k].at).Seconds())
		lastL = append(lastL, l.at.Sub(arr[j-1].at).Seconds())
		closeL = append(closeL, l.at.Sub(arr[j].at).Seconds())
	}
	if len(firstL) == 0 {
		return fmt.Errorf("mediabench: no segment could be matched to its frames (%d mismatched)", mismatched)
	}
	segS := r.cfg.SegmentDuration.Seconds()
	target := segS + 1
	verdict := "meets"
	if slices.Max(firstL) > target {
		verdict = "MISSES"
	}
	r.res.add("latency/first_frame_p50", median(firstL), "s", "frame at media's StreamWriter → its segment listed in the source playlist, first (oldest) frame of each segment, median")
	r.res.add("latency/first_frame_max", slices.Max(firstL), "s", fmt.Sprintf("same, worst segment (target ≤ segment %.1f s + 1 s = %.1f s: %s)", segS, target, verdict))
	r.res.add("latency/last_frame_p50", median(lastL), "s", "same for the last (newest) frame of each segment, median")
	r.res.add("latency/close_p50", median(closeL)*1000, "ms", "next IDR's arrival (which closes the segment) → segment listed: packaging overhead, median")
	r.res.note("latency method: the source (%v GOP) is replayed in real time by the load generator; a tap between ingest and media records the wall-clock arrival and PTS of every video access unit of one channel; the source playlist is polled every %v; segment n starts at the first IDR's PTS + the sum of the EXTINF of segments 0..n-1 and is matched to the IDR with that PTS or DTS (±%v). For %d segments after %d warm-up ones (%d unmatched): latency of a frame = listing time − its arrival. A segment can only be listed once the next IDR arrives, so its first frame waits about one segment duration",
		r.cfg.Source.GOP, every, tol, len(firstL), warmup, mismatched)
	r.progress("latency: first frame median %.3f s, max %.3f s (target %.1f s: %s); last frame median %.3f s; close %.0f ms",
		median(firstL), slices.Max(firstL), target, verdict, median(lastL), median(closeL)*1000)
	return nil
}

// streams ramps up concurrent passthrough streams and measures CPU and
// memory per stream at each step.
func (r *run) streams(ctx context.Context, s *stack) error {
	// Let the latency channel end (reconnect grace) before the baseline.
	if err := sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	self := os.Getpid()
	base, err := readProc(self)
	if err != nil {
		return err
	}
	first := r.cfg.FirstSegmentRuns + 2
	paths := map[string]string{}
	started := 0
	bestOK := 0
	segS := r.cfg.SegmentDuration.Seconds()
	for _, n := range r.cfg.Streams {
		var ids, urls []string
		for i := started; i < n; i++ {
			ids = append(ids, "s"+strconv.Itoa(i))
			urls = append(urls, s.rtmpURL+r.chs[first+i].key)
		}
		if err := r.lg.publish(ctx, r.src, ids, urls); err != nil {
			return fmt.Errorf("mediabench: starting %d publishers: %w", len(ids), err)
		}
		started = n
		chs := r.chs[first : first+n]
		// Wait until every stream has its first segment; on an overloaded
		// machine some may not: the step is measured anyway and they count
		// as not OK.
		ready := func() int {
			k := 0
			for _, c := range chs {
				if ci, ok := s.media.Channel(c.id); ok && !ci.ReadyAt.IsZero() {
					k++
				}
			}
			return k
		}
		waitFor := 30*time.Second + time.Duration(n)*200*time.Millisecond
		if err := poll(ctx, 250*time.Millisecond, waitFor, "streams ready", func() (bool, error) {
			return ready() == n, nil
		}); err != nil && ctx.Err() != nil {
			return err
		}
		notReady := n - ready()
		if notReady > 0 {
			r.progress("passthrough %d streams: %d had no segment after %v; measuring anyway", n, notReady, waitFor)
		}
		// Publishers started in this step catch up on their first seconds.
		if err := sleep(ctx, r.cfg.SegmentDuration); err != nil {
			return err
		}
		ends := func() []int {
			out := make([]int, len(chs))
			for i, c := range chs {
				if paths[c.id] == "" {
					paths[c.id] = s.sourcePlaylist(ctx, c.id)
				}
				if p, err := s.playlist(ctx, paths[c.id]); err == nil && paths[c.id] != "" {
					out[i] = p.end()
				} else {
					out[i] = -1
				}
			}
			return out
		}
		seg0 := ends()
		taps := make([]int, len(chs))
		tap0 := make([]procSample, len(chs))
		for i, c := range chs {
			st, _ := s.media.ChannelStats(c.id)
			taps[i] = st.TapPID
			if taps[i] != 0 {
				tap0[i], _ = readProc(taps[i])
			}
		}
		self0, err := readProc(self)
		if err != nil {
			return err
		}
		lg0, _ := readProc(r.lg.pid())
		m0, _ := readMachineCPU()
		t0 := time.Now()
		if err := sleep(ctx, r.cfg.StepDuration); err != nil {
			return err
		}
		self1, err := readProc(self)
		if err != nil {
			return err
		}
		lg1, _ := readProc(r.lg.pid())
		m1, _ := readMachineCPU()
		el := time.Since(t0).Seconds()
		step := Step{Streams: n, Window: time.Since(t0).Round(time.Millisecond), NotReady: notReady}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		step.ServerHeap = int64(ms.HeapInuse)
		for i := range chs {
			if taps[i] == 0 {
				continue
			}
			if p, err := readProc(taps[i]); err == nil {
				step.SamplerCores += (p.CPU - tap0[i].CPU) / el
				step.SamplerRSS += p.RSS
			}
			if pss, err := readPSS(taps[i]); err == nil {
				step.SamplerPSS += pss
			}
		}
		seg1 := ends()
		step.ServerCores = (self1.CPU - self0.CPU) / el
		step.LoadGenCores = (lg1.CPU - lg0.CPU) / el
		step.MachineCores = (m1.busy - m0.busy) / el
		step.ServerRSSDelta = self1.RSS - base.RSS
		step.Died = len(r.lg.failures())
		expect := int(el/segS) - 1
		minSeg, maxSeg := math.MaxInt, 0
		for i := range chs {
			if seg0[i] < 0 || seg1[i] < 0 {
				continue
			}
			got := seg1[i] - seg0[i]
			step.Segments += got
			minSeg, maxSeg = min(minSeg, got), max(maxSeg, got)
			if got >= max(1, expect) {
				step.StreamsOK++
			}
		}
		if f := r.lg.failures(); len(f) > 0 {
			seen := map[string]bool{}
			for _, msg := range f {
				if !seen[msg] && len(seen) < 3 {
					seen[msg] = true
					r.progress("passthrough %d streams: a publisher died: %s", n, msg)
				}
			}
		}
		var rej []string
		for _, reason := range []string{ingest.ReasonUnauthorized, ingest.ReasonDuplicate, ingest.ReasonCodec, ingest.ReasonHandshake,
			ingest.ReasonMaxConnections, ingest.ReasonSink, ingest.ReasonInternal} {
			if v := s.ingest.Rejected(reason); v > 0 {
				rej = append(rej, fmt.Sprintf("%s=%.0f", reason, v))
			}
		}
		if len(rej) > 0 {
			r.progress("passthrough %d streams: ingest rejections so far: %s", n, strings.Join(rej, " "))
		}
		step.SegmentsExpected = int(math.Round(float64(n) * el / segS))
		r.res.Steps = append(r.res.Steps, step)
		if step.StreamsOK == n {
			bestOK = n
		}
		pfx := fmt.Sprintf("passthrough_%d/", n)
		per := func(c float64) float64 { return c / float64(n) * 100 }
		r.res.add(pfx+"server_cpu_per_stream", per(step.ServerCores), "%core/stream", "server process (RTMP ingest + passthrough HLS + sample JPEGs) CPU per stream")
		r.res.add(pfx+"sampler_cpu_per_stream", per(step.SamplerCores), "%core/stream", "frame sampler ffmpeg (one IDR decoded per sample) CPU per stream")
		r.res.add(pfx+"cpu_per_stream", per(step.ServerCores+step.SamplerCores), "%core/stream", "server + sampler CPU per stream")
		r.res.add(pfx+"cores", step.ServerCores+step.SamplerCores, "cores", fmt.Sprintf("server + samplers, of %d cores", r.res.Cores))
		r.res.add(pfx+"loadgen_cpu_per_stream", per(step.LoadGenCores), "%core/stream", "load generator process (not part of the server) per stream")
		r.res.add(pfx+"machine_busy", step.MachineCores, "cores", "whole machine busy over the window (every process, including other users')")
		r.res.add(pfx+"server_rss_per_stream", float64(step.ServerRSSDelta)/float64(n)/1e6, "MB/stream", "server RSS above its level before the ramp, per stream")
		r.res.add(pfx+"server_heap_per_stream", float64(step.ServerHeap)/float64(n)/1e6, "MB/stream", "server Go heap in use at the end of the window, per stream (HLS segments are kept in memory)")
		r.res.add(pfx+"sampler_rss_per_stream", float64(step.SamplerRSS)/float64(n)/1e6, "MB/stream", "sampler ffmpeg RSS per stream (counts the shared ffmpeg libraries in every process)")
		r.res.add(pfx+"sampler_pss_per_stream", float64(step.SamplerPSS)/float64(n)/1e6, "MB/stream", "sampler ffmpeg PSS per stream (shared pages divided among the processes)")
		r.res.add(pfx+"streams_ok", float64(step.StreamsOK), "streams", fmt.Sprintf("streams that listed ≥ %d new source segments in %.0f s", max(1, expect), el))
		r.progress("passthrough %d streams: server %.2f + samplers %.2f cores (%.2f %%core/stream), load generator %.2f cores, machine %.2f/%d cores busy; RSS +%.0f MB server, %.0f MB samplers (PSS %.0f MB); %d/%d streams kept producing segments (%d/%d segments, %d..%d per stream), %d not ready, %d publishers died",
			n, step.ServerCores, step.SamplerCores, per(step.ServerCores+step.SamplerCores), step.LoadGenCores, step.MachineCores, r.res.Cores,
			float64(step.ServerRSSDelta)/1e6, float64(step.SamplerRSS)/1e6, float64(step.SamplerPSS)/1e6, step.StreamsOK, n, step.Segments, step.SegmentsExpected, minSeg, maxSeg, step.NotReady, step.Died)
	}
	last := r.res.Steps[len(r.res.Steps)-1]
	n := float64(last.Streams)
	r.res.add("memory_per_stream", float64(last.ServerRSSDelta+last.SamplerPSS)/n/1e6, "MB/stream",
		fmt.Sprintf("memory per stream at %d streams: server RSS delta + its sampler ffmpeg's PSS", last.Streams))
	r.res.add("max_streams_ok", float64(bestOK), "streams", "largest ramp step at which every stream kept producing segments")
	r.res.note("streams method: the load generator (a separate process, one goroutine per stream replaying the FLV tags from memory, paced by timestamp, gortmplib client) publishes N streams; ladder off, sampler on; after every stream has its first segment, CPU is read from /proc/<pid>/stat (utime+stime) of the server process, of each sampler ffmpeg and of the load generator at the start and end of a %v window; RSS from the same files; each stream's source playlist is read before and after the window to count new segments",
		r.cfg.StepDuration)
	return nil
}

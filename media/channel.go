package media

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
)

// timestampBase is where every broadcast's timeline starts, so that no
// timestamp written to MPEG-TS (or its PCR) is ever negative.
const timestampBase = 10 * time.Second

// channel is one live broadcast: its muxers, ladder, tap and timeline.
type channel struct {
	s           *Server
	id          string
	broadcastID string
	startedAt   time.Time
	log         *slog.Logger
	dir         string // ladder output of this broadcast

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	gen    int  // publish session number
	live   bool // a publisher is attached
	ended  bool
	params StreamParams
	video  videoParams
	acodec string
	src    *gohlslib.Muxer
	srcV   *gohlslib.Track
	srcA   *gohlslib.Track
	ll     *gohlslib.Muxer
	llV    *gohlslib.Track
	llA    *gohlslib.Track
	ldr    *ladder
	tp     *tap
	grace  *time.Timer

	// Timeline: publisher timestamps + offset. offset is computed on the
	// first IDR of every session so that a resumed session continues where
	// the previous one stopped (nextStart).
	sessionIDR bool
	offset     time.Duration
	nextStart  time.Duration
	lastDTS    time.Duration
	firstIDR   time.Duration // of the broadcast (timeline)
	ntpBase    time.Time
	readyAt    time.Time
	encErrLog  time.Time

	bytesIn     atomic.Int64
	healthBytes int64
	healthAt    time.Time
	bitrate     atomic.Int64
}

func (s *Server) newChannel(id string, p StreamParams, vp videoParams) (*channel, error) {
	c := &channel{
		s:           s,
		id:          id,
		broadcastID: newID(),
		startedAt:   time.Now(),
		params:      p,
		video:       vp,
		acodec:      aacCodec(p.AudioConfig),
		nextStart:   timestampBase,
		healthAt:    time.Now(),
	}
	c.log = s.log.With("channel_id", id, "broadcast_id", c.broadcastID)
	c.dir = filepath.Join(s.cfg.WorkDir, c.broadcastID)
	c.ctx, c.cancel = context.WithCancel(s.ctx)

	var err error
	c.src, c.srcV, c.srcA, err = c.newMuxer(gohlslib.MuxerVariantMPEGTS)
	if err != nil {
		c.cancel()
		return nil, err
	}
	if s.cfg.LowLatency {
		c.ll, c.llV, c.llA, err = c.newMuxer(gohlslib.MuxerVariantLowLatency)
		if err != nil {
			c.src.Close()
			c.cancel()
			return nil, err
		}
	}
	if !s.cfg.LadderDisabled {
		c.ldr = newLadder(c.log, s.cfg, ladderInput{
			SourceWidth:      vp.Width,
			SourceHeight:     vp.Height,
			SourceFPS:        vp.FPS,
			HasAudio:         p.AudioConfig != nil,
			Renditions:       s.cfg.Renditions,
			SegmentDuration:  s.cfg.SegmentDuration,
			PlaylistSegments: s.cfg.PlaylistSegments,
			Preset:           s.cfg.X264Preset,
			OutDir:           c.dir,
		}, p.AudioConfig, s.metrics)
	}
	if c.ldr != nil {
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			c.closeMuxers()
			c.cancel()
			return nil, fmt.Errorf("media: creating the ladder folder: %w", err)
		}
		c.wg.Go(func() { c.ldr.run(c.ctx) })
	}
	c.tp = newTap(c.log, s.cfg, id, c.broadcastID, vp.Width, vp.Height, s.metrics)
	if c.tp != nil {
		c.wg.Go(func() { c.tp.run(c.ctx) })
	}
	return c, nil
}

func (c *channel) newMuxer(v gohlslib.MuxerVariant) (*gohlslib.Muxer, *gohlslib.Track, *gohlslib.Track, error) {
	cfg := c.s.cfg
	vt := &gohlslib.Track{
		Codec:     &codecs.H264{SPS: c.params.SPS, PPS: c.params.PPS},
		ClockRate: 90000,
	}
	tracks := []*gohlslib.Track{vt}
	var at *gohlslib.Track
	if c.params.AudioConfig != nil {
		at = &gohlslib.Track{
			Codec:     &codecs.MPEG4Audio{Config: *c.params.AudioConfig},
			ClockRate: c.params.AudioConfig.SampleRate,
		}
		tracks = append(tracks, at)
	}
	m := &gohlslib.Muxer{
		Tracks:             tracks,
		Variant:            v,
		SegmentCount:       cfg.PlaylistSegments,
		SegmentMinDuration: cfg.SegmentDuration,
		PartMinDuration:    cfg.PartDuration,
		OnEncodeError: func(err error) {
			c.log.Warn("HLS muxer error", "error", err)
		},
	}
	if v == gohlslib.MuxerVariantLowLatency {
		m.SegmentCount = max(7, cfg.PlaylistSegments)
	}
	if err := m.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("media: starting the HLS muxer: %w", err)
	}
	return m, vt, at, nil
}

func (c *channel) closeMuxers() {
	c.src.Close()
	if c.ll != nil {
		c.ll.Close()
	}
}

// attach starts a publish session. Called with the server's lock held.
func (c *channel) attach() StreamWriter {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.live = true
	c.sessionIDR = false
	if c.grace != nil {
		c.grace.Stop()
		c.grace = nil
	}
	return &session{c: c, gen: c.gen}
}

// resume attaches a new publisher to a channel in its grace period when its
// parameters are unchanged. live reports that a publisher is still attached.
func (c *channel) resume(p StreamParams) (w StreamWriter, resumed, live bool) {
	c.mu.Lock()
	if c.live {
		c.mu.Unlock()
		return nil, false, true
	}
	same := !c.ended && bytes.Equal(c.params.SPS, p.SPS) && bytes.Equal(c.params.PPS, p.PPS) &&
		sameAudio(c.params, p)
	c.mu.Unlock()
	if !same {
		return nil, false, false
	}
	return c.attach(), true, false
}

func sameAudio(a, b StreamParams) bool {
	if (a.AudioConfig == nil) != (b.AudioConfig == nil) {
		return false
	}
	return a.AudioConfig == nil || *a.AudioConfig == *b.AudioConfig
}

// idleSince reports whether the channel has had no publisher since session gen.
func (c *channel) idleSince(gen int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.live && c.gen == gen
}

// detach ends publish session gen and starts the grace period.
func (c *channel) detach(gen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || !c.live {
		return
	}
	c.live = false
	c.nextStart = c.lastDTS + 100*time.Millisecond
	c.grace = time.AfterFunc(c.s.cfg.ReconnectGrace, func() { c.s.endIfIdle(c, gen) })
	c.log.Info("publisher left; waiting for a reconnect", "grace", c.s.cfg.ReconnectGrace)
}

// end stops the broadcast: processes, muxers, files; then the offline event.
func (c *channel) end() {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	c.live = false
	if c.grace != nil {
		c.grace.Stop()
	}
	c.mu.Unlock()

	c.cancel()
	c.wg.Wait()
	c.closeMuxers()
	if c.ldr != nil {
		if err := os.RemoveAll(c.dir); err != nil {
			c.log.Warn("removing the ladder files failed", "error", err)
		}
	}
	c.s.metrics.live.Dec()
	c.s.publishEvent(StreamEvent{
		Kind: EventOffline, ChannelID: c.id, BroadcastID: c.broadcastID,
		Time: time.Now(), StartedAt: c.startedAt,
	})
	c.log.Info("broadcast ended", "duration", time.Since(c.startedAt).Round(time.Second))
}

// mapTS moves a publisher timestamp onto the broadcast timeline.
func (c *channel) mapTS(ts time.Duration) time.Duration { return ts + c.offset }

func durationTo(d time.Duration, clock int64) int64 {
	return int64(d/time.Second)*clock + int64(d%time.Second)*clock/int64(time.Second)
}

// writeH264 handles one access unit. Called with c.mu held.
func (c *channel) writeH264(pts, dts time.Duration, au [][]byte) {
	in := scanAU(au)
	if in.sps != nil {
		c.params.SPS = in.sps
	}
	if in.pps != nil {
		c.params.PPS = in.pps
	}
	if !in.slice {
		return // parameter sets only (a mid-stream sequence header)
	}
	if !c.sessionIDR {
		if !in.idr {
			return
		}
		c.sessionIDR = true
		c.offset = c.nextStart - dts
		now := time.Now()
		if c.ntpBase.IsZero() {
			c.firstIDR = c.mapTS(dts)
		}
		c.ntpBase = now.Add(-c.mapTS(pts))
	}
	var n int
	for _, nalu := range au {
		n += len(nalu)
	}
	c.bytesIn.Add(int64(n))
	c.s.metrics.ingestByte.Add(float64(n))
	au = withParams(nil, au, in, c.params.SPS, c.params.PPS)

	p, d := c.mapTS(pts), c.mapTS(dts)
	ntp := c.ntpBase.Add(p)
	p90, d90 := durationTo(p, 90000), durationTo(d, 90000)
	if err := c.src.WriteH264(c.srcV, ntp, p90, au); err != nil {
		c.encodeError(err)
	}
	if c.ll != nil {
		if err := c.ll.WriteH264(c.llV, ntp, p90, au); err != nil {
			c.encodeError(err)
		}
	}
	if c.ldr != nil {
		c.ldr.offer(feedItem{video: true, pts: p90, dts: d90, au: au})
	}
	if in.idr {
		if c.tp != nil {
			c.tp.offer(p, time.Now(), au)
		}
		if c.readyAt.IsZero() && d-c.firstIDR >= c.s.cfg.SegmentDuration {
			// gohlslib has just closed the first segment.
			c.readyAt = time.Now()
			c.online()
		}
	}
	c.lastDTS = max(c.lastDTS, d)
}

// writeAAC handles one AAC frame. Called with c.mu held.
func (c *channel) writeAAC(pts time.Duration, au []byte) {
	if !c.sessionIDR || c.srcA == nil || len(au) == 0 {
		return
	}
	c.bytesIn.Add(int64(len(au)))
	c.s.metrics.ingestByte.Add(float64(len(au)))
	p := c.mapTS(pts)
	if p < 0 {
		return
	}
	ntp := c.ntpBase.Add(p)
	aus := [][]byte{au}
	if err := c.src.WriteMPEG4Audio(c.srcA, ntp, durationTo(p, int64(c.srcA.ClockRate)), aus); err != nil {
		c.encodeError(err)
	}
	if c.ll != nil {
		if err := c.ll.WriteMPEG4Audio(c.llA, ntp, durationTo(p, int64(c.llA.ClockRate)), aus); err != nil {
			c.encodeError(err)
		}
	}
	if c.ldr != nil {
		c.ldr.offer(feedItem{pts: durationTo(p, 90000), aac: au})
	}
}

func (c *channel) encodeError(err error) {
	if time.Since(c.encErrLog) > 10*time.Second {
		c.encErrLog = time.Now()
		c.log.Warn("HLS muxer rejected an access unit", "error", err)
	}
}

func (c *channel) renditionNames() []string {
	if c.ldr == nil {
		return nil
	}
	out := make([]string, len(c.ldr.plan))
	for i, p := range c.ldr.plan {
		out[i] = p.Name
	}
	return out
}

// online publishes the online event. Called with c.mu held.
func (c *channel) online() {
	ev := c.eventBase(EventOnline)
	ev.Bitrate = c.mediaBitrate()
	c.s.publishEvent(ev)
}

func (c *channel) eventBase(k EventKind) StreamEvent {
	return StreamEvent{
		Kind: k, ChannelID: c.id, BroadcastID: c.broadcastID, Time: time.Now(), StartedAt: c.startedAt,
		VideoCodec: c.video.Codec, AudioCodec: c.acodec, Width: c.video.Width, Height: c.video.Height,
		FPS: c.video.FPS, Renditions: c.renditionNames(),
	}
}

// mediaBitrate is the average ingest bitrate over the media received so
// far (wall time would overstate it: the publisher's first seconds arrive in
// a burst after track detection). Called with c.mu held.
func (c *channel) mediaBitrate() int64 {
	el := (c.lastDTS - c.firstIDR).Seconds()
	if el < 0.5 {
		return 0
	}
	return int64(float64(c.bytesIn.Load()*8) / el)
}

// health computes the ingest bitrate since the last call and publishes a
// health event.
func (c *channel) health() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.readyAt.IsZero() {
		return
	}
	now := time.Now()
	b := c.bytesIn.Load()
	if dt := now.Sub(c.healthAt).Seconds(); dt > 0 {
		c.bitrate.Store(int64(float64(b-c.healthBytes) * 8 / dt))
	}
	c.healthBytes, c.healthAt = b, now
	st := c.statsLocked()
	ev := c.eventBase(EventHealth)
	ev.Bitrate = c.bitrate.Load()
	ev.DroppedFrames = st.DroppedFrames
	ev.SampledFrames = st.SampledFrames
	ev.LadderRestarts = st.LadderRestarts
	c.s.publishEvent(ev)
}

func (c *channel) stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statsLocked()
}

func (c *channel) statsLocked() Stats {
	st := Stats{BytesIn: c.bytesIn.Load()}
	if c.ldr != nil {
		st.DroppedFrames += c.ldr.dropped.Load()
		st.LadderRestarts = c.ldr.restarts.Load()
		st.LadderPID = c.ldr.pid()
	}
	if c.tp != nil {
		st.DroppedFrames += c.tp.dropped.Load()
		st.SampledFrames = c.tp.sampled.Load()
		st.TapPID = c.tp.pid()
	}
	return st
}

func (c *channel) info() ChannelInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	ci := ChannelInfo{
		ChannelID: c.id, BroadcastID: c.broadcastID, StartedAt: c.startedAt, Publishing: c.live,
		ReadyAt: c.readyAt, Width: c.video.Width, Height: c.video.Height, FPS: c.video.FPS,
		VideoCodec: c.video.Codec, AudioCodec: c.acodec,
		MasterPath: "/hls/" + c.id + "/index.m3u8",
	}
	if c.ll != nil {
		ci.LowLatencyPath = "/hls/" + c.id + "/ll/index.m3u8"
	}
	if c.tp != nil && c.tp.thumbEvery > 0 {
		ci.ThumbnailSizes = c.s.cfg.ThumbnailSizes
	}
	if c.ldr != nil {
		for _, p := range c.ldr.plan {
			ci.Renditions = append(ci.Renditions, RenditionInfo{
				Name: p.Name, Width: p.Width, Height: p.Height, FPS: p.OutFPS,
				Bandwidth:    c.renditionBandwidth(p),
				PlaylistPath: "/hls/" + c.id + "/" + p.Name + "/index.m3u8",
			})
		}
	}
	return ci
}

// audioBandwidth is the AAC bitrate assumed in BANDWIDTH values.
const audioBandwidth = 160_000

func (c *channel) renditionBandwidth(p plannedRendition) int {
	bw := p.maxrate()
	if c.params.AudioConfig != nil {
		bw += audioBandwidth
	}
	return bw * 11 / 10 // MPEG-TS overhead
}

// session is the StreamWriter of one publish.
type session struct {
	c   *channel
	gen int
}

func (w *session) WriteH264(pts, dts time.Duration, au [][]byte) {
	c := w.c
	c.mu.Lock()
	if c.gen == w.gen && c.live {
		c.writeH264(pts, dts, au)
	}
	c.mu.Unlock()
}

func (w *session) WriteAAC(pts time.Duration, au []byte) {
	c := w.c
	c.mu.Lock()
	if c.gen == w.gen && c.live {
		c.writeAAC(pts, au)
	}
	c.mu.Unlock()
}

func (w *session) Close() { w.c.detach(w.gen) }

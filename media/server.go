package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Errors returned by OpenStream.
var (
	// ErrAlreadyLive is returned when the channel already has a publisher.
	ErrAlreadyLive = errors.New("media: channel already live")
	// ErrInvalidChannel is returned for a channel id the HLS paths cannot carry.
	ErrInvalidChannel = errors.New("media: invalid channel id")
	// ErrInvalidParams is returned for a stream whose SPS or audio
	// configuration cannot be used.
	ErrInvalidParams = errors.New("media: invalid stream parameters")
	// ErrClosed is returned once the server has stopped.
	ErrClosed = errors.New("media: server closed")
)

// StreamParams describe a publish: the H.264 SPS and PPS (NAL units without
// start codes) and the AAC configuration (nil without audio).
//
// It is an alias of an unnamed struct type so that ingest can declare the
// identical type on its side: neither package imports the other.
type StreamParams = struct {
	SPS, PPS    []byte
	AudioConfig *mpeg4audio.AudioSpecificConfig
}

// StreamWriter takes the media of one publish. Timestamps are the
// publisher's; access units are NAL units without start codes (H.264) and
// raw AAC frames. The writer may keep the slices: the caller must not reuse
// them. Calls never block on ffmpeg, the bus or HTTP clients. Close ends the
// publish (the channel then stays up for the reconnect grace period).
//
// It is an alias of an unnamed interface type, for the same reason as
// StreamParams.
type StreamWriter = interface {
	WriteH264(pts, dts time.Duration, au [][]byte)
	WriteAAC(pts time.Duration, au []byte)
	Close()
}

// channelRe is what a channel id must look like to appear in HLS paths.
var channelRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// Server packages live channels into HLS, runs their ladders and frame taps,
// and serves them over HTTP. Create it with New and run it with Run.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	events chan StreamEvent

	mu       sync.Mutex
	channels map[string]*channel
	closed   bool
}

// New checks cfg, fills its defaults and returns a server. ffmpeg must be
// present unless both the ladder and the frame tap are disabled.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if !cfg.LadderDisabled || !cfg.SamplerDisabled || !cfg.ThumbnailsDisabled {
		p, err := exec.LookPath(cfg.FFmpegPath)
		if err != nil {
			return nil, fmt.Errorf("media: ffmpeg not found: %w", err)
		}
		cfg.FFmpegPath = p
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("media: 'WorkDir': %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("media: registering metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "media"),
		metrics:  m,
		ctx:      ctx,
		cancel:   cancel,
		events:   make(chan StreamEvent, 1024),
		channels: map[string]*channel{},
	}
	s.wg.Go(s.eventLoop)
	return s, nil
}

// Run serves health events until ctx ends, then stops every channel (as if
// its grace period had ended) and waits for every goroutine and process.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.shutdown()
			return nil
		case <-s.ctx.Done():
			s.shutdown()
			return nil
		case <-t.C:
			for _, c := range s.liveChannels() {
				c.health()
			}
		}
	}
}

func (s *Server) shutdown() {
	s.mu.Lock()
	s.closed = true
	chs := make([]*channel, 0, len(s.channels))
	for _, c := range s.channels {
		chs = append(chs, c)
	}
	s.channels = map[string]*channel{}
	s.mu.Unlock()
	for _, c := range chs {
		c.end()
	}
	s.cancel()
	s.wg.Wait()
}

func (s *Server) liveChannels() []*channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*channel, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c)
	}
	return out
}

func (s *Server) channel(id string) *channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channels[id]
}

// OpenStream starts (or, within the reconnect grace period, resumes) the
// broadcast of channelID. It is what ingest calls once a publish is accepted.
// Channel ids appear in URLs and must match [A-Za-z0-9_-]{1,128}
// (ErrInvalidChannel otherwise). A reconnect whose SPS, PPS or audio
// configuration differ ends the old broadcast and starts a new one.
func (s *Server) OpenStream(channelID string, p StreamParams) (StreamWriter, error) {
	if !channelRe.MatchString(channelID) {
		return nil, ErrInvalidChannel
	}
	vp, err := parseSPS(p.SPS)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	if len(p.PPS) == 0 {
		return nil, fmt.Errorf("%w: no PPS", ErrInvalidParams)
	}
	if p.AudioConfig != nil && (p.AudioConfig.SampleRate <= 0 || p.AudioConfig.SampleRate > 192000) {
		return nil, fmt.Errorf("%w: AAC sample rate %d", ErrInvalidParams, p.AudioConfig.SampleRate)
	}

	for range 2 {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		c := s.channels[channelID]
		if c == nil {
			c, err = s.newChannel(channelID, p, vp)
			if err != nil {
				s.mu.Unlock()
				return nil, err
			}
			s.channels[channelID] = c
			s.metrics.live.Inc()
			w := c.attach()
			s.mu.Unlock()
			c.log.Info("broadcast started", "width", vp.Width, "height", vp.Height, "fps", vp.FPS,
				"video_codec", vp.Codec, "audio_codec", aacCodec(p.AudioConfig), "renditions", c.renditionNames())
			return w, nil
		}
		w, resumed, live := c.resume(p)
		if live {
			s.mu.Unlock()
			return nil, ErrAlreadyLive
		}
		if resumed {
			s.mu.Unlock()
			c.log.Info("publisher reconnected; broadcast resumed")
			return w, nil
		}
		// Reconnected with other parameters: end the old broadcast and start anew.
		delete(s.channels, channelID)
		s.mu.Unlock()
		c.log.Info("publisher reconnected with new parameters; starting a new broadcast")
		c.end()
	}
	return nil, ErrAlreadyLive
}

// endIfIdle ends c when its grace period ran out without a reconnect.
func (s *Server) endIfIdle(c *channel, gen int) {
	s.mu.Lock()
	if s.channels[c.id] != c || !c.idleSince(gen) {
		s.mu.Unlock()
		return
	}
	delete(s.channels, c.id)
	s.mu.Unlock()
	c.end()
}

func (s *Server) publishEvent(ev StreamEvent) {
	if s.cfg.Events == nil {
		return
	}
	select {
	case s.events <- ev:
	default:
		s.log.Warn("stream event queue full; event dropped", "kind", ev.Kind.String(), "channel_id", ev.ChannelID)
	}
}

func (s *Server) eventLoop() {
	for {
		select {
		case <-s.ctx.Done():
			// Deliver what is queued (offline events of the shutdown) with a deadline.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for {
				select {
				case ev := <-s.events:
					s.sendEvent(ctx, ev)
				default:
					return
				}
			}
		case ev := <-s.events:
			ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
			s.sendEvent(ctx, ev)
			cancel()
		}
	}
}

func (s *Server) sendEvent(ctx context.Context, ev StreamEvent) {
	if err := s.cfg.Events.PublishStreamEvent(ctx, ev); err != nil {
		s.log.Warn("publishing a stream event failed", "kind", ev.Kind.String(),
			"channel_id", ev.ChannelID, "error", err)
	}
}

// ChannelInfo describes a live channel for the stream API.
type ChannelInfo struct {
	ChannelID   string
	BroadcastID string
	StartedAt   time.Time
	// Publishing is false during the reconnect grace period.
	Publishing bool
	// ReadyAt is when the first source segment was complete (zero before).
	ReadyAt    time.Time
	Width      int
	Height     int
	FPS        float64
	VideoCodec string
	AudioCodec string
	Renditions []RenditionInfo
	// MasterPath is the master playlist's path, e.g. /hls/abc/index.m3u8;
	// LowLatencyPath is empty unless LL-HLS is on.
	MasterPath     string
	LowLatencyPath string
	// ThumbnailSizes lists the sizes of /thumbnails/{channel}-{w}x{h}.jpg.
	ThumbnailSizes []Size
}

// RenditionInfo is one ladder rendition of a live channel.
type RenditionInfo struct {
	Name          string
	Width, Height int
	FPS           float64
	Bandwidth     int
	PlaylistPath  string
}

// Channel returns the state of a live channel.
func (s *Server) Channel(channelID string) (ChannelInfo, bool) {
	c := s.channel(channelID)
	if c == nil {
		return ChannelInfo{}, false
	}
	return c.info(), true
}

// Channels returns every live channel, sorted by id.
func (s *Server) Channels() []ChannelInfo {
	chs := s.liveChannels()
	out := make([]ChannelInfo, 0, len(chs))
	for _, c := range chs {
		out = append(out, c.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ChannelID < out[j].ChannelID })
	return out
}

// Stats are counters of one channel, for tests and the API.
type Stats struct {
	BytesIn        int64
	SampledFrames  int64
	DroppedFrames  int64
	LadderRestarts int64
	LadderPID      int // 0 when no ladder ffmpeg runs
	TapPID         int
}

// ChannelStats returns the counters of a live channel.
func (s *Server) ChannelStats(channelID string) (Stats, bool) {
	c := s.channel(channelID)
	if c == nil {
		return Stats{}, false
	}
	return c.stats(), true
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

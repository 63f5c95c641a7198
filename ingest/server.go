package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// keyVerifier resolves a stream key to its channel (the store implements
// it). Any error refuses the publish: a wrong or revoked key as well as a
// store that cannot answer.
type keyVerifier interface {
	VerifyStreamKey(ctx context.Context, key string) (channelID string, err error)
}

// StreamParams describe an accepted publish: the H.264 SPS and PPS (NAL
// units without start codes) and the AAC configuration (nil without audio).
// It is an alias of an unnamed struct type that media declares identically.
type StreamParams = struct {
	SPS, PPS    []byte
	AudioConfig *mpeg4audio.AudioSpecificConfig
}

// StreamWriter takes the media of one publish (see media.StreamWriter).
// Timestamps are the publisher's; H.264 access units are NAL units without
// start codes, AAC frames are raw. The slices are never reused by ingest.
// Its calls must not block. Close is called once when the publish ends.
type StreamWriter = interface {
	WriteH264(pts, dts time.Duration, au [][]byte)
	WriteAAC(pts time.Duration, au []byte)
	Close()
}

// streamSink receives accepted publishes (media implements it).
type streamSink interface {
	OpenStream(channelID string, p StreamParams) (StreamWriter, error)
}

// Config configures a Server. Every zero value means the documented default.
type Config struct {
	// Address to listen on. It defaults to ":1935" (tests use
	// "127.0.0.1:0" and read Addr).
	Address string
	// App is the RTMP application of publish URLs. It defaults to "live".
	App string
	// HandshakeTimeout bounds everything from accept to the start of the
	// media (handshake, connect, publish, key check and about 2 s of track
	// detection). It defaults to 10s.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a publish that sends nothing for that long. It
	// defaults to 10s.
	IdleTimeout time.Duration
	// VerifyTimeout bounds one stream key check. It defaults to 5s.
	VerifyTimeout time.Duration
	// MaxConnections caps concurrent connections; more are closed at once.
	// It defaults to 1000.
	MaxConnections int

	// Keys checks stream keys. Required.
	Keys keyVerifier
	// Sink receives accepted streams. Required.
	Sink streamSink
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer registers the metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
}

func (c Config) withDefaults() Config {
	if c.Address == "" {
		c.Address = ":1935"
	}
	if c.App == "" {
		c.App = "live"
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 10 * time.Second
	}
	if c.VerifyTimeout == 0 {
		c.VerifyTimeout = 5 * time.Second
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Keys == nil:
		return errors.New("ingest: 'Keys' is required")
	case c.Sink == nil:
		return errors.New("ingest: 'Sink' is required")
	case c.HandshakeTimeout < 0 || c.IdleTimeout < 0 || c.VerifyTimeout < 0:
		return errors.New("ingest: timeouts must not be negative")
	case c.MaxConnections < 0:
		return errors.New("ingest: 'MaxConnections' must not be negative")
	case !validKey(c.App):
		return fmt.Errorf("ingest: 'App' %q is invalid", c.App)
	}
	return nil
}

// Rejection reasons, the label values of beacon_ingest_publish_rejected_total.
const (
	ReasonUnauthorized   = "unauthorized"
	ReasonDuplicate      = "duplicate"
	ReasonCodec          = "codec"
	ReasonHandshake      = "handshake"
	ReasonPlay           = "play"
	ReasonMaxConnections = "max_connections"
	ReasonSink           = "sink"
	ReasonInternal       = "internal"
)

// Server is the RTMP ingest server. New binds the listener; Run serves.
type Server struct {
	cfg Config
	log *slog.Logger
	ln  net.Listener
	sem chan struct{}

	connections prometheus.Counter
	rejected    *prometheus.CounterVec
	publishing  prometheus.Gauge
	bytes       prometheus.Counter

	mu   sync.Mutex
	live map[string]net.Conn // channels with a publisher, and its connection
}

// New checks cfg, fills its defaults and binds the listener.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:  cfg,
		log:  cfg.Logger.With("component", "ingest"),
		sem:  make(chan struct{}, cfg.MaxConnections),
		live: map[string]net.Conn{},
		connections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "beacon_ingest_connections_total", Help: "RTMP connections accepted.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "beacon_ingest_publish_rejected_total", Help: "RTMP connections or publishes refused, by reason.",
		}, []string{"reason"}),
		publishing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "beacon_ingest_publishing", Help: "Publishes in progress.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "beacon_ingest_bytes_received_total", Help: "Bytes received from RTMP clients.",
		}),
	}
	if r := cfg.Registerer; r != nil {
		for _, c := range []prometheus.Collector{s.connections, s.rejected, s.publishing, s.bytes} {
			if err := r.Register(c); err != nil {
				return nil, fmt.Errorf("ingest: registering metrics: %w", err)
			}
		}
	}
	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	s.ln = ln
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Rejected returns how many publishes were refused for reason (one of the
// Reason constants).
func (s *Server) Rejected(reason string) float64 {
	var m dto.Metric
	if err := s.rejected.WithLabelValues(reason).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// Run accepts connections until ctx ends, then closes every connection and
// returns once their goroutines are done.
func (s *Server) Run(ctx context.Context) error {
	s.log.Info("RTMP ingest listening", "address", s.ln.Addr().String())
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { _ = s.ln.Close() })
	defer stop()
	var err error
	for {
		var nc net.Conn
		nc, err = s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				err = nil
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			err = fmt.Errorf("ingest: accept: %w", err)
			break
		}
		select {
		case s.sem <- struct{}{}:
		default:
			s.rejected.WithLabelValues(ReasonMaxConnections).Inc()
			s.log.Warn("connection refused: too many connections", "remote_addr", nc.RemoteAddr().String())
			_ = nc.Close()
			continue
		}
		s.connections.Inc()
		wg.Go(func() {
			defer func() { <-s.sem }()
			s.handleConn(ctx, nc)
		})
	}
	_ = s.ln.Close()
	wg.Wait()
	return err
}

// claim marks channelID live on nc; false when it already is.
func (s *Server) claim(channelID string, nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.live[channelID]; ok {
		return false
	}
	s.live[channelID] = nc
	return true
}

// EndStream disconnects the publisher of channelID (a moderator ended the
// stream). It returns nil when the channel has no publisher.
func (s *Server) EndStream(_ context.Context, channelID string) error {
	s.mu.Lock()
	nc, ok := s.live[channelID]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	s.log.Info("ending stream on request", "channel_id", channelID)
	if err := nc.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("ingest: end stream %s: %w", channelID, err)
	}
	return nil
}

func (s *Server) release(channelID string) {
	s.mu.Lock()
	delete(s.live, channelID)
	s.mu.Unlock()
}

func (s *Server) handleConn(ctx context.Context, nc net.Conn) {
	log := s.log.With("remote_addr", nc.RemoteAddr().String())
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	defer stop()
	defer nc.Close()
	defer func() {
		// gortmplib parses what the client sends; whatever it does with
		// garbage must not take the server down.
		if v := recover(); v != nil {
			s.rejected.WithLabelValues(ReasonInternal).Inc()
			log.Error("RTMP connection handler panicked", "panic", fmt.Sprint(v))
		}
	}()

	_ = nc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	sc := &gortmplib.ServerConn{RW: nc}
	if err := sc.Initialize(); err != nil {
		s.rejected.WithLabelValues(ReasonHandshake).Inc()
		log.Debug("RTMP handshake failed", "error", err)
		return
	}
	if err := sc.AcceptConn(); err != nil {
		s.rejected.WithLabelValues(ReasonHandshake).Inc()
		log.Debug("RTMP connect failed", "error", err)
		return
	}
	defer func() { s.bytes.Add(float64(sc.BytesReceived())) }()
	if !sc.Publish {
		s.rejected.WithLabelValues(ReasonPlay).Inc()
		log.Info("play refused: RTMP playback is not offered")
		_ = sc.RejectAction()
		return
	}

	key, err := parseStreamKey(sc.URL, s.cfg.App)
	if err == nil {
		vctx, cancel := context.WithTimeout(ctx, s.cfg.VerifyTimeout)
		var channelID string
		channelID, err = s.cfg.Keys.VerifyStreamKey(vctx, key)
		cancel()
		if err == nil {
			s.publish(ctx, log.With("channel_id", channelID), nc, sc, channelID)
			return
		}
	}
	// The key never reaches the log: only that it was refused, and why.
	s.rejected.WithLabelValues(ReasonUnauthorized).Inc()
	log.Warn("publish refused: stream key not accepted", "error", err)
	if sc.RejectAction() == nil {
		linger(nc)
	}
}

// lingerTime is how long a refused connection stays open so that the
// client reads the refusal before its own writes fail.
const lingerTime = time.Second

// linger discards what the client sends for lingerTime, then returns.
func linger(nc net.Conn) {
	_ = nc.SetDeadline(time.Now().Add(lingerTime))
	buf := make([]byte, 4096)
	for {
		if _, err := nc.Read(buf); err != nil {
			return
		}
	}
}

func (s *Server) publish(ctx context.Context, log *slog.Logger, nc net.Conn, sc *gortmplib.ServerConn, channelID string) {
	if !s.claim(channelID, nc) {
		s.rejected.WithLabelValues(ReasonDuplicate).Inc()
		log.Warn("publish refused: channel already live")
		if writeStatus(sc, "NetStream.Publish.BadName", "channel already live: one publisher per channel") == nil {
			linger(nc)
		}
		return
	}
	defer s.release(channelID)

	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		reason, desc := ReasonHandshake, "could not read the stream: "+err.Error()
		if strings.Contains(err.Error(), "unsupported") {
			reason, desc = ReasonCodec, codecMessage(err.Error())
		}
		s.rejected.WithLabelValues(reason).Inc()
		log.Warn("publish refused: no usable tracks", "error", err)
		if writeStatus(sc, "NetStream.Publish.Rejected", desc) == nil {
			linger(nc)
		}
		return
	}
	video, audio, vt, at, err := checkTracks(r.Tracks())
	if err != nil {
		s.rejected.WithLabelValues(ReasonCodec).Inc()
		log.Warn("publish refused", "error", err)
		if writeStatus(sc, "NetStream.Publish.Rejected", codecMessage(err.Error())) == nil {
			linger(nc)
		}
		return
	}
	p := StreamParams{SPS: video.SPS, PPS: video.PPS}
	if audio != nil {
		p.AudioConfig = audio.Config
	}
	w, err := s.cfg.Sink.OpenStream(channelID, p)
	if err != nil {
		s.rejected.WithLabelValues(ReasonSink).Inc()
		log.Warn("publish refused by the media pipeline", "error", err)
		if writeStatus(sc, "NetStream.Publish.Rejected", err.Error()) == nil {
			linger(nc)
		}
		return
	}
	defer w.Close()
	r.OnDataH264(vt, w.WriteH264)
	if at != nil {
		r.OnDataMPEG4Audio(at, w.WriteAAC)
	}

	s.publishing.Inc()
	defer s.publishing.Dec()
	start := time.Now()
	log.Info("publishing", "audio", audio != nil)
	for {
		_ = nc.SetDeadline(time.Now().Add(s.cfg.IdleTimeout))
		if err := r.Read(); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			log.Info("publish ended", "reason", err, "duration", time.Since(start).Round(time.Second),
				"bytes", sc.BytesReceived())
			return
		}
	}
}

// checkTracks accepts one H.264 video track and at most one AAC audio track.
func checkTracks(tracks []*gortmplib.Track) (*codecs.H264, *codecs.MPEG4Audio, *gortmplib.Track, *gortmplib.Track, error) {
	var (
		video  *codecs.H264
		audio  *codecs.MPEG4Audio
		vt, at *gortmplib.Track
	)
	for _, t := range tracks {
		switch c := t.Codec.(type) {
		case *codecs.H264:
			if video != nil {
				return nil, nil, nil, nil, errors.New("more than one video track")
			}
			video, vt = c, t
		case *codecs.MPEG4Audio:
			if audio != nil {
				return nil, nil, nil, nil, errors.New("more than one audio track")
			}
			if c.Config == nil {
				return nil, nil, nil, nil, errors.New("AAC track without configuration")
			}
			audio, at = c, t
		default:
			kind := "audio"
			if t.Codec.IsVideo() {
				kind = "video"
			}
			return nil, nil, nil, nil, fmt.Errorf("unsupported %s codec %T", kind, t.Codec)
		}
	}
	if video == nil {
		return nil, nil, nil, nil, errors.New("no video track")
	}
	return video, audio, vt, at, nil
}

func codecMessage(detail string) string {
	return "unsupported stream (" + strings.TrimPrefix(detail, "*codecs.") +
		"): Beacon accepts H.264 video with optional AAC audio"
}

// writeStatus sends an error onStatus on the publish stream.
func writeStatus(sc *gortmplib.ServerConn, code, desc string) error {
	return sc.Write(&message.CommandAMF0{
		ChunkStreamID:   5,
		MessageStreamID: 0x1000000,
		Name:            "onStatus",
		Arguments: []any{
			nil,
			amf0.Object{
				{Key: "level", Value: "error"},
				{Key: "code", Value: code},
				{Key: "description", Value: desc},
			},
		},
	})
}

package safety

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/ml/onnx"
)

// DefaultFrameThresholds returns the frame labels that flag by default and
// their thresholds (untuned: see models/frame-safety.md).
func DefaultFrameThresholds() map[string]float32 {
	return map[string]float32{"Porn": 0.80, "Hentai": 0.80, "Sexy": 0.90}
}

// Model names carried by flags.
const (
	FrameModelName = "frame-safety"
	ChatModelName  = "chat-safety"
)

// flagNamespace makes flag ids deterministic: a redelivered input raises a
// flag with the same id, so the flags queue stores it once.
var flagNamespace = uuid.MustParse("6f1d7a52-3c1e-4f0a-9a51-2d0b8e7c4b10")

// frameScorer, chatScorer and evidenceStore are what the worker uses of
// FrameModel, ChatModel and EvidenceDir.
type frameScorer interface {
	Score(ctx context.Context, frames [][]float32) ([]FrameScores, error)
}

type chatScorer interface {
	Score(ctx context.Context, texts []string) ([]ChatScores, error)
}

type evidenceStore interface {
	Put(ctx context.Context, channel, frameID string, jpeg []byte) (string, error)
}

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	// Group is the consumer group. It defaults to "ml-safety".
	Group string
	// FrameThresholds maps the frame labels that flag to their thresholds.
	// It defaults to DefaultFrameThresholds().
	FrameThresholds map[string]float32
	// UnsafeThreshold is the chat model's unsafe threshold. It defaults to
	// DefaultUnsafeThreshold.
	UnsafeThreshold float32
	// SmoothK and SmoothN: a frame label flags a channel when at least SmoothK
	// of its last SmoothN frames are over the threshold. They default to 2 and 3.
	SmoothK, SmoothN int
	// MaxMessageBytes bounds a chat message. It defaults to 2048.
	MaxMessageBytes int
	// FrameBatch and ChatBatch configure the dynamic batching. They default
	// to 16 frames or 5ms, and 64 messages or 5ms. A handler waits for its
	// input's batch, and the bus runs one handler per partition at a time,
	// so a batch holds at most as many inputs as partitions are consumed.
	FrameBatch, ChatBatch onnx.BatcherConfig
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer registers the metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Now defaults to time.Now.
	Now func() time.Time
}

func (c *WorkerConfig) setDefaults() error {
	if c.Group == "" {
		c.Group = "ml-safety"
	}
	if c.FrameThresholds == nil {
		c.FrameThresholds = DefaultFrameThresholds()
	}
	for l, t := range c.FrameThresholds {
		if _, ok := (FrameScores{}).Score(l); !ok {
			return fmt.Errorf("safety: 'FrameThresholds' has unknown label %q (labels: %v)", l, FrameLabels)
		}
		if t <= 0 || t > 1 {
			return fmt.Errorf("safety: 'FrameThresholds' of %s must be in (0,1], got %v", l, t)
		}
	}
	if c.UnsafeThreshold == 0 {
		c.UnsafeThreshold = DefaultUnsafeThreshold
	}
	if c.UnsafeThreshold < 0 || c.UnsafeThreshold > 1 {
		return fmt.Errorf("safety: 'UnsafeThreshold' must be in (0,1], got %v", c.UnsafeThreshold)
	}
	if c.SmoothN == 0 {
		c.SmoothN = 3
	}
	if c.SmoothK == 0 {
		c.SmoothK = min(2, c.SmoothN)
	}
	if c.SmoothK < 1 || c.SmoothK > c.SmoothN {
		return fmt.Errorf("safety: 'SmoothK' must be in [1, SmoothN=%d], got %d", c.SmoothN, c.SmoothK)
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 2048
	}
	if c.FrameBatch.MaxBatch == 0 {
		c.FrameBatch.MaxBatch = 16
	}
	if c.FrameBatch.MaxDelay == 0 {
		c.FrameBatch.MaxDelay = 5 * time.Millisecond
	}
	if c.ChatBatch.MaxBatch == 0 {
		c.ChatBatch.MaxBatch = 64
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Worker is the ml stage's safety worker: it consumes `frames` and `chat`
// as consumer group Group, scores them with the models (batching requests
// from all partitions) and publishes `flags`.
//
// A frame label flags a channel when SmoothK of the channel's last SmoothN
// frames score at or above its threshold (see Smoother); the flag carries
// the frame's JPEG, stored as evidence, and every label's score. A chat
// message flags when its unsafe score reaches UnsafeThreshold; the flag
// carries its id, text and scores. Flag ids are derived from the input, so
// a redelivery raises the same flag again, never a second one.
//
// Bad input is counted (beacon_ml_safety_inputs_total{result="bad_*"}) and
// skipped: a corrupt or oversized image, an unknown image encoding, an
// empty, oversized or invalid-UTF-8 message. A payload that does not decode
// or has an unknown schema is a bus.Permanent error: the worker copies it to
// the topic's dead-letter topic and moves on. Only a failure to publish a
// flag or store evidence leaves a message uncommitted, to be retried.
type Worker struct {
	cfg      WorkerConfig
	sub      bus.Subscriber
	pub      bus.Publisher
	frames   frameScorer
	chat     chatScorer
	evidence evidenceStore
	log      *slog.Logger
	m        *workerMetrics

	frameBatch *onnx.Batcher[[]float32, FrameScores]
	chatBatch  *onnx.Batcher[string, ChatScores]

	mu       sync.Mutex
	smoother *Smoother
	labels   []string // labels with a threshold, sorted
}

type workerMetrics struct {
	inputs *prometheus.CounterVec // kind, result
	flags  *prometheus.CounterVec // kind, label
}

func newWorkerMetrics(reg prometheus.Registerer) (*workerMetrics, error) {
	m := &workerMetrics{
		inputs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "beacon_ml_safety_inputs_total",
			Help: "Frames and chat messages seen by the safety worker, by kind and result (scored, bad_image, bad_encoding, empty, too_long, invalid_utf8, malformed).",
		}, []string{"kind", "result"}),
		flags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "beacon_ml_safety_flags_total", Help: "Flags raised, by kind and label.",
		}, []string{"kind", "label"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.inputs, m.flags} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// NewWorker returns a worker. frames or chat may be nil to leave that topic
// alone; evidence is required with frames.
func NewWorker(cfg WorkerConfig, sub bus.Subscriber, pub bus.Publisher, frames frameScorer, chat chatScorer, evidence evidenceStore) (*Worker, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if frames == nil && chat == nil {
		return nil, errors.New("safety: worker has neither a frame nor a chat model")
	}
	if frames != nil && evidence == nil {
		return nil, errors.New("safety: worker needs an evidence store for frames")
	}
	m, err := newWorkerMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("safety: metrics: %w", err)
	}
	w := &Worker{
		cfg: cfg, sub: sub, pub: pub, frames: frames, chat: chat, evidence: evidence,
		log: cfg.Logger.With("stage", "ml-safety"), m: m,
		smoother: NewSmoother(cfg.SmoothK, cfg.SmoothN, 10*time.Minute),
		labels:   slices.Sorted(maps.Keys(cfg.FrameThresholds)),
	}
	if frames != nil {
		if w.frameBatch, err = onnx.NewBatcher(cfg.FrameBatch, frames.Score); err != nil {
			return nil, err
		}
	}
	if chat != nil {
		if w.chatBatch, err = onnx.NewBatcher(cfg.ChatBatch, chat.Score); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Run consumes until ctx ends, then returns after every goroutine it
// started has.
func (w *Worker) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	dl := bus.DeadLetter{Publisher: w.pub, Logger: w.log}
	subscribe := func(topic, kind string, h bus.Handler) {
		malformed := w.m.inputs.WithLabelValues(kind, "malformed")
		wrapped := dl.Wrap(func(ctx context.Context, m bus.Message) error {
			err := h(ctx, m)
			if bus.IsPermanent(err) {
				malformed.Inc()
			}
			return err
		})
		g.Go(func() error {
			err := w.sub.Subscribe(gctx, w.cfg.Group, topic, wrapped)
			if gctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("safety: subscribe %s: %w", topic, err)
		})
	}
	if w.frameBatch != nil {
		g.Go(func() error { _ = w.frameBatch.Run(gctx); return nil })
		subscribe(event.TopicFrames, "frame", event.Handler(w.handleFrame))
	}
	if w.chatBatch != nil {
		g.Go(func() error { _ = w.chatBatch.Run(gctx); return nil })
		subscribe(event.TopicChat, "chat", event.Handler(w.handleChat))
	}
	err := g.Wait()
	if err == nil {
		err = ctx.Err()
	}
	return err
}

func (w *Worker) bad(kind, result string, log *slog.Logger, err error) error {
	w.m.inputs.WithLabelValues(kind, result).Inc()
	log.Debug("skipping bad input", "result", result, "error", err)
	return nil
}

func (w *Worker) handleFrame(ctx context.Context, _ bus.Message, f *eventsv1.Frame) error {
	log := w.log.With("channel_id", f.GetChannelId(), "frame_id", f.GetFrameId())
	var (
		x   []float32
		err error
	)
	switch f.GetEncoding() {
	case eventsv1.ImageEncoding_IMAGE_ENCODING_JPEG:
		x, err = PreprocessFrame(f.GetImage(), nil)
	case eventsv1.ImageEncoding_IMAGE_ENCODING_RGB24:
		x, err = PreprocessRGB24(f.GetImage(), int(f.GetWidth()), int(f.GetHeight()), nil)
	default:
		return w.bad("frame", "bad_encoding", log, fmt.Errorf("encoding %v", f.GetEncoding()))
	}
	if err != nil {
		return w.bad("frame", "bad_image", log, err)
	}
	scores, err := w.frameBatch.Do(ctx, x)
	if err != nil {
		return fmt.Errorf("safety: scoring frame: %w", err)
	}
	w.m.inputs.WithLabelValues("frame", "scored").Inc()
	over := make(map[string]bool, len(w.labels))
	for _, l := range w.labels {
		s, _ := scores.Score(l)
		over[l] = s >= w.cfg.FrameThresholds[l]
	}
	w.mu.Lock()
	fire := w.smoother.Observe(w.cfg.Now(), f.GetChannelId(), f.GetBroadcastId(), f.GetSequence(), w.labels, over)
	w.mu.Unlock()
	if len(fire) == 0 {
		return nil
	}
	if err := w.raiseFrameFlags(ctx, f, scores, fire); err != nil {
		w.mu.Lock()
		w.smoother.Undo(f.GetChannelId())
		w.mu.Unlock()
		return err
	}
	return nil
}

func (w *Worker) raiseFrameFlags(ctx context.Context, f *eventsv1.Frame, scores FrameScores, labels []string) error {
	img := f.GetImage()
	if f.GetEncoding() == eventsv1.ImageEncoding_IMAGE_ENCODING_RGB24 {
		var buf bytes.Buffer
		rgba := image.NewRGBA(image.Rect(0, 0, int(f.GetWidth()), int(f.GetHeight())))
		src := &rgb24{pix: img, rect: rgba.Rect}
		for y := range rgba.Rect.Dy() {
			for x := range rgba.Rect.Dx() {
				r, g, b := rgbAt(src, x, y)
				i := rgba.PixOffset(x, y)
				rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2], rgba.Pix[i+3] = r, g, b, 255
			}
		}
		if err := jpeg.Encode(&buf, rgba, &jpeg.Options{Quality: 90}); err != nil {
			return fmt.Errorf("safety: evidence: %w", err)
		}
		img = buf.Bytes()
	}
	uri, err := w.evidence.Put(ctx, f.GetChannelId(), f.GetFrameId(), img)
	if err != nil {
		return fmt.Errorf("safety: storing evidence: %w", err)
	}
	all := make(map[string]float32, len(FrameLabels))
	for i, l := range FrameLabels {
		all[l] = scores[i]
	}
	msgs := make([]bus.Message, 0, len(labels))
	for _, l := range labels {
		m, err := w.flagMessage(f.GetChannelId(), eventsv1.FlagSubject_FLAG_SUBJECT_FRAME, f.GetFrameId(), FrameModelName,
			l, all[l], w.cfg.FrameThresholds[l], &eventsv1.Evidence{Uri: uri, Scores: all})
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	if err := w.pub.Publish(ctx, msgs...); err != nil {
		return fmt.Errorf("safety: publishing flags: %w", err)
	}
	for _, l := range labels {
		w.m.flags.WithLabelValues("frame", l).Inc()
		w.log.Info("frame flagged", "channel_id", f.GetChannelId(), "frame_id", f.GetFrameId(), "label", l, "score", all[l])
	}
	return nil
}

func (w *Worker) flagMessage(channel string, subject eventsv1.FlagSubject, subjectID, model, label string, score, threshold float32, ev *eventsv1.Evidence) (bus.Message, error) {
	id := uuid.NewSHA1(flagNamespace, []byte(strings.Join([]string{model, subject.String(), channel, subjectID, label}, "\x00"))).String()
	return event.Encode(channel, &eventsv1.FlagEvent{
		EventId:   id,
		ChannelId: channel,
		Time:      timestamppb.New(w.cfg.Now()),
		Kind: &eventsv1.FlagEvent_Raised{Raised: &eventsv1.Flag{
			FlagId: id, Subject: subject, SubjectId: subjectID, Model: model,
			Label: label, Score: score, Threshold: threshold, Evidence: ev,
		}},
	})
}

func (w *Worker) handleChat(ctx context.Context, _ bus.Message, c *eventsv1.ChatMessage) error {
	log := w.log.With("channel_id", c.GetChannelId(), "message_id", c.GetMessageId())
	text := c.GetText()
	switch {
	case strings.TrimSpace(text) == "":
		return w.bad("chat", "empty", log, nil)
	case len(text) > w.cfg.MaxMessageBytes:
		return w.bad("chat", "too_long", log, fmt.Errorf("%d bytes", len(text)))
	case !utf8.ValidString(text):
		return w.bad("chat", "invalid_utf8", log, nil)
	}
	s, err := w.chatBatch.Do(ctx, text)
	if err != nil {
		return fmt.Errorf("safety: scoring message: %w", err)
	}
	w.m.inputs.WithLabelValues("chat", "scored").Inc()
	if s.Unsafe < w.cfg.UnsafeThreshold {
		return nil
	}
	label := ChatLabels[1]
	if s.Hate > s.Offensive {
		label = ChatLabels[0]
	}
	m, err := w.flagMessage(c.GetChannelId(), eventsv1.FlagSubject_FLAG_SUBJECT_MESSAGE, c.GetMessageId(), ChatModelName,
		label, s.Unsafe, w.cfg.UnsafeThreshold, &eventsv1.Evidence{Text: text, Scores: map[string]float32{
			"hate": s.Hate, "offensive": s.Offensive, "neither": s.Neither, "unsafe": s.Unsafe,
		}})
	if err != nil {
		return err
	}
	if err := w.pub.Publish(ctx, m); err != nil {
		return fmt.Errorf("safety: publishing flag: %w", err)
	}
	w.m.flags.WithLabelValues("chat", label).Inc()
	log.Info("message flagged", "label", label, "unsafe", s.Unsafe)
	return nil
}

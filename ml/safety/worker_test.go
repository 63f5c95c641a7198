package safety

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/membus"
	"github.com/beaconlive/beacon/event"
)

// Fakes with func fields.
type fakeFrames struct {
	ScoreImpl func(frames [][]float32) []FrameScores
}

func (f fakeFrames) Score(_ context.Context, frames [][]float32) ([]FrameScores, error) {
	return f.ScoreImpl(frames), nil
}

var _ frameScorer = fakeFrames{}

type fakeChat struct {
	ScoreImpl func(texts []string) []ChatScores
}

func (f fakeChat) Score(_ context.Context, texts []string) ([]ChatScores, error) {
	return f.ScoreImpl(texts), nil
}

// pornByRed scores Porn as the red value of a frame's first pixel.
var pornByRed = fakeFrames{ScoreImpl: func(frames [][]float32) []FrameScores {
	out := make([]FrameScores, len(frames))
	for i, f := range frames {
		out[i] = FrameScores{0, 0, 1 - f[0], f[0], 0}
	}
	return out
}}

// unsafeIfBad flags texts that contain "bad".
var unsafeIfBad = fakeChat{ScoreImpl: func(texts []string) []ChatScores {
	out := make([]ChatScores, len(texts))
	for i, t := range texts {
		if strings.Contains(t, "bad") {
			out[i] = ChatScores{Hate: 0.1, Offensive: 0.89, Neither: 0.01, Unsafe: 0.99}
		} else {
			out[i] = ChatScores{Neither: 0.99, Unsafe: 0.01}
		}
	}
	return out
}}

func solidJPEG(t testing.TB, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}))
	return buf.Bytes()
}

type harness struct {
	bus      *membus.Bus
	worker   *Worker
	evidence *EvidenceDir
	reg      *prometheus.Registry
	flags    chan *eventsv1.FlagEvent
}

func startWorker(t testing.TB, cfg WorkerConfig, frames frameScorer, chat chatScorer) *harness {
	t.Helper()
	b, err := membus.New(membus.Config{Topics: event.Topics(8), RetryPause: 10 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	h := &harness{bus: b, evidence: &EvidenceDir{Dir: t.TempDir()}, reg: prometheus.NewRegistry(), flags: make(chan *eventsv1.FlagEvent, 100)}
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Registerer = h.reg
	h.worker, err = NewWorker(cfg, b, b, frames, chat, h.evidence)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- h.worker.Run(ctx) }()
	go func() {
		done <- b.Subscribe(ctx, "test", event.TopicFlags, event.Handler(func(_ context.Context, _ bus.Message, f *eventsv1.FlagEvent) error {
			h.flags <- f
			return nil
		}))
	}()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("worker did not stop")
			}
		}
	})
	return h
}

func (h *harness) publish(t testing.TB, msgs ...bus.Message) {
	t.Helper()
	require.NoError(t, h.bus.Publish(context.Background(), msgs...))
}

func encode(t testing.TB, channel string, m event.Payload) bus.Message {
	t.Helper()
	msg, err := event.Encode(channel, m)
	require.NoError(t, err)
	return msg
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func (h *harness) count(kind, result string) float64 {
	return counterValue(h.worker.m.inputs.WithLabelValues(kind, result))
}

func (h *harness) waitCount(t *testing.T, kind, result string, want float64) {
	t.Helper()
	require.Eventually(t, func() bool { return h.count(kind, result) == want }, 10*time.Second, 5*time.Millisecond,
		"%s %s: got %v, want %v", kind, result, h.count(kind, result), want)
}

func frame(t *testing.T, channel string, seq int64, img []byte) bus.Message {
	return encode(t, channel, &eventsv1.Frame{
		FrameId: channel + "-f" + string(rune('0'+seq)), ChannelId: channel, BroadcastId: "b1",
		Encoding: eventsv1.ImageEncoding_IMAGE_ENCODING_JPEG, Image: img, Sequence: seq,
	})
}

func TestWorkerSmoothsFrames(t *testing.T) {
	h := startWorker(t, WorkerConfig{}, pornByRed, nil)
	red, blue := solidJPEG(t, color.RGBA{R: 255}), solidJPEG(t, color.RGBA{B: 255})
	// Channel a: one noisy frame. Channel b: two of three over the threshold.
	for i, img := range [][]byte{red, blue, blue, blue} {
		h.publish(t, frame(t, "a", int64(i), img))
	}
	for i, img := range [][]byte{red, blue, red, red, red} {
		h.publish(t, frame(t, "b", int64(i), img))
	}
	h.waitCount(t, "frame", "scored", 9)
	select {
	case f := <-h.flags:
		require.Equal(t, "b", f.GetChannelId())
		r := f.GetRaised()
		require.Equal(t, "Porn", r.GetLabel())
		require.Equal(t, eventsv1.FlagSubject_FLAG_SUBJECT_FRAME, r.GetSubject())
		require.Equal(t, "b-f2", r.GetSubjectId(), "the frame that completed 2 of 3")
		require.InDelta(t, 1, r.GetScore(), 0.02)
		require.InDelta(t, 0.8, r.GetThreshold(), 1e-6)
		require.Len(t, r.GetEvidence().GetScores(), 5)
		stored, err := h.evidence.Open(r.GetEvidence().GetUri())
		require.NoError(t, err)
		require.Equal(t, red, stored)
	case <-time.After(10 * time.Second):
		t.Fatal("no flag")
	}
	select {
	case f := <-h.flags:
		t.Fatalf("unexpected second flag %v", f)
	case <-time.After(100 * time.Millisecond):
	}
	require.Equal(t, 1.0, counterValue(h.worker.m.flags.WithLabelValues("frame", "Porn")))
}

func TestWorkerSkipsBadFrames(t *testing.T) {
	h := startWorker(t, WorkerConfig{SmoothK: 1, SmoothN: 1}, pornByRed, nil)
	good := solidJPEG(t, color.RGBA{B: 255})
	h.publish(t,
		frame(t, "c", 0, good[:len(good)/2]), // truncated
		frame(t, "c", 1, []byte("garbage")),
		encode(t, "c", &eventsv1.Frame{FrameId: "x", ChannelId: "c", Encoding: eventsv1.ImageEncoding_IMAGE_ENCODING_UNSPECIFIED, Image: good, Sequence: 2}),
		encode(t, "c", &eventsv1.Frame{FrameId: "y", ChannelId: "c", Encoding: eventsv1.ImageEncoding_IMAGE_ENCODING_RGB24, Image: []byte{1, 2}, Width: 5, Height: 5, Sequence: 3}),
		bus.Message{Topic: event.TopicFrames, Key: []byte("c"), Value: []byte{0xff, 0xff, 0xff}},
		bus.Message{Topic: event.TopicFrames, Key: []byte("c"), Value: []byte{}, Headers: map[string]string{event.HeaderSchema: "beacon.events.v2.Frame"}},
		frame(t, "c", 4, good), // still processed after all that
	)
	h.waitCount(t, "frame", "scored", 1)
	require.Equal(t, 3.0, h.count("frame", "bad_image"))
	require.Equal(t, 1.0, h.count("frame", "bad_encoding"))
	h.waitCount(t, "frame", "malformed", 2)
}

func TestWorkerRGB24Evidence(t *testing.T) {
	h := startWorker(t, WorkerConfig{SmoothK: 1, SmoothN: 1}, pornByRed, nil)
	pix := bytes.Repeat([]byte{255, 0, 0}, 8*6)
	h.publish(t, encode(t, "d", &eventsv1.Frame{FrameId: "raw", ChannelId: "d", Encoding: eventsv1.ImageEncoding_IMAGE_ENCODING_RGB24,
		Image: pix, Width: 8, Height: 6, Sequence: 1}))
	f := <-h.flags
	stored, err := h.evidence.Open(f.GetRaised().GetEvidence().GetUri())
	require.NoError(t, err)
	img, err := jpeg.Decode(bytes.NewReader(stored))
	require.NoError(t, err)
	require.Equal(t, 8, img.Bounds().Dx())
}

func TestWorkerChat(t *testing.T) {
	h := startWorker(t, WorkerConfig{}, nil, unsafeIfBad)
	msg := func(id, text string) bus.Message {
		return encode(t, "e", &eventsv1.ChatMessage{MessageId: id, ChannelId: "e", Text: text})
	}
	h.publish(t,
		msg("1", "gg wp"),
		msg("2", ""),
		msg("3", "   "),
		msg("4", strings.Repeat("a", 1<<20)),
		invalidUTF8(t, msg("5", "bad XX utf8")),
		bus.Message{Topic: event.TopicChat, Key: []byte("e"), Value: []byte{0x0a, 0xff}},
		msg("6", "you bad person"),
	)
	select {
	case f := <-h.flags:
		r := f.GetRaised()
		require.Equal(t, "6", r.GetSubjectId())
		require.Equal(t, eventsv1.FlagSubject_FLAG_SUBJECT_MESSAGE, r.GetSubject())
		require.Equal(t, "offensive", r.GetLabel())
		require.Equal(t, "you bad person", r.GetEvidence().GetText())
		require.InDelta(t, 0.99, r.GetEvidence().GetScores()["unsafe"], 1e-6)
	case <-time.After(10 * time.Second):
		t.Fatal("no flag")
	}
	h.waitCount(t, "chat", "scored", 2)
	require.Equal(t, 2.0, h.count("chat", "empty"))
	require.Equal(t, 1.0, h.count("chat", "too_long"))
	// Protobuf refuses a string field that is not UTF-8: such a payload is malformed.
	h.waitCount(t, "chat", "malformed", 2)

	// A message that reaches the handler with invalid UTF-8 anyway is skipped.
	require.NoError(t, h.worker.handleChat(context.Background(), bus.Message{}, &eventsv1.ChatMessage{MessageId: "7", Text: "bad \xff"}))
	require.Equal(t, 1.0, h.count("chat", "invalid_utf8"))
}

// invalidUTF8 replaces "XX" in an encoded message with two bytes that are not UTF-8.
func invalidUTF8(t *testing.T, m bus.Message) bus.Message {
	t.Helper()
	i := bytes.Index(m.Value, []byte("XX"))
	require.GreaterOrEqual(t, i, 0)
	m.Value = append([]byte(nil), m.Value...)
	m.Value[i], m.Value[i+1] = 0xff, 0xfe
	return m
}

func TestWorkerFlagIDsAreStable(t *testing.T) {
	w, err := NewWorker(WorkerConfig{Logger: slog.New(slog.DiscardHandler)}, nil, nil, nil, unsafeIfBad, nil)
	require.NoError(t, err)
	a, err := w.flagMessage("ch", eventsv1.FlagSubject_FLAG_SUBJECT_MESSAGE, "m1", ChatModelName, "hate", 0.9, 0.5, nil)
	require.NoError(t, err)
	b, err := w.flagMessage("ch", eventsv1.FlagSubject_FLAG_SUBJECT_MESSAGE, "m1", ChatModelName, "hate", 0.9, 0.5, nil)
	require.NoError(t, err)
	c, err := w.flagMessage("ch", eventsv1.FlagSubject_FLAG_SUBJECT_MESSAGE, "m2", ChatModelName, "hate", 0.9, 0.5, nil)
	require.NoError(t, err)
	id := func(m bus.Message) string {
		var f eventsv1.FlagEvent
		require.NoError(t, event.Decode(m, &f))
		require.Equal(t, f.GetEventId(), f.GetRaised().GetFlagId())
		return f.GetEventId()
	}
	require.Equal(t, id(a), id(b))
	require.NotEqual(t, id(a), id(c))
}

func TestNewWorkerValidates(t *testing.T) {
	for _, ca := range []struct {
		name string
		cfg  WorkerConfig
		msg  string
	}{
		{"unknown label", WorkerConfig{FrameThresholds: map[string]float32{"Nope": 0.5}}, "unknown label"},
		{"threshold", WorkerConfig{FrameThresholds: map[string]float32{"Porn": 1.5}}, "FrameThresholds"},
		{"smoothing", WorkerConfig{SmoothK: 4, SmoothN: 3}, "SmoothK"},
		{"unsafe", WorkerConfig{UnsafeThreshold: -1}, "UnsafeThreshold"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := NewWorker(ca.cfg, nil, nil, pornByRed, nil, &EvidenceDir{Dir: t.TempDir()})
			require.ErrorContains(t, err, ca.msg)
		})
	}
	_, err := NewWorker(WorkerConfig{}, nil, nil, nil, nil, nil)
	require.Error(t, err)
	_, err = NewWorker(WorkerConfig{}, nil, nil, pornByRed, nil, nil)
	require.ErrorContains(t, err, "evidence")
}

// TestWorkerRealModels streams a harmless test pattern with the Drawing
// label given a threshold, and two chat messages, through the real models.
func TestWorkerRealModels(t *testing.T) {
	frames := openFrame(t, ModelConfig{IntraOpThreads: 2})
	chat := openChat(t)
	h := startWorker(t, WorkerConfig{FrameThresholds: map[string]float32{"Drawing": 0.5}}, frames, chat)
	pattern, err := os.ReadFile(filepath.Join(testdata, "frames", "testsrc.jpg"))
	require.NoError(t, err)
	for i := range 3 {
		h.publish(t, frame(t, "live", int64(i), pattern))
	}
	h.publish(t,
		encode(t, "live", &eventsv1.ChatMessage{MessageId: "ok", ChannelId: "live", Text: "gg that was sick PogChamp"}),
		encode(t, "live", &eventsv1.ChatMessage{MessageId: "abuse", ChannelId: "live", Text: "shut up you stupid bitch"}),
	)
	got := map[string]*eventsv1.Flag{}
	for len(got) < 2 {
		select {
		case f := <-h.flags:
			got[f.GetRaised().GetSubjectId()] = f.GetRaised()
		case <-time.After(20 * time.Second):
			t.Fatalf("flags so far: %v", got)
		}
	}
	require.Equal(t, "Drawing", got["live-f1"].GetLabel())
	require.Equal(t, ChatModelName, got["abuse"].GetModel())
	h.waitCount(t, "chat", "scored", 2)
	h.waitCount(t, "frame", "scored", 3)
	select {
	case f := <-h.flags:
		t.Fatalf("unexpected flag %v", f)
	case <-time.After(200 * time.Millisecond):
	}
}

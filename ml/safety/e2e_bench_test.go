package safety

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
)

// BenchmarkWorkerEndToEnd publishes 224x224 JPEG frames of 200 channels on
// `frames` at 100 frames/s (200 live channels sampled every 2 s) through the
// in-process bus, with the Drawing label given a threshold that the test
// pattern crosses and SmoothK = SmoothN = 1, so every frame raises a flag,
// and measures the time from a frame's publication to its flag on `flags`.
//
// model=fake replaces the model by an instant one, to show the pipeline's
// own cost.
func BenchmarkWorkerEndToEnd(b *testing.B) {
	b.Run("model=fake", func(b *testing.B) {
		benchEndToEnd(b, fakeFrames{ScoreImpl: func(frames [][]float32) []FrameScores {
			out := make([]FrameScores, len(frames))
			for i := range out {
				out[i][2] = 1 // Neutral
			}
			return out
		}}, map[string]float32{"Neutral": 0.001})
	})
	b.Run("model=real", func(b *testing.B) {
		benchEndToEnd(b, openFrame(b, ModelConfig{IntraOpThreads: 2}), map[string]float32{"Drawing": 0.5})
	})
}

func benchEndToEnd(b *testing.B, frames frameScorer, thresholds map[string]float32) {
	const channels, rate = 200, 100
	h := startWorker(b, WorkerConfig{FrameThresholds: thresholds, SmoothK: 1, SmoothN: 1}, frames, nil)
	img, err := os.ReadFile(filepath.Join("testdata", "testsrc.224.jpg"))
	require.NoError(b, err)

	var (
		mu   sync.Mutex
		sent = map[string]time.Time{}
		lat  []time.Duration
	)
	// Flags are timed as they arrive.
	arrived := make(chan struct{}, channels)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case f := <-h.flags:
				now := time.Now()
				mu.Lock()
				lat = append(lat, now.Sub(sent[f.GetRaised().GetSubjectId()]))
				mu.Unlock()
				arrived <- struct{}{}
			case <-stop:
				return
			}
		}
	}()
	round := 0
	start := time.Now()
	for b.Loop() {
		round++
		tick := time.NewTicker(time.Second / rate)
		for c := range channels {
			<-tick.C
			id := fmt.Sprintf("r%d-c%d", round, c)
			mu.Lock()
			sent[id] = time.Now()
			mu.Unlock()
			h.publish(b, encode(b, fmt.Sprintf("c%d", c), &eventsv1.Frame{
				FrameId: id, ChannelId: fmt.Sprintf("c%d", c), BroadcastId: fmt.Sprintf("r%d", round),
				Encoding: eventsv1.ImageEncoding_IMAGE_ENCODING_JPEG, Image: img, Sequence: 1, Width: 224, Height: 224,
			}))
		}
		tick.Stop()
		for got := 0; got < channels; got++ {
			select {
			case <-arrived:
			case <-time.After(30 * time.Second):
				b.Fatalf("round %d: %d of %d flags", round, got, channels)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(float64(len(lat))/time.Since(start).Seconds(), "frames/s")
	reportLatency(b, lat)
}

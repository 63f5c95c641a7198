package safety

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/beaconlive/beacon/ml/onnx"
	"github.com/stretchr/testify/require"
)

// The benchmarks report throughput and p99 latency on the machine's cores
// (`make bench`). Targets: at least 100 frames/s with batching and 20,000
// chat messages/s.

func reportLatency(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	var total time.Duration
	for _, l := range lat {
		total += l
	}
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
}

func benchFrame(b *testing.B) []float32 {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, "frames", "china.jpg"))
	require.NoError(b, err)
	x, err := PreprocessFrame(data, nil)
	require.NoError(b, err)
	return x
}

// BenchmarkFrameModel runs the frame model on batches of 1 and 16 frames,
// with one session of 1 or 2 intra-op threads, sleeping or spinning.
func BenchmarkFrameModel(b *testing.B) {
	for _, cfg := range []ModelConfig{{IntraOpThreads: 1}, {IntraOpThreads: 2}, {IntraOpThreads: 2, Spin: true}} {
		m := openFrame(b, cfg)
		x := benchFrame(b)
		for _, n := range []int{1, 16} {
			b.Run(fmt.Sprintf("threads=%d/spin=%t/batch=%d", cfg.IntraOpThreads, cfg.Spin, n), func(b *testing.B) {
				batch := make([][]float32, n)
				for i := range batch {
					batch[i] = x
				}
				var lat []time.Duration
				start := time.Now()
				for b.Loop() {
					t0 := time.Now()
					_, err := m.Score(context.Background(), batch)
					require.NoError(b, err)
					lat = append(lat, time.Since(t0))
				}
				b.ReportMetric(float64(n*len(lat))/time.Since(start).Seconds(), "frames/s")
				reportLatency(b, lat)
			})
		}
	}
}

// BenchmarkFrameBatcher sends single preprocessed frames from 32 goroutines
// through a Batcher (up to 16 frames or 20 ms); latency is per frame.
func BenchmarkFrameBatcher(b *testing.B) {
	m := openFrame(b, ModelConfig{IntraOpThreads: 2})
	x := benchFrame(b)
	bt, err := onnx.NewBatcher(onnx.BatcherConfig{MaxBatch: 16, MaxDelay: 20 * time.Millisecond}, m.Score)
	require.NoError(b, err)
	runBatcher(b, bt, x, 32, "frames/s")
}

func runBatcher[In, Out any](b *testing.B, bt *onnx.Batcher[In, Out], in In, producers int, unit string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = bt.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	start := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		for range producers {
			wg.Go(func() {
				t0 := time.Now()
				_, err := bt.Do(ctx, in)
				d := time.Since(t0)
				if err != nil {
					b.Error(err)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(len(lat))/time.Since(start).Seconds(), unit)
	reportLatency(b, lat)
}

func benchJPEG(b *testing.B, w, h int) []byte {
	b.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(b, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}))
	return buf.Bytes()
}

// BenchmarkPreprocessFrame decodes and preprocesses a JPEG frame.
func BenchmarkPreprocessFrame(b *testing.B) {
	for _, size := range [][2]int{{224, 224}, {640, 360}, {1280, 720}} {
		b.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(b *testing.B) {
			data := benchJPEG(b, size[0], size[1])
			dst := make([]float32, FrameLen)
			start := time.Now()
			for b.Loop() {
				_, err := PreprocessFrame(data, dst)
				require.NoError(b, err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
		})
	}
}

func chatMessages(b *testing.B) []string {
	b.Helper()
	f, err := os.Open(filepath.Join(testdata, "ordinary_chat.txt"))
	require.NoError(b, err)
	defer f.Close()
	var msgs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		msgs = append(msgs, sc.Text())
	}
	return msgs
}

// BenchmarkChatModel scores batches of 64 chat messages (features
// included), with one session of 1 or 2 intra-op threads.
func BenchmarkChatModel(b *testing.B) {
	msgs := chatMessages(b)
	for _, threads := range []int{1, 2} {
		lib := testenv.Require(b, "ONNXRUNTIME_LIB", "onnxruntime library")
		m, err := OpenChat(ModelConfig{LibraryPath: lib, Path: filepath.Join(modelsDir, "chat-safety.onnx"), IntraOpThreads: threads})
		require.NoError(b, err)
		b.Cleanup(m.Close)
		for _, n := range []int{1, 64} {
			b.Run(fmt.Sprintf("threads=%d/batch=%d", threads, n), func(b *testing.B) {
				var lat []time.Duration
				i := 0
				start := time.Now()
				for b.Loop() {
					batch := make([]string, n)
					for k := range batch {
						batch[k] = msgs[i%len(msgs)]
						i++
					}
					t0 := time.Now()
					_, err := m.Score(context.Background(), batch)
					require.NoError(b, err)
					lat = append(lat, time.Since(t0))
				}
				b.ReportMetric(float64(n*len(lat))/time.Since(start).Seconds(), "msgs/s")
				reportLatency(b, lat)
			})
		}
	}
}

// BenchmarkChatBatcher sends single messages from 256 goroutines through a
// Batcher (up to 128 messages or 5 ms, 2 batches at once); latency is per
// message.
func BenchmarkChatBatcher(b *testing.B) {
	m := openChat(b)
	bt, err := onnx.NewBatcher(onnx.BatcherConfig{MaxBatch: 128, MaxDelay: 5 * time.Millisecond, Workers: 2}, m.Score)
	require.NoError(b, err)
	runBatcher(b, bt, "that was sick PogChamp PogChamp gg", 256, "msgs/s")
}

// BenchmarkTextFeatures computes the features of one ordinary message.
func BenchmarkTextFeatures(b *testing.B) {
	var f featurizer
	var tf TextFeatures
	for b.Loop() {
		f.features("LETS GOOOO that was sick PogChamp PogChamp @streamer gg", &tf)
	}
}

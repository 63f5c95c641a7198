package onnx

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func startBatcher[In, Out any](t *testing.T, cfg BatcherConfig, fn BatchFunc[In, Out]) *Batcher[In, Out] {
	t.Helper()
	b, err := NewBatcher(cfg, fn)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
	})
	return b
}

func TestBatcherFillsBatches(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	release := make(chan struct{})
	b := startBatcher(t, BatcherConfig{MaxBatch: 4, MaxDelay: time.Hour}, func(_ context.Context, in []int) ([]int, error) {
		<-release
		mu.Lock()
		sizes = append(sizes, len(in))
		mu.Unlock()
		out := make([]int, len(in))
		for i, v := range in {
			out[i] = v * 10
		}
		return out, nil
	})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			v, err := b.Do(context.Background(), i)
			require.NoError(t, err)
			require.Equal(t, i*10, v)
		})
	}
	close(release)
	wg.Wait()
	require.Equal(t, []int{4, 4}, sizes) // MaxDelay is an hour: only full batches ran
}

func TestBatcherFlushesAfterDelay(t *testing.T) {
	b := startBatcher(t, BatcherConfig{MaxBatch: 64, MaxDelay: 20 * time.Millisecond}, func(_ context.Context, in []string) ([]int, error) {
		out := make([]int, len(in))
		for i, s := range in {
			out[i] = len(s)
		}
		return out, nil
	})
	start := time.Now()
	v, err := b.Do(context.Background(), "abc")
	require.NoError(t, err)
	require.Equal(t, 3, v)
	require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
	require.Less(t, time.Since(start), 2*time.Second)
}

func TestBatcherErrors(t *testing.T) {
	boom := errors.New("boom")
	b := startBatcher(t, BatcherConfig{MaxBatch: 2, MaxDelay: time.Millisecond}, func(_ context.Context, in []int) ([]int, error) {
		if in[0] < 0 {
			return nil, boom
		}
		return []int{}, nil // wrong length
	})
	_, err := b.Do(context.Background(), -1)
	require.ErrorIs(t, err, boom)
	_, err = b.Do(context.Background(), 1)
	require.ErrorContains(t, err, "returned 0 outputs for 1 inputs")
}

func TestBatcherCallerGivesUp(t *testing.T) {
	var calls atomic.Int32
	b := startBatcher(t, BatcherConfig{MaxBatch: 8, MaxDelay: 50 * time.Millisecond}, func(_ context.Context, in []int) ([]int, error) {
		calls.Add(1)
		return in, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	_, err := b.Do(ctx, 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	time.Sleep(100 * time.Millisecond)
	require.Zero(t, calls.Load(), "a batch of abandoned requests is not run")
}

func TestBatcherStopped(t *testing.T) {
	b, err := NewBatcher(BatcherConfig{}, func(_ context.Context, in []int) ([]int, error) { return in, nil })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, b.Run(ctx), context.Canceled)
	_, err = b.Do(context.Background(), 1)
	require.ErrorIs(t, err, ErrBatcherStopped)
}

func TestNewBatcherValidates(t *testing.T) {
	fn := func(_ context.Context, in []int) ([]int, error) { return in, nil }
	_, err := NewBatcher(BatcherConfig{MaxBatch: -1}, fn)
	require.ErrorContains(t, err, "'MaxBatch'")
	_, err = NewBatcher[int, int](BatcherConfig{}, nil)
	require.Error(t, err)
}

package onnx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrBatcherStopped is returned by Batcher.Do once the batcher's Run has
// returned.
var ErrBatcherStopped = errors.New("onnx: batcher stopped")

// BatchFunc processes a batch: it returns one output per input, in order.
type BatchFunc[In, Out any] func(ctx context.Context, in []In) ([]Out, error)

// BatcherConfig configures a Batcher.
type BatcherConfig struct {
	// MaxBatch is the largest batch. It defaults to 16.
	MaxBatch int
	// MaxDelay is how long the first request of a batch waits for others.
	// It defaults to 5ms.
	MaxDelay time.Duration
	// Workers is how many batches run at once. It defaults to 1.
	Workers int
}

// Batcher collects single requests (Do) into batches of up to MaxBatch, or
// whatever arrived within MaxDelay of the batch's first request, and runs
// each batch with its BatchFunc. Run drives it.
type Batcher[In, Out any] struct {
	cfg     BatcherConfig
	fn      BatchFunc[In, Out]
	reqs    chan *request[In, Out]
	stopped chan struct{}
}

type request[In, Out any] struct {
	ctx  context.Context
	in   In
	out  Out
	err  error
	done chan struct{}
}

// NewBatcher returns a Batcher that runs batches with fn.
func NewBatcher[In, Out any](cfg BatcherConfig, fn BatchFunc[In, Out]) (*Batcher[In, Out], error) {
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 16
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = 5 * time.Millisecond
	}
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	switch {
	case cfg.MaxBatch < 0:
		return nil, fmt.Errorf("onnx: 'MaxBatch' must be positive, got %d", cfg.MaxBatch)
	case cfg.MaxDelay < 0:
		return nil, fmt.Errorf("onnx: 'MaxDelay' must not be negative, got %v", cfg.MaxDelay)
	case cfg.Workers < 0:
		return nil, fmt.Errorf("onnx: 'Workers' must be positive, got %d", cfg.Workers)
	case fn == nil:
		return nil, errors.New("onnx: batch function is nil")
	}
	return &Batcher[In, Out]{
		cfg:     cfg,
		fn:      fn,
		reqs:    make(chan *request[In, Out], cfg.MaxBatch*cfg.Workers),
		stopped: make(chan struct{}),
	}, nil
}

// Do submits one input and waits for its output. It returns ctx's error if
// ctx ends first, and ErrBatcherStopped if Run has returned.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	var zero Out
	r := &request[In, Out]{ctx: ctx, in: in, done: make(chan struct{})}
	select {
	case <-b.stopped:
		return zero, ErrBatcherStopped
	default:
	}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-b.stopped:
		return zero, ErrBatcherStopped
	}
	select {
	case <-r.done:
		return r.out, r.err
	case <-b.stopped:
		// Run has returned: every batch has finished, so r is either done
		// or was queued too late to be run.
		select {
		case <-r.done:
			return r.out, r.err
		default:
			return zero, ErrBatcherStopped
		}
	case <-ctx.Done():
		// The batch may still run this input; its result is dropped.
		return zero, ctx.Err()
	}
}

// Run collects and runs batches until ctx ends, then waits for the batches
// in progress, fails the requests still queued with ErrBatcherStopped and
// returns ctx's error.
func (b *Batcher[In, Out]) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	slots := make(chan struct{}, b.cfg.Workers)
	defer func() {
		wg.Wait()
		close(b.stopped)
		for {
			select {
			case r := <-b.reqs:
				r.err = ErrBatcherStopped
				close(r.done)
			default:
				return
			}
		}
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		// Wait for a free worker first, so that requests arriving meanwhile
		// pile up into the next batch.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		batch := make([]*request[In, Out], 0, b.cfg.MaxBatch)
		select {
		case r := <-b.reqs:
			batch = append(batch, r)
		case <-ctx.Done():
			<-slots
			return ctx.Err()
		}
		timer.Reset(b.cfg.MaxDelay)
	collect:
		for len(batch) < b.cfg.MaxBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			case <-timer.C:
				break collect
			case <-ctx.Done():
				break collect
			}
		}
		timer.Stop()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			b.run(ctx, batch)
		}()
	}
}

func (b *Batcher[In, Out]) run(ctx context.Context, batch []*request[In, Out]) {
	// Requests whose caller already gave up are dropped.
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ins := make([]In, len(live))
	for i, r := range live {
		ins[i] = r.in
	}
	outs, err := b.fn(context.WithoutCancel(ctx), ins)
	if err == nil && len(outs) != len(ins) {
		err = fmt.Errorf("onnx: batch function returned %d outputs for %d inputs", len(outs), len(ins))
	}
	for i, r := range live {
		if err != nil {
			r.err = err
		} else {
			r.out = outs[i]
		}
		close(r.done)
	}
}

package onnx_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/beaconlive/beacon/ml/onnx"
)

// A Batcher turns single requests from many goroutines into batches. Here
// the batch function upper-cases strings; with a model it stacks inputs
// into one tensor and calls Model.Run.
func ExampleBatcher() {
	b, err := onnx.NewBatcher(onnx.BatcherConfig{MaxBatch: 8, MaxDelay: 10 * time.Millisecond},
		func(_ context.Context, in []string) ([]string, error) {
			out := make([]string, len(in))
			for i, s := range in {
				out[i] = strings.ToUpper(s)
			}
			return out, nil
		})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()

	words := []string{"gg", "wp", "pog"}
	res := make([]string, len(words))
	var wg sync.WaitGroup
	for i, w := range words {
		wg.Go(func() { res[i], _ = b.Do(ctx, w) })
	}
	wg.Wait()
	cancel()
	<-done
	fmt.Println(res)
	// Output: [GG WP POG]
}

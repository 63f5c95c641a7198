package bustest

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beaconlive/beacon/bus"
)

// BenchThroughput measures publish→consume throughput of bs on topic with
// messages of size bytes, published in batches of batch messages per Publish
// call. As in Kafka's producer perf test, every message shares one read-only
// payload; the send time travels in Message.Time. It reports msgs/s end to end (the clock stops
// when the consumer has received every message) and the p50/p99
// publish→deliver latency, in microseconds, of a sample of messages under
// that load.
func BenchThroughput(b *testing.B, bs bus.Bus, topic string, size, batch int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var received atomic.Int64
	var latMu sync.Mutex
	lat := make([]time.Duration, 0, 1<<16)
	errc := make(chan error, 1)
	go func() {
		errc <- bs.Subscribe(ctx, "bench", topic, func(_ context.Context, m bus.Message) error {
			if n := received.Add(1); n%64 == 0 {
				d := time.Since(m.Time)
				latMu.Lock()
				if len(lat) < cap(lat) {
					lat = append(lat, d)
				}
				latMu.Unlock()
			}
			return nil
		})
	}()
	keys := make([][]byte, 64)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("channel-%d", i))
	}
	msgs := make([]bus.Message, batch)
	payload := make([]byte, size)
	var sent int64
	start := time.Now()
	for b.Loop() {
		now := time.Now()
		for i := range msgs {
			msgs[i] = bus.Message{Topic: topic, Key: keys[(int(sent)+i)%len(keys)], Value: payload, Time: now}
		}
		if err := bs.Publish(ctx, msgs...); err != nil {
			b.Fatal(err)
		}
		sent += int64(batch)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for received.Load() < sent {
		if time.Now().After(deadline) {
			b.Fatalf("consumer got %d of %d messages", received.Load(), sent)
		}
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-errc
	latMu.Lock()
	defer latMu.Unlock()
	slices.Sort(lat)
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "msgs/s")
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50_us")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99_us")
	}
	b.SetBytes(int64(size * batch))
}

// BenchLatency measures the publish→deliver latency of single 1 KiB
// messages on an otherwise idle bus: each iteration publishes one message and
// waits for it. It reports p50 and p99 in microseconds.
func BenchLatency(b *testing.B, bs bus.Bus, topic string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan time.Duration, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- bs.Subscribe(ctx, "bench-latency", topic, func(_ context.Context, m bus.Message) error {
			got <- time.Since(time.Unix(0, int64(binary.LittleEndian.Uint64(m.Value))))
			return nil
		})
	}()
	var lat []time.Duration
	for b.Loop() {
		v := make([]byte, 1024)
		binary.LittleEndian.PutUint64(v, uint64(time.Now().UnixNano()))
		if err := bs.Publish(ctx, bus.Message{Topic: topic, Key: []byte("channel-1"), Value: v}); err != nil {
			b.Fatal(err)
		}
		select {
		case d := <-got:
			lat = append(lat, d)
		case <-time.After(time.Minute):
			b.Fatal("message not delivered within a minute")
		}
	}
	b.StopTimer()
	cancel()
	<-errc
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50_us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99_us")
}

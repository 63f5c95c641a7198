package kafkabus

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

// Benchmarks against the real broker (KAFKA_BROKERS, started by
// scripts/engine-kafka.sh start; `source .cache/kafka.env`):
//
//	go test -run '^$' -bench . ./bus/kafkabus/
//	go test -run '^$' -bench Throughput -benchtime 300000x ./bus/kafkabus/  # a longer run
//
// Unlike bustest.BenchThroughput, these wait until the consumer group has
// joined before the clock starts (joining takes about a second on Kafka).
// Each message carries 1 KiB; its first 8 bytes are the time it was handed to
// Publish, from which the consumer computes the publish→deliver latency.

const benchMsgSize = 1024

// latencies records publish→deliver latencies from the consumer goroutine.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) report(b *testing.B, prefix string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	q := func(p float64) float64 { return float64(l.d[int(p*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), prefix+"p50-ms")
	b.ReportMetric(q(0.99), prefix+"p99-ms")
}

// benchConsumer subscribes a fresh group and waits until it receives a warm-up
// message, so that the group has joined before the clock starts. It returns
// the number of benchmark messages delivered so far.
func benchConsumer(b *testing.B, bs *Bus, topic string, lat *latencies, want int64, done chan<- struct{}) *atomic.Int64 {
	b.Helper()
	var n atomic.Int64
	warm := make(chan struct{})
	var warmOnce sync.Once
	subscribe(b, bs, uniqueName(b, "group"), topic, func(_ context.Context, m bus.Message) error {
		if string(m.Key) == "warm-up" {
			warmOnce.Do(func() { close(warm) })
			return nil
		}
		sent := int64(binary.BigEndian.Uint64(m.Value))
		lat.add(time.Duration(time.Now().UnixNano() - sent))
		if n.Add(1) == want {
			close(done)
		}
		return nil
	})
	if err := bs.Publish(context.Background(), bus.Message{Topic: topic, Key: []byte("warm-up")}); err != nil {
		b.Fatal(err)
	}
	select {
	case <-warm:
	case <-time.After(30 * time.Second):
		b.Fatal("the consumer did not join within 30s")
	}
	return &n
}

// BenchmarkThroughput measures throughput: publishers send b.N messages
// of 1 KiB in Publish calls of `batch` messages while one consumer group
// member reads them all. msgs/s is end to end (the last message consumed);
// pub-msgs/s counts until the last Publish returned.
func BenchmarkThroughput(b *testing.B) {
	for _, ca := range []struct{ publishers, batch int }{
		{publishers: 4, batch: 1000},
		{publishers: 64, batch: 1},
	} {
		b.Run(fmt.Sprintf("publishers=%d/batch=%d", ca.publishers, ca.batch), func(b *testing.B) {
			topic := uniqueName(b, "topic")
			bs := newTestBus(b, []bus.TopicConfig{{Name: topic, Partitions: 8}})
			lat := &latencies{d: make([]time.Duration, 0, b.N)}
			done := make(chan struct{})
			benchConsumer(b, bs, topic, lat, int64(b.N), done)

			b.SetBytes(benchMsgSize)
			b.ResetTimer()
			start := time.Now()
			var claimed atomic.Int64
			var wg sync.WaitGroup
			for p := range ca.publishers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					msgs := make([]bus.Message, 0, ca.batch)
					for {
						first := claimed.Add(int64(ca.batch)) - int64(ca.batch)
						if first >= int64(b.N) {
							return
						}
						msgs = msgs[:0]
						now := time.Now().UnixNano()
						for i := first; i < min(first+int64(ca.batch), int64(b.N)); i++ {
							v := make([]byte, benchMsgSize)
							binary.BigEndian.PutUint64(v, uint64(now))
							msgs = append(msgs, bus.Message{Topic: topic, Key: []byte(fmt.Sprintf("channel-%d-%d", p, i%64)), Value: v})
						}
						if err := bs.Publish(context.Background(), msgs...); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			pubElapsed := time.Since(start)
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				b.Fatal("the consumer did not keep up: not all messages arrived within 2 minutes")
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(b.N)/pubElapsed.Seconds(), "pub-msgs/s")
			lat.report(b, "e2e-")
		})
	}
}

// BenchmarkLatency measures publish→deliver latency without load: one
// publisher sends one 1 KiB message at a time and waits for its delivery.
func BenchmarkLatency(b *testing.B) {
	topic := uniqueName(b, "topic")
	bs := newTestBus(b, []bus.TopicConfig{{Name: topic, Partitions: 8}})
	lat := &latencies{d: make([]time.Duration, 0, b.N)}
	delivered := make(chan struct{}, 1)
	var n atomic.Int64
	subscribe(b, bs, uniqueName(b, "group"), topic, func(_ context.Context, m bus.Message) error {
		if string(m.Key) != "warm-up" {
			lat.add(time.Duration(time.Now().UnixNano() - int64(binary.BigEndian.Uint64(m.Value))))
			n.Add(1)
		}
		delivered <- struct{}{}
		return nil
	})
	if err := bs.Publish(context.Background(), bus.Message{Topic: topic, Key: []byte("warm-up")}); err != nil {
		b.Fatal(err)
	}
	<-delivered
	pub := &latencies{}
	v := make([]byte, benchMsgSize)
	b.SetBytes(benchMsgSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		binary.BigEndian.PutUint64(v, uint64(start.UnixNano()))
		if err := bs.Publish(context.Background(), bus.Message{Topic: topic, Key: []byte(fmt.Sprintf("channel-%d", i%16)), Value: v}); err != nil {
			b.Fatal(err)
		}
		pub.add(time.Since(start))
		select {
		case <-delivered:
		case <-time.After(30 * time.Second):
			b.Fatal("message not delivered within 30s")
		}
	}
	b.StopTimer()
	lat.report(b, "e2e-")
	pub.report(b, "publish-")
}

package membus_test

import (
	"fmt"
	"testing"

	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/bustest"
	"github.com/beaconlive/beacon/bus/membus"
)

func benchBus(b *testing.B) *membus.Bus {
	mb, err := membus.New(membus.Config{Topics: []bus.TopicConfig{{Name: "bench", Partitions: 8, Capacity: 1 << 16}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mb.Close() })
	return mb
}

// BenchmarkThroughput: 1 KiB messages, publish→consume on 8 partitions.
// Target on 2 cores: ≥ 1,000,000 msgs/s.
func BenchmarkThroughput(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			bustest.BenchThroughput(b, benchBus(b), "bench", 1024, batch)
		})
	}
}

// BenchmarkLatency: one 1 KiB message at a time on an idle bus.
func BenchmarkLatency(b *testing.B) {
	bustest.BenchLatency(b, benchBus(b), "bench")
}

package kafkabus

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/internal/testenv"
)

// brokers returns the test broker list, skipping (or failing under CI) when
// no broker was started.
func brokers(t testing.TB) []string {
	t.Helper()
	return strings.Split(testenv.Require(t, "KAFKA_BROKERS", "Kafka broker"), ",")
}

var nameSeq atomic.Int64

var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// uniqueName returns a topic or group name no other test run uses.
func uniqueName(t testing.TB, what string) string {
	n := nameUnsafe.ReplaceAllString(t.Name(), "_")
	if len(n) > 80 {
		n = n[:80]
	}
	return fmt.Sprintf("t.%s.%s.%d.%d", n, what, time.Now().UnixNano(), nameSeq.Add(1))
}

// testLogger discards logs unless KAFKABUS_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("KAFKABUS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// newTestBus connects to the test broker with the given topics and closes
// the bus when the test ends.
func newTestBus(t testing.TB, topics []bus.TopicConfig, tweak ...func(*Config)) *Bus {
	t.Helper()
	cfg := Config{Brokers: brokers(t), Topics: topics, Logger: testLogger()}
	for _, f := range tweak {
		f(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// Cleanups run last-in first-out: the bus closes, then its topics go, so
	// that the shared broker does not pile up test topics across runs.
	t.Cleanup(func() { deleteTopics(t, cfg.Brokers, topics) })
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func deleteTopics(t testing.TB, brokers []string, topics []bus.TopicConfig) {
	var names []string
	for _, tc := range topics {
		names = append(names, tc.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(brokers...)}
	if _, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names}); err != nil {
		t.Logf("deleting test topics: %v", err)
	}
}

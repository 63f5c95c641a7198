// Package bustest is the conformance suite every bus backend must pass.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/bus"
)

// Factory returns a new bus serving topics. The suite closes it.
type Factory func(t *testing.T, topics []bus.TopicConfig) bus.Bus

// Timeout bounds each wait of the suite.
const Timeout = 60 * time.Second

var nameSeq atomic.Int64

// uniqueName returns a topic or group name unique within the process and
// across runs against the same broker.
func uniqueName(t *testing.T, kind string) string {
	base := strings.NewReplacer("/", "-", " ", "-", "#", "-").Replace(t.Name())
	return fmt.Sprintf("bt-%s-%s-%d-%d", kind, strings.ToLower(base), time.Now().UnixNano()%1e9, nameSeq.Add(1))
}

// Run runs the conformance suite against the backend newBus builds.
func Run(t *testing.T, newBus Factory) {
	t.Run("KeyOrderWithinPartition", func(t *testing.T) { testKeyOrder(t, newBus) })
	t.Run("EveryGroupSeesEveryMessage", func(t *testing.T) { testGroups(t, newBus) })
	t.Run("OneConsumerPerPartition", func(t *testing.T) { testOneConsumerPerPartition(t, newBus) })
	t.Run("FailedHandlerRedelivers", func(t *testing.T) { testRedeliver(t, newBus) })
	t.Run("UncommittedRedeliveredToNextConsumer", func(t *testing.T) { testUncommitted(t, newBus) })
	t.Run("ResumeFromCommittedOffset", func(t *testing.T) { testResume(t, newBus) })
	t.Run("Headers", func(t *testing.T) { testHeaders(t, newBus) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, newBus) })
}

func open(t *testing.T, newBus Factory, partitions int) (bus.Bus, string) {
	t.Helper()
	topic := uniqueName(t, "t")
	b := newBus(t, []bus.TopicConfig{{Name: topic, Partitions: partitions, Capacity: 100000}})
	t.Cleanup(func() { _ = b.Close() })
	return b, topic
}

func msg(topic, key string, i int) bus.Message {
	return bus.Message{Topic: topic, Key: []byte(key), Value: []byte(fmt.Sprintf("%s:%d", key, i))}
}

// collector records deliveries and signals when want distinct values arrived.
type collector struct {
	mu    sync.Mutex
	order map[string][]string // key → values in delivery order
	seen  map[string]int      // value → deliveries
	want  int
	done  chan struct{}
	once  sync.Once
}

func newCollector(want int) *collector {
	return &collector{order: map[string][]string{}, seen: map[string]int{}, want: want, done: make(chan struct{})}
}

func (c *collector) handle(_ context.Context, m bus.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order[string(m.Key)] = append(c.order[string(m.Key)], string(m.Value))
	c.seen[string(m.Value)]++
	if len(c.seen) >= c.want {
		c.once.Do(func() { close(c.done) })
	}
	return nil
}

func (c *collector) wait(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(Timeout):
		c.mu.Lock()
		defer c.mu.Unlock()
		t.Fatalf("bustest: got %d distinct messages of %d within %s", len(c.seen), c.want, Timeout)
	}
}

// subscribe runs Subscribe in a goroutine owned by the test.
func subscribe(t *testing.T, b bus.Bus, group, topic string, h bus.Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Subscribe(ctx, group, topic, h) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(Timeout):
				err = errors.New("bustest: Subscribe did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func publishAll(t *testing.T, b bus.Bus, msgs []bus.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	require.NoError(t, b.Publish(ctx, msgs...))
}

func testKeyOrder(t *testing.T, newBus Factory) {
	b, topic := open(t, newBus, 4)
	const keys, per = 8, 50
	var msgs []bus.Message
	for i := range per {
		for k := range keys {
			msgs = append(msgs, msg(topic, fmt.Sprintf("chan%d", k), i))
		}
	}
	publishAll(t, b, msgs)
	c := newCollector(len(msgs))
	partOf := sync.Map{}
	var mixed atomic.Bool
	stop := subscribe(t, b, uniqueName(t, "g"), topic, func(ctx context.Context, m bus.Message) error {
		if p, loaded := partOf.LoadOrStore(string(m.Key), m.Partition); loaded && p.(int) != m.Partition {
			mixed.Store(true)
		}
		return c.handle(ctx, m)
	})
	c.wait(t)
	require.NoError(t, stop())
	require.False(t, mixed.Load(), "a key was delivered from two partitions")
	for k := range keys {
		key := fmt.Sprintf("chan%d", k)
		got := dedupe(c.order[key])
		require.Len(t, got, per, "key %s", key)
		for i, v := range got {
			require.Equal(t, fmt.Sprintf("%s:%d", key, i), v, "key %s out of order", key)
		}
	}
}

// dedupe drops redeliveries, keeping first occurrences in order.
func dedupe(vs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func testGroups(t *testing.T, newBus Factory) {
	b, topic := open(t, newBus, 2)
	var msgs []bus.Message
	for i := range 100 {
		msgs = append(msgs, msg(topic, fmt.Sprintf("k%d", i%7), i))
	}
	c1, c2 := newCollector(len(msgs)), newCollector(len(msgs))
	subscribe(t, b, uniqueName(t, "g1"), topic, c1.handle)
	subscribe(t, b, uniqueName(t, "g2"), topic, c2.handle)
	publishAll(t, b, msgs)
	c1.wait(t)
	c2.wait(t)
}

func testOneConsumerPerPartition(t *testing.T, newBus Factory) {
	b, topic := open(t, newBus, 4)
	group := uniqueName(t, "g")
	var busy [4]atomic.Int32
	var overlap atomic.Bool
	c := newCollector(400)
	var perMember [2]atomic.Int64
	for member := range 2 {
		subscribe(t, b, group, topic, func(ctx context.Context, m bus.Message) error {
			if busy[m.Partition].Add(1) > 1 {
				overlap.Store(true)
			}
			time.Sleep(time.Millisecond)
			busy[m.Partition].Add(-1)
			perMember[member].Add(1)
			return c.handle(ctx, m)
		})
	}
	var msgs []bus.Message
	for i := range 400 {
		msgs = append(msgs, msg(topic, fmt.Sprintf("k%d", i%16), i))
	}
	publishAll(t, b, msgs)
	c.wait(t)
	require.False(t, overlap.Load(), "two consumers of one group handled a partition at once")
}

func testRedeliver(t *testing.T, newBus Factory) {
	b, topic := open(t, newBus, 1)
	var failed atomic.Bool
	c := newCollector(3)
	var attempts sync.Map
	subscribe(t, b, uniqueName(t, "g"), topic, func(ctx context.Context, m bus.Message) error {
		n, _ := attempts.LoadOrStore(string(m.Value), new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		if string(m.Value) == "k:1" && !failed.Swap(true) {
			return errors.New("transient failure")
		}
		return c.handle(ctx, m)
	})
	publishAll(t, b, []bus.Message{msg(topic, "k", 0), msg(topic, "k", 1), msg(topic, "k", 2)})
	c.wait(t)
	require.Equal(t, []string{"k:0", "k:1", "k:2"}, c.order["k"], "a failed message must be retried before later ones")
	n, _ := attempts.Load("k:1")
	require.EqualValues(t, 2, n.(*atomic.Int32).Load())
}

func testUncommitted(t *testing.T, newBus Factory) {
	b, topic := open(t, newBus, 1)
	group := uniqueName(t, "g")
	publishAll(t, b, []bus.Message{msg(topic, "k", 0), msg(topic, "k", 1)})
	got0 := make(chan struct{})
	var once sync.Once
	stop := subscribe(t, b, group, topic, func(ctx context.Context, m bus.Message) error {
		if string(m.Value) == "k:0" {
			return nil
		}
		once.Do(func() { close(got0) })
		<-ctx.Done() // the consumer stops while handling k:1
		return ctx.Err()
	})
	select {
	case <-got0:
	case <-time.After(Timeout):
		t.Fatal("bustest: k:1 never delivered")
	}
	require.NoError(t, stop())
	c := newCollector(1)
	subscribe(t, b, group, topic, c.handle)
	c.wait(t)
	require.Equal(t, []string{"k:1"}, c.order["k"], "only the uncommitted message is delivered again")
}

func testResume(t *testing.T, newBus Factory) {
	b, topic := open(t, newBus, 2)
	group := uniqueName(t, "g")
	var first []bus.Message
	for i := range 20 {
		first = append(first, msg(topic, fmt.Sprintf("k%d", i%3), i))
	}
	publishAll(t, b, first)
	c1 := newCollector(len(first))
	stop := subscribe(t, b, group, topic, c1.handle)
	c1.wait(t)
	require.NoError(t, stop())

	var second []bus.Message
	for i := 20; i < 40; i++ {
		second = append(second, msg(topic, fmt.Sprintf("k%d", i%3), i))
	}
	publishAll(t, b, second)
	c2 := newCollector(len(second))
	subscribe(t, b, group, topic, c2.handle)
	c2.wait(t)
	time.Sleep(200 * time.Millisecond) // give a wrong rewind the chance to show
	c2.mu.Lock()
	defer c2.mu.Unlock()
	for v := range c2.seen {
		var k, i int
		_, err := fmt.Sscanf(v, "k%d:%d", &k, &i)
		require.NoError(t, err)
		require.GreaterOrEqual(t, i, 20, "message %s was committed before the restart but delivered again", v)
	}
}

func testHeaders(t *testing.T, newBus Factory) {
	b, topic := open(t, newBus, 1)
	in := bus.Message{Topic: topic, Key: []byte("k"), Value: []byte{0, 1, 2, 255}, Headers: map[string]string{"schema": "beacon.events.v1.Frame"}}
	publishAll(t, b, []bus.Message{in})
	got := make(chan bus.Message, 1)
	subscribe(t, b, uniqueName(t, "g"), topic, func(_ context.Context, m bus.Message) error {
		select {
		case got <- m:
		default:
		}
		return nil
	})
	select {
	case m := <-got:
		require.Equal(t, topic, m.Topic)
		require.Equal(t, in.Key, m.Key)
		require.Equal(t, in.Value, m.Value)
		require.Equal(t, "beacon.events.v1.Frame", m.Headers["schema"])
		require.False(t, m.Time.IsZero())
	case <-time.After(Timeout):
		t.Fatal("bustest: message not delivered")
	}
}

func testErrors(t *testing.T, newBus Factory) {
	b, topic := open(t, newBus, 1)
	ctx := context.Background()
	require.ErrorIs(t, b.Publish(ctx, bus.Message{Topic: "no-such-topic-" + topic, Value: []byte("x")}), bus.ErrUnknownTopic)
	require.ErrorIs(t, b.Subscribe(ctx, "", topic, func(context.Context, bus.Message) error { return nil }), bus.ErrInvalid)
	require.NoError(t, b.Ping(ctx))
	require.NoError(t, b.Close())
	require.ErrorIs(t, b.Publish(ctx, msg(topic, "k", 0)), bus.ErrClosed)
	require.ErrorIs(t, b.Subscribe(ctx, "g", topic, func(context.Context, bus.Message) error { return nil }), bus.ErrClosed)
	require.Error(t, b.Ping(ctx))
}

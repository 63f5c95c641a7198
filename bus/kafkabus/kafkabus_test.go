package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/bustest"
)

// The shared conformance suite, against the real broker of `make test`
// (KAFKA_BROKERS). The tests below add Kafka-specific checks of the same
// contract. Each test uses its own topics and groups.
func TestConformance(t *testing.T) {
	t.Parallel()
	bustest.Run(t, func(t *testing.T, topics []bus.TopicConfig) bus.Bus { return newTestBus(t, topics) })
}

// collector records what a subscription delivered.
type collector struct {
	mu   sync.Mutex
	msgs []bus.Message
	cond chan struct{} // closed and replaced on every delivery
}

func newCollector() *collector { return &collector{cond: make(chan struct{})} }

func (c *collector) handle(_ context.Context, m bus.Message) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	close(c.cond)
	c.cond = make(chan struct{})
	c.mu.Unlock()
	return nil
}

func (c *collector) snapshot() []bus.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bus.Message(nil), c.msgs...)
}

// waitN waits until at least n messages arrived.
func (c *collector) waitN(t testing.TB, n int, timeout time.Duration) []bus.Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		got, ch := len(c.msgs), c.cond
		c.mu.Unlock()
		if got >= n {
			return c.snapshot()
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %d messages, got %d", n, got)
		}
	}
}

// subscribe runs Subscribe in a goroutine until the test ends; the returned
// function stops it and returns Subscribe's error.
func subscribe(t testing.TB, b *Bus, group, topic string, h bus.Handler) (stop func() error) {
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
			case <-time.After(30 * time.Second):
				err = errors.New("Subscribe did not return within 30s of its context ending")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func publishSeq(t testing.TB, b *Bus, topic string, keys, perKey int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var msgs []bus.Message
	for i := 0; i < perKey; i++ {
		for k := 0; k < keys; k++ {
			msgs = append(msgs, bus.Message{
				Topic: topic,
				Key:   []byte(fmt.Sprintf("channel-%d", k)),
				Value: []byte(strconv.Itoa(i)),
			})
		}
	}
	if err := b.Publish(ctx, msgs...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func TestOrderPerKeyAndPartitioning(t *testing.T) {
	t.Parallel()
	topic := uniqueName(t, "topic")
	const partitions, keys, perKey = 4, 12, 50
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: partitions}})
	publishSeq(t, b, topic, keys, perKey)
	c := newCollector()
	subscribe(t, b, uniqueName(t, "group"), topic, c.handle)
	msgs := c.waitN(t, keys*perKey, 30*time.Second)

	next := map[string]int{}
	for _, m := range msgs {
		if want := bus.PartitionFor(m.Key, partitions); m.Partition != want {
			t.Fatalf("key %q in partition %d, want %d (bus.PartitionFor)", m.Key, m.Partition, want)
		}
		seq, _ := strconv.Atoi(string(m.Value))
		if seq != next[string(m.Key)] {
			t.Fatalf("key %q: got sequence %d, want %d", m.Key, seq, next[string(m.Key)])
		}
		next[string(m.Key)]++
		if m.Time.IsZero() || m.Topic != topic {
			t.Fatalf("delivered message lacks topic or time: %+v", m)
		}
	}
	if len(msgs) != keys*perKey {
		t.Fatalf("got %d messages, want %d", len(msgs), keys*perKey)
	}
}

func TestHeadersKeyValueTime(t *testing.T) {
	t.Parallel()
	topic := uniqueName(t, "topic")
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 2}})
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	in := bus.Message{Topic: topic, Key: []byte("c1"), Value: []byte{0, 1, 2, 0xff},
		Headers: map[string]string{"schema": "beacon.events.v1.Chat", "x": ""}, Time: ts}
	if err := b.Publish(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	subscribe(t, b, uniqueName(t, "group"), topic, c.handle)
	m := c.waitN(t, 1, 30*time.Second)[0]
	if string(m.Key) != "c1" || string(m.Value) != string(in.Value) || !m.Time.Equal(ts) ||
		len(m.Headers) != 2 || m.Headers["schema"] != in.Headers["schema"] {
		t.Fatalf("got %+v, want %+v", m, in)
	}
}

func TestEveryGroupSeesEveryMessage(t *testing.T) {
	t.Parallel()
	topic := uniqueName(t, "topic")
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 4}})
	publishSeq(t, b, topic, 8, 20)
	c1, c2 := newCollector(), newCollector()
	subscribe(t, b, uniqueName(t, "g1"), topic, c1.handle)
	subscribe(t, b, uniqueName(t, "g2"), topic, c2.handle)
	for _, c := range []*collector{c1, c2} {
		if got := len(c.waitN(t, 160, 30*time.Second)); got != 160 {
			t.Fatalf("a group got %d messages, want 160", got)
		}
	}
}

func TestGroupSplitsPartitions(t *testing.T) {
	t.Parallel()
	topic := uniqueName(t, "topic")
	group := uniqueName(t, "group")
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 4}})
	c1, c2 := newCollector(), newCollector()
	subscribe(t, b, group, topic, c1.handle)
	subscribe(t, b, group, topic, c2.handle)

	// Publish rounds until both members received something: the group has
	// settled on two members, each owning some partitions.
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	sent := 0
	for len(c1.snapshot()) == 0 || len(c2.snapshot()) == 0 {
		if ctx.Err() != nil {
			t.Fatalf("the two members did not share the topic: %d and %d messages", len(c1.snapshot()), len(c2.snapshot()))
		}
		var msgs []bus.Message
		for k := range 16 {
			msgs = append(msgs, bus.Message{Topic: topic, Key: []byte(fmt.Sprintf("k%d", k)), Value: []byte(strconv.Itoa(sent))})
			sent++
		}
		if err := b.Publish(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Now the split is stable: a fresh round is delivered once, and each
	// partition to a single member.
	before1, before2 := len(c1.snapshot()), len(c2.snapshot())
	var msgs []bus.Message
	for k := range 64 {
		msgs = append(msgs, bus.Message{Topic: topic, Key: []byte(fmt.Sprintf("k%d", k)), Value: []byte("final")})
	}
	if err := b.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		n1, n2 := len(c1.snapshot())-before1, len(c2.snapshot())-before2
		if n1+n2 >= 64 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("final round: got %d+%d messages, want 64", n1, n2)
		}
		time.Sleep(50 * time.Millisecond)
	}
	owner := map[int]int{}
	for i, c := range []*collector{c1, c2} {
		for _, m := range c.snapshot()[map[int]int{0: before1, 1: before2}[i]:] {
			if o, ok := owner[m.Partition]; ok && o != i {
				t.Fatalf("partition %d delivered to both members", m.Partition)
			}
			owner[m.Partition] = i
		}
	}
}

// A handler error is retried on the same message; nothing is skipped and the
// order within the partition holds.
func TestHandlerErrorRetriesSameMessage(t *testing.T) {
	t.Parallel()
	topic := uniqueName(t, "topic")
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 1}}, func(c *Config) { c.HandlerRetryPause = 10 * time.Millisecond })
	publishSeq(t, b, topic, 1, 10)
	var mu sync.Mutex
	var seen []string
	failures := 0
	done := make(chan struct{})
	subscribe(t, b, uniqueName(t, "group"), topic, func(_ context.Context, m bus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, string(m.Value))
		if string(m.Value) == "3" && failures < 3 {
			failures++
			return errors.New("transient")
		}
		if string(m.Value) == "9" {
			close(done)
		}
		return nil
	})
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("timeout")
	}
	mu.Lock()
	defer mu.Unlock()
	want := "[0 1 2 3 3 3 3 4 5 6 7 8 9]"
	if got := fmt.Sprint(seen); got != want {
		t.Fatalf("deliveries %s, want %s", got, want)
	}
}

// A message whose handler never succeeded, or that was being handled when its
// consumer stopped, is delivered again to the group; committed ones are not.
func TestUncommittedIsRedelivered(t *testing.T) {
	t.Parallel()
	topic := uniqueName(t, "topic")
	group := uniqueName(t, "group")
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 1}})
	publishSeq(t, b, topic, 1, 10)

	reached := make(chan struct{})
	var once sync.Once
	stop := subscribe(t, b, group, topic, func(ctx context.Context, m bus.Message) error {
		if string(m.Value) < "5" {
			return nil
		}
		// Message 5 is in flight when the consumer stops.
		once.Do(func() { close(reached) })
		<-ctx.Done()
		return ctx.Err()
	})
	select {
	case <-reached:
	case <-time.After(30 * time.Second):
		t.Fatal("timeout")
	}
	if err := stop(); err != nil {
		t.Fatalf("Subscribe returned %v after its context ended, want nil", err)
	}

	c := newCollector()
	subscribe(t, b, group, topic, c.handle)
	msgs := c.waitN(t, 5, 30*time.Second)
	var got []string
	for _, m := range msgs {
		got = append(got, string(m.Value))
	}
	if fmt.Sprint(got) != "[5 6 7 8 9]" {
		t.Fatalf("second consumer got %v, want [5 6 7 8 9] (resume at the first uncommitted message)", got)
	}
}

// A consumer that always fails blocks its partition: the next consumer of the
// group starts at that same message.
func TestFailingMessageIsNotSkipped(t *testing.T) {
	t.Parallel()
	topic := uniqueName(t, "topic")
	group := uniqueName(t, "group")
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 1}}, func(c *Config) { c.HandlerRetryPause = 5 * time.Millisecond })
	publishSeq(t, b, topic, 1, 3)
	attempts := make(chan string, 1000)
	stop := subscribe(t, b, group, topic, func(_ context.Context, m bus.Message) error {
		attempts <- string(m.Value)
		return errors.New("always fails")
	})
	for i := 0; i < 3; i++ {
		select {
		case v := <-attempts:
			if v != "0" {
				t.Fatalf("attempt %d on message %q, want 0", i, v)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("timeout")
		}
	}
	_ = stop()
	c := newCollector()
	subscribe(t, b, group, topic, c.handle)
	if m := c.waitN(t, 3, 30*time.Second); string(m[0].Value) != "0" {
		t.Fatalf("next consumer started at %q, want 0", m[0].Value)
	}
}

func TestClosedBus(t *testing.T) {
	t.Parallel()
	topic := uniqueName(t, "topic")
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 1}})
	errc := make(chan error, 1)
	started := make(chan struct{})
	publishSeq(t, b, topic, 1, 1)
	go func() {
		errc <- b.Subscribe(context.Background(), uniqueName(t, "group"), topic, func(context.Context, bus.Message) error {
			select {
			case <-started:
			default:
				close(started)
			}
			return nil
		})
	}()
	<-started
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Subscribe returned %v on Close, want bus.ErrClosed", err)
	}
	if err := b.Publish(context.Background(), bus.Message{Topic: topic}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Publish after Close: %v, want bus.ErrClosed", err)
	}
	if err := b.Subscribe(context.Background(), "g", topic, func(context.Context, bus.Message) error { return nil }); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v, want bus.ErrClosed", err)
	}
	if err := b.Ping(context.Background()); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Ping after Close: %v, want bus.ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestInvalidUse(t *testing.T) {
	t.Parallel()
	topic := uniqueName(t, "topic")
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 1}})
	ctx := context.Background()
	h := func(context.Context, bus.Message) error { return nil }
	for _, ca := range []struct {
		name string
		err  error
		want error
	}{
		{"publish no topic", b.Publish(ctx, bus.Message{}), bus.ErrInvalid},
		{"publish unknown topic", b.Publish(ctx, bus.Message{Topic: "nope"}), bus.ErrUnknownTopic},
		{"subscribe no group", b.Subscribe(ctx, "", topic, h), bus.ErrInvalid},
		{"subscribe no handler", b.Subscribe(ctx, "g", topic, nil), bus.ErrInvalid},
		{"subscribe unknown topic", b.Subscribe(ctx, "g", "nope", h), bus.ErrUnknownTopic},
		{"publish nothing", b.Publish(ctx), nil},
	} {
		if !errors.Is(ca.err, ca.want) {
			t.Errorf("%s: got %v, want %v", ca.name, ca.err, ca.want)
		}
	}
}

func TestPublishTooLarge(t *testing.T) {
	t.Parallel()
	topic := uniqueName(t, "topic")
	b := newTestBus(t, []bus.TopicConfig{{Name: topic, Partitions: 1}}, func(c *Config) { c.BatchBytes = 1000 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := b.Publish(ctx, bus.Message{Topic: topic, Value: make([]byte, 2000)})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Publish of a message larger than BatchBytes: %v, want a prompt error", err)
	}
}

func TestTopicsCreatedIdempotently(t *testing.T) {
	t.Parallel()
	topics := []bus.TopicConfig{{Name: uniqueName(t, "a"), Partitions: 3}, {Name: uniqueName(t, "b")}}
	newTestBus(t, topics)
	b := newTestBus(t, topics) // the topics exist now
	if err := b.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	md, err := b.client.Metadata(context.Background(), &kafka.MetadataRequest{Topics: []string{topics[0].Name, topics[1].Name}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range md.Topics {
		want := map[string]int{topics[0].Name: 3, topics[1].Name: 8}[tp.Name]
		if len(tp.Partitions) != want {
			t.Errorf("topic %s has %d partitions, want %d", tp.Name, len(tp.Partitions), want)
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for _, ca := range []struct {
		name string
		cfg  Config
	}{
		{"no brokers", Config{}},
		{"bad broker", Config{Brokers: []string{"h:x"}}},
		{"bad topic name", Config{Brokers: []string{"h:1"}, Topics: []bus.TopicConfig{{Name: "a b"}}}},
		{"empty topic name", Config{Brokers: []string{"h:1"}, Topics: []bus.TopicConfig{{}}}},
		{"duplicate topic", Config{Brokers: []string{"h:1"}, Topics: []bus.TopicConfig{{Name: "a"}, {Name: "a"}}}},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := New(context.Background(), ca.cfg)
			if !errors.Is(err, bus.ErrInvalid) {
				t.Fatalf("New: %v, want bus.ErrInvalid", err)
			}
		})
	}
}

// New gives up on unreachable brokers when its context ends.
func TestNewUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := New(ctx, Config{Brokers: []string{"127.0.0.1:1"}, Topics: []bus.TopicConfig{{Name: "x"}}, Logger: testLogger()})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("New: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("New took %v after its context ended", d)
	}
}

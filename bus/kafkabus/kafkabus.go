// Package kafkabus is the Apache Kafka backend of the message bus (bus.Bus over segmentio/kafka-go).
//
// # Mapping of the bus contract
//
//   - Topics: New creates every configured topic that is missing, with the
//     configured number of partitions (bus.TopicConfig.Partitions). An existing
//     topic is left as it is. Capacity and Overflow are in-process settings:
//     Kafka retains messages by the broker's retention policy and never drops a
//     message it accepted.
//   - Partitioning: a message goes to partition bus.PartitionFor(key, n), the
//     same function the in-process bus uses, so a key maps to the same
//     partition on both backends.
//   - Publish: messages are batched per partition (BatchSize, BatchBytes,
//     BatchTimeout) and Publish returns once the broker acknowledged them
//     (acks=all), so nothing Publish accepted is lost. While the broker is
//     unreachable Publish retries with exponential backoff until its context
//     ends or the bus closes. A retry may write a message twice (at-least-once).
//   - Subscribe: a kafka-go consumer-group reader per call. A message's offset
//     is committed only after its handler returned nil; a handler error makes
//     the same message be handled again after a pause (it is never skipped), so
//     a partition does not move past a message that keeps failing. Committed
//     offsets are flushed every CommitInterval, on rebalance and when the
//     subscription ends. A new group starts at the oldest retained message.
//
// Ordering per key holds for one publisher: Publish is synchronous and the
// writer sends one batch per partition at a time. Under broker failures a
// retried message may appear twice.
package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/beaconlive/beacon/bus"
)

// Config configures a Bus. Zero fields take the documented defaults.
type Config struct {
	// Brokers are the bootstrap brokers as host:port (see ParseDSN). Required.
	Brokers []string
	// Topics are the topics the bus publishes to and consumes. Publishing to
	// or subscribing on any other topic fails with bus.ErrUnknownTopic.
	Topics []bus.TopicConfig
	// Logger receives the bus's logs. It defaults to slog.Default().
	Logger *slog.Logger

	// ClientID names the client to the brokers. It defaults to "beacon".
	ClientID string
	// ReplicationFactor of the topics New creates. It defaults to -1, the
	// broker's default.replication.factor.
	ReplicationFactor int
	// DialTimeout bounds connecting to a broker. It defaults to 5s.
	DialTimeout time.Duration

	// BatchSize is the most messages sent to one partition in one request.
	// It defaults to 500.
	BatchSize int
	// BatchBytes is the most bytes sent to one partition in one request. It
	// defaults to 1000000, under the broker's default message.max.bytes.
	BatchBytes int64
	// BatchTimeout (linger) is how long a batch that is not full waits for
	// more messages before it is sent. It is also the least time a lone
	// Publish waits. It defaults to 2ms.
	BatchTimeout time.Duration
	// WriteTimeout bounds one produce request. It defaults to 10s.
	WriteTimeout time.Duration
	// RetryBackoffMin and RetryBackoffMax bound the pause between two
	// attempts of a Publish while the broker is unreachable; the pause doubles
	// from min to max. They default to 100ms and 2s.
	RetryBackoffMin time.Duration
	RetryBackoffMax time.Duration

	// HandlerRetryPause is the pause before a message whose handler failed is
	// handled again; it doubles on each failure up to 10 times its value. It
	// defaults to 200ms.
	HandlerRetryPause time.Duration
	// CommitInterval is how often the offsets of handled messages are
	// committed. It defaults to 500ms. A negative value commits every message
	// synchronously before the next one is handled (much slower).
	CommitInterval time.Duration
	// MaxWait is how long a fetch waits for new messages. It defaults to 500ms.
	MaxWait time.Duration
	// FetchMaxBytes is the most bytes one fetch returns. It defaults to 10 MiB.
	FetchMaxBytes int
	// QueueCapacity is how many fetched messages a subscription buffers. It
	// defaults to 1000.
	QueueCapacity int
	// HeartbeatInterval, SessionTimeout and RebalanceTimeout tune the
	// consumer group. They default to 1s, 10s and 10s.
	HeartbeatInterval time.Duration
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ClientID == "" {
		c.ClientID = "beacon"
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.DialTimeout, 5*time.Second)
	def(&c.BatchTimeout, 2*time.Millisecond)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.RetryBackoffMin, 100*time.Millisecond)
	def(&c.RetryBackoffMax, 2*time.Second)
	def(&c.HandlerRetryPause, 200*time.Millisecond)
	if c.CommitInterval == 0 {
		c.CommitInterval = 500 * time.Millisecond
	}
	def(&c.MaxWait, 500*time.Millisecond)
	def(&c.HeartbeatInterval, time.Second)
	def(&c.SessionTimeout, 10*time.Second)
	def(&c.RebalanceTimeout, 10*time.Second)
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 1000000
	}
	if c.FetchMaxBytes <= 0 {
		c.FetchMaxBytes = 10 << 20
	}
	if c.QueueCapacity <= 0 {
		c.QueueCapacity = 1000
	}
	if c.RetryBackoffMax < c.RetryBackoffMin {
		c.RetryBackoffMax = c.RetryBackoffMin
	}
	return c
}

// validate checks the brokers and topics of a defaulted config.
func (c Config) validate() (map[string]bus.TopicConfig, error) {
	if len(c.Brokers) == 0 {
		return nil, fmt.Errorf("kafkabus: 'brokers' is empty: %w", bus.ErrInvalid)
	}
	for _, b := range c.Brokers {
		if _, err := parseBroker(b); err != nil {
			return nil, fmt.Errorf("kafkabus: broker %q: %v: %w", b, err, bus.ErrInvalid)
		}
	}
	topics := make(map[string]bus.TopicConfig, len(c.Topics))
	for _, t := range c.Topics {
		t = t.WithDefaults()
		if err := validTopicName(t.Name); err != nil {
			return nil, fmt.Errorf("kafkabus: topic %q: %v: %w", t.Name, err, bus.ErrInvalid)
		}
		if _, dup := topics[t.Name]; dup {
			return nil, fmt.Errorf("kafkabus: topic %q is configured twice: %w", t.Name, bus.ErrInvalid)
		}
		topics[t.Name] = t
	}
	return topics, nil
}

// validTopicName applies Kafka's rules for topic names.
func validTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case name == "." || name == "..":
		return errors.New(`"." and ".." are not topic names`)
	case len(name) > 249:
		return errors.New("longer than 249 characters")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("character %q is not allowed (use letters, digits, '.', '_' and '-')", r)
		}
	}
	return nil
}

// Bus is a bus.Bus on Apache Kafka. It is safe for concurrent use.
type Bus struct {
	cfg    Config
	log    *slog.Logger
	topics map[string]bus.TopicConfig

	transport *kafka.Transport
	client    *kafka.Client
	writer    *kafka.Writer
	dialer    *kafka.Dialer

	ctx    context.Context // ends when Close is called
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // Publish and Subscribe calls in flight
}

var _ bus.Bus = (*Bus)(nil)

// New connects to the brokers, creates the configured topics that are missing
// and returns the bus. While the brokers are unreachable it retries until ctx
// ends, then fails with the last broker error.
func New(ctx context.Context, cfg Config) (*Bus, error) {
	cfg = cfg.withDefaults()
	topics, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("backend", "kafka")
	dialer := &kafka.Dialer{ClientID: cfg.ClientID, Timeout: cfg.DialTimeout}
	transport := &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: cfg.DialTimeout}).DialContext,
		DialTimeout: cfg.DialTimeout,
		ClientID:    cfg.ClientID,
		// Metadata is refreshed often enough to notice a restarted broker.
		MetadataTTL: 5 * time.Second,
	}
	addr := kafka.TCP(cfg.Brokers...)
	b := &Bus{
		cfg:       cfg,
		log:       log,
		topics:    topics,
		transport: transport,
		client:    &kafka.Client{Addr: addr, Transport: transport, Timeout: cfg.WriteTimeout},
		dialer:    dialer,
	}
	b.writer = &kafka.Writer{
		Addr:            addr,
		Balancer:        keyBalancer{},
		MaxAttempts:     3,
		WriteBackoffMin: cfg.RetryBackoffMin,
		WriteBackoffMax: cfg.RetryBackoffMax,
		BatchSize:       cfg.BatchSize,
		BatchBytes:      cfg.BatchBytes,
		BatchTimeout:    cfg.BatchTimeout,
		ReadTimeout:     cfg.WriteTimeout,
		WriteTimeout:    cfg.WriteTimeout,
		RequiredAcks:    kafka.RequireAll,
		Transport:       transport,
		ErrorLogger:     kafka.LoggerFunc(b.kafkaErrorf),
	}
	if log.Enabled(ctx, slog.LevelDebug) {
		b.writer.Logger = kafka.LoggerFunc(b.kafkaDebugf)
	}
	if err := b.ensureTopics(ctx); err != nil {
		transport.CloseIdleConnections()
		return nil, err
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

func (b *Bus) kafkaErrorf(format string, args ...any) {
	b.log.Warn(fmt.Sprintf(format, args...), "source", "kafka-go")
}

func (b *Bus) kafkaDebugf(format string, args ...any) {
	b.log.Debug(fmt.Sprintf(format, args...), "source", "kafka-go")
}

// keyBalancer sends a message to bus.PartitionFor(key, n), as the in-process
// bus does.
type keyBalancer struct{}

func (keyBalancer) Balance(msg kafka.Message, partitions ...int) int {
	return partitions[bus.PartitionFor(msg.Key, len(partitions))]
}

// enter registers a Publish or Subscribe call; it reports false once the bus
// is closed.
func (b *Bus) enter() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.wg.Add(1)
	return true
}

// Publish sends msgs and returns once the broker acknowledged all of them. It
// fails with bus.ErrInvalid or bus.ErrUnknownTopic before sending anything
// when a message is not valid, with bus.ErrClosed when the bus closes first,
// and with the context's error (wrapping the last broker error) when ctx ends
// first; in the last two cases some messages may have been written.
func (b *Bus) Publish(ctx context.Context, msgs ...bus.Message) error {
	if !b.enter() {
		return bus.ErrClosed
	}
	defer b.wg.Done()
	if len(msgs) == 0 {
		return nil
	}
	pending := make([]kafka.Message, len(msgs))
	now := time.Now()
	for i, m := range msgs {
		if m.Topic == "" {
			return fmt.Errorf("kafkabus: message %d has no topic: %w", i, bus.ErrInvalid)
		}
		if _, ok := b.topics[m.Topic]; !ok {
			return fmt.Errorf("kafkabus: publish to %q: %w", m.Topic, bus.ErrUnknownTopic)
		}
		pending[i] = toKafka(m, now)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(b.ctx, cancel)
	defer stop()

	backoff := b.cfg.RetryBackoffMin
	for attempt := 1; ; attempt++ {
		err := b.writer.WriteMessages(ctx, pending...)
		if err == nil {
			if attempt > 1 {
				b.log.Info("publish succeeded after retries", "attempts", attempt)
			}
			return nil
		}
		if b.ctx.Err() != nil {
			return bus.ErrClosed
		}
		if ctx.Err() != nil {
			return fmt.Errorf("kafkabus: publish: %w (after %d attempts)", ctx.Err(), attempt)
		}
		if permanent(err) {
			return fmt.Errorf("kafkabus: publish: %w", err)
		}
		// Resend only the messages that failed: the others were acknowledged.
		var werrs kafka.WriteErrors
		if errors.As(err, &werrs) && len(werrs) == len(pending) {
			failed := make([]kafka.Message, 0, werrs.Count())
			for i, e := range werrs {
				if e == nil {
					continue
				}
				if permanent(e) {
					return fmt.Errorf("kafkabus: publish: %w", e)
				}
				failed = append(failed, pending[i])
			}
			pending = failed
			if len(pending) == 0 {
				return nil
			}
		}
		if attempt == 1 || attempt%10 == 0 {
			b.log.Warn("publish failed, retrying", "error", err, "attempt", attempt, "messages", len(pending), "backoff", backoff)
		}
		if !sleep(ctx, backoff) {
			if b.ctx.Err() != nil {
				return bus.ErrClosed
			}
			return fmt.Errorf("kafkabus: publish: %w (after %d attempts, last error: %v)", ctx.Err(), attempt, err)
		}
		backoff = min(2*backoff, b.cfg.RetryBackoffMax)
	}
}

// permanent reports whether a write error will not go away by retrying.
func permanent(err error) bool {
	var tooLarge kafka.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return true
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		switch kerr {
		case kafka.MessageSizeTooLarge, kafka.RecordListTooLarge, kafka.InvalidTopic,
			kafka.TopicAuthorizationFailed, kafka.ClusterAuthorizationFailed,
			kafka.InvalidRequiredAcks, kafka.InvalidRecord, kafka.UnsupportedForMessageFormat,
			kafka.InvalidTimestamp:
			return true
		}
	}
	return errors.Is(err, io.ErrClosedPipe) // the writer is closed
}

func toKafka(m bus.Message, now time.Time) kafka.Message {
	km := kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Time: m.Time}
	if km.Time.IsZero() {
		km.Time = now
	}
	if len(m.Headers) > 0 {
		km.Headers = make([]kafka.Header, 0, len(m.Headers))
		for k, v := range m.Headers {
			km.Headers = append(km.Headers, kafka.Header{Key: k, Value: []byte(v)})
		}
	}
	return km
}

func fromKafka(km kafka.Message) bus.Message {
	m := bus.Message{
		Topic:     km.Topic,
		Key:       km.Key,
		Value:     km.Value,
		Partition: km.Partition,
		Offset:    km.Offset,
		Time:      km.Time,
	}
	if len(km.Headers) > 0 {
		m.Headers = make(map[string]string, len(km.Headers))
		for _, h := range km.Headers {
			m.Headers[h.Key] = string(h.Value)
		}
	}
	return m
}

// Subscribe consumes topic as a member of group, calling h for each message
// in order within a partition, until ctx ends (it returns nil) or the bus
// closes (it returns bus.ErrClosed). See the package doc for commits and
// redelivery. Close waits for Subscribe to return, so h must return when its
// context ends, and must not call Close itself.
func (b *Bus) Subscribe(ctx context.Context, group, topic string, h bus.Handler) error {
	if group == "" || topic == "" || h == nil {
		return fmt.Errorf("kafkabus: subscribe needs a group, a topic and a handler: %w", bus.ErrInvalid)
	}
	if _, ok := b.topics[topic]; !ok {
		return fmt.Errorf("kafkabus: subscribe to %q: %w", topic, bus.ErrUnknownTopic)
	}
	if !b.enter() {
		return bus.ErrClosed
	}
	defer b.wg.Done()

	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(b.ctx, cancel)
	defer stop()

	log := b.log.With("group", group, "topic", topic)
	commitInterval := b.cfg.CommitInterval
	if commitInterval < 0 {
		commitInterval = 0 // kafka-go: synchronous commits
	}
	rc := kafka.ReaderConfig{
		Brokers:           b.cfg.Brokers,
		GroupID:           group,
		Topic:             topic,
		Dialer:            b.dialer,
		QueueCapacity:     b.cfg.QueueCapacity,
		MinBytes:          1,
		MaxBytes:          b.cfg.FetchMaxBytes,
		MaxWait:           b.cfg.MaxWait,
		ReadBatchTimeout:  b.cfg.WriteTimeout,
		ReadLagInterval:   -1,
		HeartbeatInterval: b.cfg.HeartbeatInterval,
		CommitInterval:    commitInterval,
		SessionTimeout:    b.cfg.SessionTimeout,
		RebalanceTimeout:  b.cfg.RebalanceTimeout,
		JoinGroupBackoff:  500 * time.Millisecond,
		ReadBackoffMin:    100 * time.Millisecond,
		ReadBackoffMax:    time.Second,
		StartOffset:       kafka.FirstOffset,
		ErrorLogger:       kafka.LoggerFunc(func(f string, a ...any) { log.Warn(fmt.Sprintf(f, a...), "source", "kafka-go") }),
	}
	if log.Enabled(ctx, slog.LevelDebug) {
		rc.Logger = kafka.LoggerFunc(func(f string, a ...any) { log.Debug(fmt.Sprintf(f, a...), "source", "kafka-go") })
	}
	r := kafka.NewReader(rc)
	// Closing the reader leaves the group and flushes the pending commits.
	defer func() {
		if err := r.Close(); err != nil {
			log.Warn("closing the reader", "error", err)
		}
	}()

	done := func() error {
		if b.ctx.Err() != nil {
			return bus.ErrClosed
		}
		return nil
	}
	for {
		km, err := r.FetchMessage(subCtx)
		if err != nil {
			if subCtx.Err() != nil {
				return done()
			}
			log.Warn("fetch failed, retrying", "error", err)
			if !sleep(subCtx, b.cfg.HandlerRetryPause) {
				return done()
			}
			continue
		}
		if !b.handle(subCtx, log, h, km) {
			return done() // not committed: delivered again later
		}
		if err := b.commit(r, km); err != nil {
			// The partition moved to another member (or the broker is away):
			// the message will be delivered again, which at-least-once allows.
			log.Warn("commit failed", "error", err, "partition", km.Partition, "offset", km.Offset)
		}
	}
}

// handle runs h on km until it succeeds (true) or ctx ends (false).
func (b *Bus) handle(ctx context.Context, log *slog.Logger, h bus.Handler, km kafka.Message) bool {
	m := fromKafka(km)
	pause := b.cfg.HandlerRetryPause
	for attempt := 1; ; attempt++ {
		err := h(ctx, m)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		log.Warn("handler failed, retrying the message", "error", err, "partition", km.Partition, "offset", km.Offset, "attempt", attempt)
		if !sleep(ctx, pause) {
			return false
		}
		pause = min(2*pause, 10*b.cfg.HandlerRetryPause)
	}
}

// commit marks km handled. Asynchronous commits only queue the offset, so
// they use a context that the subscription's end does not cancel.
func (b *Bus) commit(r *kafka.Reader, km kafka.Message) error {
	ctx := context.Background()
	if b.cfg.CommitInterval < 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.WriteTimeout)
		defer cancel()
	}
	err := r.CommitMessages(ctx, km)
	if errors.Is(err, io.ErrClosedPipe) {
		return nil // reader closing: kafka-go flushes what it has
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Ping reports whether the brokers answer and know every configured topic.
func (b *Bus) Ping(ctx context.Context) error {
	if b.ctx.Err() != nil {
		return bus.ErrClosed
	}
	names := make([]string, 0, len(b.topics))
	for n := range b.topics {
		names = append(names, n)
	}
	md, err := b.client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
	if err != nil {
		return fmt.Errorf("kafkabus: ping: %w", err)
	}
	for _, t := range md.Topics {
		if t.Error != nil {
			return fmt.Errorf("kafkabus: ping: topic %q: %w", t.Name, t.Error)
		}
	}
	return nil
}

// Close makes pending and later Publish calls fail with bus.ErrClosed, ends
// the subscriptions, waits for them and flushes the writer. It is idempotent.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	err := b.writer.Close()
	b.transport.CloseIdleConnections()
	return err
}

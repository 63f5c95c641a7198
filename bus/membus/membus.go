// Package membus is the in-process message bus, Beacon's default backend.
//
// # Retention
//
// Each partition is a ring of TopicConfig.Capacity messages. A message is
// released once every consumer group that ever subscribed to its topic has
// committed it; groups are remembered for the life of the bus, as Kafka keeps
// committed offsets. When a partition is full:
//
//   - bus.Block (the default): Publish waits until a commit frees space and
//     fails with bus.ErrFull when its context ends first. Nothing accepted is
//     dropped. With no group subscribed yet, messages wait for the first one.
//   - bus.DropOldest: the oldest message is evicted, committed or not, and
//     counted by Dropped; groups that had not reached it skip it.
//
// A new group starts at the oldest retained message. Publish keeps the
// message's Key and Value slices: callers must not modify them afterwards.
package membus

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beaconlive/beacon/bus"
)

// Config configures the in-process bus.
type Config struct {
	// Topics the bus serves. Publishing to another topic is an error.
	Topics []bus.TopicConfig
	// RetryPause is how long a partition waits before redelivering a message
	// whose handler failed. It defaults to 100ms.
	RetryPause time.Duration
	// MaxBatch is how many messages a consumer takes from a partition at once.
	// It defaults to 256.
	MaxBatch int
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
}

// Bus is the in-process bus. It implements bus.Bus.
type Bus struct {
	cfg    Config
	log    *slog.Logger
	topics map[string]*topic

	closed  atomic.Bool
	closeCh chan struct{}
	wg      sync.WaitGroup
}

var _ bus.Bus = (*Bus)(nil)

// New returns a bus serving cfg.Topics.
func New(cfg Config) (*Bus, error) {
	if cfg.RetryPause <= 0 {
		cfg.RetryPause = 100 * time.Millisecond
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bus{cfg: cfg, log: cfg.Logger, topics: map[string]*topic{}, closeCh: make(chan struct{})}
	for _, tc := range cfg.Topics {
		tc = tc.WithDefaults()
		if tc.Name == "" {
			return nil, fmt.Errorf("membus: topic with empty name: %w", bus.ErrInvalid)
		}
		if _, dup := b.topics[tc.Name]; dup {
			return nil, fmt.Errorf("membus: topic %q configured twice: %w", tc.Name, bus.ErrInvalid)
		}
		t := &topic{cfg: tc, groups: map[string]*group{}}
		for i := range tc.Partitions {
			t.parts = append(t.parts, &partition{index: i, ring: make([]bus.Message, tc.Capacity)})
		}
		b.topics[tc.Name] = t
	}
	return b, nil
}

// Dropped returns how many messages topic's DropOldest policy evicted.
func (b *Bus) Dropped(topicName string) int64 {
	t, ok := b.topics[topicName]
	if !ok {
		return 0
	}
	return t.dropped.Load()
}

// Ping implements bus.Bus.
func (b *Bus) Ping(context.Context) error {
	if b.closed.Load() {
		return bus.ErrClosed
	}
	return nil
}

// Close implements bus.Bus.
func (b *Bus) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	close(b.closeCh)
	for _, t := range b.topics {
		for _, p := range t.parts {
			p.mu.Lock()
			p.broadcastLocked()
			p.mu.Unlock()
		}
	}
	b.wg.Wait()
	return nil
}

// Publish implements bus.Publisher. It returns once every message is in its
// partition, in argument order for messages sharing a key.
func (b *Bus) Publish(ctx context.Context, msgs ...bus.Message) error {
	for i := range msgs {
		if err := b.publish(ctx, msgs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bus) publish(ctx context.Context, m bus.Message) error {
	if b.closed.Load() {
		return bus.ErrClosed
	}
	t, ok := b.topics[m.Topic]
	if !ok {
		return fmt.Errorf("%w: %q", bus.ErrUnknownTopic, m.Topic)
	}
	pi := bus.PartitionFor(m.Key, len(t.parts))
	m.Partition = pi
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	p := t.parts[pi]
	p.mu.Lock()
	for p.next-p.base >= int64(len(p.ring)) {
		// Mark the partition blocked before reading committed offsets, so a
		// consumer committing concurrently either is seen here or sees the mark.
		p.blocked.Store(true)
		p.releaseLocked(t)
		if p.next-p.base < int64(len(p.ring)) {
			break
		}
		if t.cfg.Overflow == bus.DropOldest {
			p.ring[p.base%int64(len(p.ring))] = bus.Message{}
			p.base++
			t.dropped.Add(1)
			break
		}
		// Block until a commit frees space.
		if p.space == nil {
			p.space = make(chan struct{})
		}
		space := p.space
		p.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return fmt.Errorf("%w: %q partition %d: %w", bus.ErrFull, m.Topic, pi, ctx.Err())
		case <-b.closeCh:
			return bus.ErrClosed
		}
		p.mu.Lock()
	}
	m.Offset = p.next
	p.ring[p.next%int64(len(p.ring))] = m
	p.next++
	p.broadcastLocked()
	p.mu.Unlock()
	return nil
}

// Subscribe implements bus.Subscriber.
func (b *Bus) Subscribe(ctx context.Context, groupName, topicName string, h bus.Handler) error {
	if groupName == "" || h == nil {
		return fmt.Errorf("membus: subscribe needs a group and a handler: %w", bus.ErrInvalid)
	}
	if b.closed.Load() {
		return bus.ErrClosed
	}
	t, ok := b.topics[topicName]
	if !ok {
		return fmt.Errorf("%w: %q", bus.ErrUnknownTopic, topicName)
	}
	g := t.group(groupName)
	id, changed := g.join()
	defer g.leave(id)

	for {
		parts := g.assignment(id)
		runCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, pi := range parts {
			wg.Add(1)
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer wg.Done()
				b.consume(runCtx, t, g, pi, h)
			}()
		}
		var err error
		select {
		case <-ctx.Done():
		case <-b.closeCh:
			err = bus.ErrClosed
		case <-changed:
		}
		cancel()
		wg.Wait()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		changed = g.changes(id)
	}
}

// consume delivers partition pi to h for group g until ctx ends.
func (b *Bus) consume(ctx context.Context, t *topic, g *group, pi int, h bus.Handler) {
	owner := g.owner[pi]
	select {
	case owner <- struct{}{}: // wait for the previous owner to let go
	case <-ctx.Done():
		return
	}
	defer func() { <-owner }()

	p := t.parts[pi]
	batch := make([]bus.Message, 0, b.cfg.MaxBatch)
	for {
		off := g.committed[pi].Load()
		p.mu.Lock()
		if off < p.base {
			off = p.base // evicted by DropOldest
			g.committed[pi].Store(off)
		}
		for off >= p.next {
			wake := p.waitLocked()
			p.mu.Unlock()
			select {
			case <-wake:
			case <-ctx.Done():
				return
			}
			p.mu.Lock()
			if off < p.base {
				off = p.base
				g.committed[pi].Store(off)
			}
		}
		batch = batch[:0]
		for o := off; o < p.next && len(batch) < cap(batch); o++ {
			batch = append(batch, p.ring[o%int64(len(p.ring))])
		}
		p.mu.Unlock()

		for _, m := range batch {
			for {
				if ctx.Err() != nil {
					return
				}
				err := h(ctx, m)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return
				}
				b.log.Warn("handler failed; message will be redelivered",
					"topic", t.cfg.Name, "group", g.name, "partition", pi, "offset", m.Offset, "error", err)
				select {
				case <-time.After(b.cfg.RetryPause):
				case <-ctx.Done():
					return
				}
			}
			g.committed[pi].Store(m.Offset + 1)
			if p.blocked.Load() {
				p.mu.Lock()
				p.releaseLocked(t)
				p.mu.Unlock()
			}
		}
	}
}

type topic struct {
	cfg     bus.TopicConfig
	parts   []*partition
	dropped atomic.Int64

	mu     sync.Mutex // guards groups
	groups map[string]*group
	// groupList is a copy-on-write snapshot of groups for publishers.
	groupList atomic.Pointer[[]*group]
}

func (t *topic) group(name string) *group {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g, ok := t.groups[name]; ok {
		return g
	}
	g := &group{name: name, members: map[int]chan struct{}{}}
	g.committed = make([]atomic.Int64, len(t.parts))
	g.owner = make([]chan struct{}, len(t.parts))
	for i, p := range t.parts {
		g.owner[i] = make(chan struct{}, 1)
		p.mu.Lock()
		g.committed[i].Store(p.base) // a new group starts at the oldest retained message
		p.mu.Unlock()
	}
	t.groups[name] = g
	list := make([]*group, 0, len(t.groups))
	for _, g := range t.groups {
		list = append(list, g)
	}
	t.groupList.Store(&list)
	return g
}

type partition struct {
	index int
	mu    sync.Mutex
	ring  []bus.Message
	base  int64 // oldest retained offset
	next  int64 // offset of the next message

	wake    chan struct{} // closed when a message arrives; nil when nobody waits
	space   chan struct{} // closed when space is freed; nil when nobody waits
	blocked atomic.Bool   // a publisher waits for space
}

func (p *partition) waitLocked() <-chan struct{} {
	if p.wake == nil {
		p.wake = make(chan struct{})
	}
	return p.wake
}

func (p *partition) broadcastLocked() {
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
	if p.space != nil {
		close(p.space)
		p.space = nil
	}
}

// releaseLocked frees messages every group has committed and wakes publishers
// waiting for space.
func (p *partition) releaseLocked(t *topic) {
	gl := t.groupList.Load()
	if gl == nil || len(*gl) == 0 {
		return
	}
	lowest := p.next
	for _, g := range *gl {
		if c := g.committed[p.index].Load(); c < lowest {
			lowest = c
		}
	}
	for p.base < lowest {
		p.ring[p.base%int64(len(p.ring))] = bus.Message{}
		p.base++
	}
	if p.next-p.base >= int64(len(p.ring)) {
		return
	}
	p.blocked.Store(false)
	if p.space != nil {
		close(p.space)
		p.space = nil
	}
}

type group struct {
	name      string
	committed []atomic.Int64        // next offset to deliver, per partition
	owner     []chan struct{}       // one token per partition: held by its consumer
	mu        sync.Mutex            // guards members and nextID
	members   map[int]chan struct{} // member id → closed on rebalance
	nextID    int
}

func (g *group) join() (int, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := g.nextID
	g.nextID++
	g.rebalanceLocked()
	ch := make(chan struct{})
	g.members[id] = ch
	return id, ch
}

func (g *group) leave(id int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.members, id)
	g.rebalanceLocked()
}

// rebalanceLocked tells every current member that the assignment changed.
func (g *group) rebalanceLocked() {
	for id, ch := range g.members {
		close(ch)
		g.members[id] = make(chan struct{})
	}
}

func (g *group) changes(id int) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.members[id]
}

// assignment returns the partitions member id owns: partitions are dealt
// round-robin to members in join order.
func (g *group) assignment(id int) []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	ids := make([]int, 0, len(g.members))
	for m := range g.members {
		ids = append(ids, m)
	}
	sort.Ints(ids)
	idx := sort.SearchInts(ids, id)
	var out []int
	for pi := range g.committed {
		if pi%len(ids) == idx {
			out = append(out, pi)
		}
	}
	return out
}

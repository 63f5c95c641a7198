// Package bus defines the message bus contract that Beacon's stages meet on.
//
// # Contract
//
// A topic has a fixed number of partitions. A message's key picks its
// partition (the same key always lands in the same partition, in order), so
// one channel's events, keyed by channel id, stay ordered.
//
// Consumers join a consumer group. Every group sees every message; within a
// group a partition belongs to one consumer at a time. A handler's message is
// committed only after the handler returns nil; a message that was not
// committed before its consumer stopped is delivered again (at-least-once), so
// handlers must be idempotent.
//
// Backends live in child packages: membus (in-process, the default) and
// kafkabus (Apache Kafka). bustest holds the conformance suite both pass.
package bus

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"
)

// Errors shared by every backend.
var (
	// ErrClosed is returned when publishing to or subscribing on a closed bus.
	ErrClosed = errors.New("bus: closed")
	// ErrUnknownTopic is returned for a topic the bus was not configured with.
	ErrUnknownTopic = errors.New("bus: unknown topic")
	// ErrFull is returned when a topic that never drops is full and the
	// publisher's context ended before space was freed.
	ErrFull = errors.New("bus: topic full")
	// ErrInvalid is returned for a message or subscription that breaks the contract
	// (empty topic, empty group, nil handler).
	ErrInvalid = errors.New("bus: invalid argument")
)

// Message is one record on a topic.
type Message struct {
	// Topic the message belongs to.
	Topic string
	// Key selects the partition; Beacon keys by channel id.
	Key []byte
	// Value is the payload, a serialized protobuf message for Beacon topics.
	Value []byte
	// Headers are optional string headers (for example the schema name).
	Headers map[string]string
	// Partition and Offset are set by the bus on delivery.
	Partition int
	Offset    int64
	// Time is set by the bus when the message is accepted if left zero.
	Time time.Time
}

// Overflow says what a full topic does with a new message.
type Overflow int

const (
	// Block makes Publish wait for space (or fail with ErrFull when its
	// context ends). Nothing accepted is ever dropped. It is the default.
	Block Overflow = iota
	// DropOldest evicts the oldest message of the partition, counted as dropped.
	DropOldest
)

// String returns the policy name used in config files.
func (o Overflow) String() string {
	switch o {
	case Block:
		return "block"
	case DropOldest:
		return "drop_oldest"
	default:
		return fmt.Sprintf("Overflow(%d)", int(o))
	}
}

// TopicConfig describes one topic.
type TopicConfig struct {
	// Name of the topic.
	Name string
	// Partitions is the number of partitions. It defaults to 8.
	Partitions int
	// Capacity is the number of messages a partition of the in-process bus
	// retains. It defaults to 4096.
	Capacity int
	// Overflow is the policy when a partition is full. It defaults to Block.
	Overflow Overflow
}

// WithDefaults returns c with zero fields set to their documented defaults.
func (c TopicConfig) WithDefaults() TopicConfig {
	if c.Partitions <= 0 {
		c.Partitions = 8
	}
	if c.Capacity <= 0 {
		c.Capacity = 4096
	}
	return c
}

// Handler processes one delivered message. Returning nil commits it;
// returning an error leaves it uncommitted so that it is delivered again.
type Handler func(ctx context.Context, m Message) error

// Publisher publishes messages.
type Publisher interface {
	// Publish sends msgs and returns once the bus has accepted all of them.
	Publish(ctx context.Context, msgs ...Message) error
}

// Subscriber consumes a topic as a member of a consumer group.
type Subscriber interface {
	// Subscribe calls h for each message of topic delivered to this member of
	// group, in order within a partition, until ctx ends or the bus closes.
	// It returns nil when ctx ends, ErrClosed when the bus closes.
	Subscribe(ctx context.Context, group, topic string, h Handler) error
}

// Bus is a backend: both sides plus lifecycle.
type Bus interface {
	Publisher
	Subscriber
	// Ping reports whether the backend is reachable (readiness).
	Ping(ctx context.Context) error
	// Close stops the bus: pending Publish calls fail with ErrClosed and
	// subscriptions return. It waits for the bus's goroutines.
	Close() error
}

// PartitionFor returns the partition of key among n partitions. Both backends
// use it so a key maps to the same partition everywhere. An empty key maps to 0.
func PartitionFor(key []byte, n int) int {
	if n <= 1 || len(key) == 0 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write(key)
	return int(h.Sum32() % uint32(n))
}

// Package event names Beacon's bus topics and encodes their protobuf payloads.
//
// Every topic carries one message type of package beacon.events.v1, keyed by
// channel id. Each message carries a `schema` header naming its type, so a
// consumer can refuse an unknown schema instead of misreading bytes.
package event

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
)

// Topic names.
const (
	TopicStreams  = "streams"
	TopicFrames   = "frames"
	TopicChat     = "chat"
	TopicTags     = "tags"
	TopicFlags    = "flags"
	TopicActivity = "activity"
)

// HeaderSchema is the header that names a message's protobuf type.
const HeaderSchema = "schema"

// Errors returned by Decode.
var (
	// ErrSchema is returned for a message whose schema header names another type.
	ErrSchema = errors.New("event: unknown schema")
	// ErrMalformed is returned for bytes that are not the expected protobuf.
	ErrMalformed = errors.New("event: malformed payload")
)

// Topics returns the default configuration of every Beacon topic and its
// dead-letter topic, with partitions per topic. Frames may drop the oldest
// sample under overload; every other topic never drops.
func Topics(partitions int) []bus.TopicConfig {
	var out []bus.TopicConfig
	for _, name := range []string{TopicStreams, TopicFrames, TopicChat, TopicTags, TopicFlags, TopicActivity} {
		tc := bus.TopicConfig{Name: name, Partitions: partitions}
		if name == TopicFrames {
			// Raw 224×224 samples are 150 KB: 64 per partition bounds the
			// in-process backlog to about 10 MB a partition.
			tc.Overflow = bus.DropOldest
			tc.Capacity = 64
		}
		out = append(out, tc, bus.TopicConfig{Name: name + bus.DeadLetterSuffix, Partitions: 1})
	}
	return out
}

// Payload is any Beacon event message.
type Payload interface {
	proto.Message
}

// Schema returns the schema header value of m, its full protobuf name.
func Schema(m proto.Message) string {
	return string(m.ProtoReflect().Descriptor().FullName())
}

// TopicOf returns the topic a payload type belongs on.
func TopicOf(m proto.Message) (string, error) {
	switch m.(type) {
	case *eventsv1.StreamEvent:
		return TopicStreams, nil
	case *eventsv1.Frame:
		return TopicFrames, nil
	case *eventsv1.ChatMessage:
		return TopicChat, nil
	case *eventsv1.TagsUpdate:
		return TopicTags, nil
	case *eventsv1.FlagEvent:
		return TopicFlags, nil
	case *eventsv1.ActivityEvent:
		return TopicActivity, nil
	default:
		return "", fmt.Errorf("event: no topic for %T", m)
	}
}

// Encode builds the bus message for payload m keyed by channelID.
func Encode(channelID string, m proto.Message) (bus.Message, error) {
	topic, err := TopicOf(m)
	if err != nil {
		return bus.Message{}, err
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return bus.Message{}, fmt.Errorf("event: encode %s: %w", Schema(m), err)
	}
	return bus.Message{
		Topic:   topic,
		Key:     []byte(channelID),
		Value:   b,
		Headers: map[string]string{HeaderSchema: Schema(m)},
		Time:    time.Now(),
	}, nil
}

// Handler adapts fn, which takes a decoded payload of type PT, to a
// bus.Handler. A message that does not decode is a bus.Permanent error, for
// bus.DeadLetter to move aside.
func Handler[T any, PT interface {
	*T
	proto.Message
}](fn func(ctx context.Context, m bus.Message, payload PT) error) bus.Handler {
	return func(ctx context.Context, m bus.Message) error {
		payload := PT(new(T))
		if err := Decode(m, payload); err != nil {
			return bus.Permanent(err)
		}
		return fn(ctx, m, payload)
	}
}

// Decode parses msg into dst, checking the schema header when present.
func Decode(msg bus.Message, dst proto.Message) error {
	if s, ok := msg.Headers[HeaderSchema]; ok && s != Schema(dst) {
		return fmt.Errorf("%w: got %q, want %q", ErrSchema, s, Schema(dst))
	}
	if err := proto.Unmarshal(msg.Value, dst); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, Schema(dst), err)
	}
	return nil
}

package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
)

// DeadLetterSuffix is appended to a topic's name to form its dead-letter topic.
const DeadLetterSuffix = ".dlq"

// Headers set on a dead-lettered message.
const (
	HeaderDLQError     = "dlq_error"
	HeaderDLQTopic     = "dlq_topic"
	HeaderDLQPartition = "dlq_partition"
	HeaderDLQOffset    = "dlq_offset"
)

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that redelivery cannot fix, such as a payload
// that does not parse. WithDeadLetter moves such messages aside.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Counter counts events; a prometheus.Counter satisfies it.
type Counter interface{ Inc() }

// DeadLetter configures WithDeadLetter.
type DeadLetter struct {
	// Publisher receives dead-lettered messages on "<topic>.dlq".
	Publisher Publisher
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
	// Counter, if set, counts dead-lettered messages.
	Counter Counter
}

// Wrap returns a handler that passes messages to h and, when h fails with a
// Permanent error, logs the message, counts it, copies it to the topic's
// dead-letter topic and commits it so the consumer keeps going. Other errors
// pass through, so the message is delivered again. If the dead-letter topic
// cannot be written, the message is not committed: nothing is lost.
func (d DeadLetter) Wrap(h Handler) Handler {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, m Message) error {
		err := h(ctx, m)
		if err == nil || !IsPermanent(err) {
			return err
		}
		log.Warn("dead-lettering message", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "error", err)
		if d.Counter != nil {
			d.Counter.Inc()
		}
		dl := Message{Topic: m.Topic + DeadLetterSuffix, Key: m.Key, Value: m.Value, Headers: maps.Clone(m.Headers)}
		if dl.Headers == nil {
			dl.Headers = map[string]string{}
		}
		dl.Headers[HeaderDLQError] = err.Error()
		dl.Headers[HeaderDLQTopic] = m.Topic
		dl.Headers[HeaderDLQPartition] = fmt.Sprint(m.Partition)
		dl.Headers[HeaderDLQOffset] = fmt.Sprint(m.Offset)
		if perr := d.Publisher.Publish(ctx, dl); perr != nil {
			return fmt.Errorf("bus: dead-letter %s: %w", m.Topic, perr)
		}
		return nil
	}
}

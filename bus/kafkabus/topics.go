package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/segmentio/kafka-go"
)

// ensureTopics creates the configured topics that are missing and waits until
// every topic has a leader for each partition. It retries while the brokers
// are unreachable, until ctx ends.
func (b *Bus) ensureTopics(ctx context.Context) error {
	names := make([]string, 0, len(b.topics))
	for n := range b.topics {
		names = append(names, n)
	}
	sort.Strings(names)
	backoff := b.cfg.RetryBackoffMin
	for attempt := 1; ; attempt++ {
		err := b.createTopics(ctx, names)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("kafkabus: creating topics on %v: %w (last error: %v)", b.cfg.Brokers, ctx.Err(), err)
		}
		var kerr kafka.Error
		if errors.As(err, &kerr) && !kerr.Temporary() {
			return fmt.Errorf("kafkabus: creating topics on %v: %w", b.cfg.Brokers, err)
		}
		if attempt == 1 || attempt%10 == 0 {
			b.log.Warn("brokers not ready, retrying", "brokers", b.cfg.Brokers, "error", err, "attempt", attempt)
		}
		if !sleep(ctx, backoff) {
			return fmt.Errorf("kafkabus: creating topics on %v: %w (last error: %v)", b.cfg.Brokers, ctx.Err(), err)
		}
		backoff = min(2*backoff, b.cfg.RetryBackoffMax)
	}
}

func (b *Bus) createTopics(ctx context.Context, names []string) error {
	if len(names) == 0 {
		_, err := b.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
		return err
	}
	md, err := b.client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
	if err != nil {
		return err
	}
	existing := map[string]kafka.Topic{}
	for _, t := range md.Topics {
		if t.Error == nil {
			existing[t.Name] = t
		}
	}
	var create []kafka.TopicConfig
	for _, n := range names {
		if _, ok := existing[n]; !ok {
			create = append(create, kafka.TopicConfig{
				Topic:             n,
				NumPartitions:     b.topics[n].Partitions,
				ReplicationFactor: b.cfg.ReplicationFactor,
			})
		}
	}
	if len(create) > 0 {
		res, err := b.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: create})
		if err != nil {
			return err
		}
		for n, e := range res.Errors {
			if e != nil && !errors.Is(e, kafka.TopicAlreadyExists) {
				return fmt.Errorf("topic %q: %w", n, e)
			}
			if e == nil {
				b.log.Info("created topic", "topic", n, "partitions", b.topics[n].Partitions)
			}
		}
		// Creation is asynchronous: wait until the metadata shows leaders.
		if md, err = b.client.Metadata(ctx, &kafka.MetadataRequest{Topics: names}); err != nil {
			return err
		}
	}
	for _, t := range md.Topics {
		if t.Error != nil {
			return fmt.Errorf("topic %q: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			if p.Error != nil {
				return fmt.Errorf("topic %q partition %d: %w", t.Name, p.ID, p.Error)
			}
			if p.Leader.ID < 0 || p.Leader.Host == "" {
				return fmt.Errorf("topic %q partition %d: %w", t.Name, p.ID, kafka.LeaderNotAvailable)
			}
		}
		if want := b.topics[t.Name].Partitions; len(t.Partitions) != want {
			b.log.Warn("existing topic has another partition count; keys are spread over the existing partitions",
				"topic", t.Name, "partitions", len(t.Partitions), "configured", want)
		}
	}
	return nil
}

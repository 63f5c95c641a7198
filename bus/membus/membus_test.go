package membus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/bustest"
	"github.com/beaconlive/beacon/bus/membus"
)

func newBus(t *testing.T, topics []bus.TopicConfig) bus.Bus {
	b, err := membus.New(membus.Config{Topics: topics, RetryPause: 10 * time.Millisecond})
	require.NoError(t, err)
	return b
}

func TestConformance(t *testing.T) {
	bustest.Run(t, newBus)
}

func TestNewRejectsBadTopics(t *testing.T) {
	for _, ca := range []struct {
		name   string
		topics []bus.TopicConfig
	}{
		{"empty name", []bus.TopicConfig{{Name: ""}}},
		{"duplicate", []bus.TopicConfig{{Name: "a"}, {Name: "a"}}},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := membus.New(membus.Config{Topics: ca.topics})
			require.ErrorIs(t, err, bus.ErrInvalid)
		})
	}
}

func TestDropOldestCountsDrops(t *testing.T) {
	b, err := membus.New(membus.Config{Topics: []bus.TopicConfig{{Name: "frames", Partitions: 1, Capacity: 4, Overflow: bus.DropOldest}}})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	for i := range 10 {
		require.NoError(t, b.Publish(ctx, bus.Message{Topic: "frames", Key: []byte("c"), Value: []byte{byte(i)}}))
	}
	require.EqualValues(t, 6, b.Dropped("frames"))
	got := make(chan byte, 10)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		done <- b.Subscribe(sctx, "g", "frames", func(_ context.Context, m bus.Message) error { got <- m.Value[0]; return nil })
	}()
	var vals []byte
	for range 4 {
		select {
		case v := <-got:
			vals = append(vals, v)
		case <-time.After(5 * time.Second):
			t.Fatal("no delivery")
		}
	}
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, []byte{6, 7, 8, 9}, vals, "the newest messages are kept")
}

func TestBlockNeverDrops(t *testing.T) {
	b, err := membus.New(membus.Config{Topics: []bus.TopicConfig{{Name: "chat", Partitions: 1, Capacity: 2}}})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	require.NoError(t, b.Publish(ctx, bus.Message{Topic: "chat", Value: []byte{0}}, bus.Message{Topic: "chat", Value: []byte{1}}))

	// Full, nobody consuming: the publisher gets an error when its context ends.
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = b.Publish(tctx, bus.Message{Topic: "chat", Value: []byte{2}})
	require.ErrorIs(t, err, bus.ErrFull)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A blocked publisher proceeds once a consumer commits.
	pubDone := make(chan error, 1)
	go func() { pubDone <- b.Publish(ctx, bus.Message{Topic: "chat", Value: []byte{3}}) }()
	got := make(chan byte, 10)
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	go func() {
		_ = b.Subscribe(sctx, "g", "chat", func(_ context.Context, m bus.Message) error { got <- m.Value[0]; return nil })
	}()
	select {
	case err := <-pubDone:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("publisher stayed blocked after the consumer committed")
	}
	var vals []byte
	for range 3 {
		select {
		case v := <-got:
			vals = append(vals, v)
		case <-time.After(5 * time.Second):
			t.Fatal("no delivery")
		}
	}
	require.Equal(t, []byte{0, 1, 3}, vals)
	require.Zero(t, b.Dropped("chat"))
}

func TestCloseUnblocksPublisher(t *testing.T) {
	b, err := membus.New(membus.Config{Topics: []bus.TopicConfig{{Name: "chat", Partitions: 1, Capacity: 1}}})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, b.Publish(ctx, bus.Message{Topic: "chat"}))
	errc := make(chan error, 1)
	go func() { errc <- b.Publish(ctx, bus.Message{Topic: "chat"}) }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, b.Close())
	select {
	case err := <-errc:
		require.ErrorIs(t, err, bus.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Close left a publisher blocked")
	}
}

func Example() {
	b, err := membus.New(membus.Config{Topics: []bus.TopicConfig{{Name: "chat", Partitions: 4}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	_ = b.Publish(ctx, bus.Message{Topic: "chat", Key: []byte("channel-1"), Value: []byte("hello")})
	err = b.Subscribe(ctx, "printer", "chat", func(_ context.Context, m bus.Message) error {
		fmt.Printf("%s: %s\n", m.Key, m.Value)
		cancel()
		return nil
	})
	fmt.Println(err, errors.Is(ctx.Err(), context.Canceled))
	// Output:
	// channel-1: hello
	// <nil> true
}

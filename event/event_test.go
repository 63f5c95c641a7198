package event_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/membus"
	"github.com/beaconlive/beacon/event"
)

func TestEncodeDecode(t *testing.T) {
	for _, ca := range []struct {
		name  string
		msg   proto.Message
		topic string
	}{
		{"stream online", &eventsv1.StreamEvent{ChannelId: "c1", Kind: &eventsv1.StreamEvent_Online{Online: &eventsv1.StreamOnline{Width: 1280, Height: 720}}}, event.TopicStreams},
		{"frame", &eventsv1.Frame{ChannelId: "c1", Image: []byte{0xff, 0xd8}, Width: 224, Height: 224, CaptureTime: timestamppb.Now()}, event.TopicFrames},
		{"chat", &eventsv1.ChatMessage{MessageId: "m1", ChannelId: "c1", Text: "gg"}, event.TopicChat},
		{"tags", &eventsv1.TagsUpdate{ChannelId: "c1", Tags: []*eventsv1.Tag{{Name: "speedrun", Confidence: 0.9}}}, event.TopicTags},
		{"flag", &eventsv1.FlagEvent{ChannelId: "c1", Kind: &eventsv1.FlagEvent_Raised{Raised: &eventsv1.Flag{Label: "Porn", Score: 0.97}}}, event.TopicFlags},
		{"activity", &eventsv1.ActivityEvent{ChannelId: "c1", Kind: eventsv1.ActivityKind_ACTIVITY_KIND_FOLLOW}, event.TopicActivity},
	} {
		t.Run(ca.name, func(t *testing.T) {
			m, err := event.Encode("c1", ca.msg)
			require.NoError(t, err)
			require.Equal(t, ca.topic, m.Topic)
			require.Equal(t, []byte("c1"), m.Key)
			got := ca.msg.ProtoReflect().New().Interface()
			require.NoError(t, event.Decode(m, got))
			require.True(t, proto.Equal(ca.msg, got))
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := event.Encode("c1", &eventsv1.ChatMessage{Text: "hi"})
	require.NoError(t, err)
	for _, ca := range []struct {
		name string
		msg  bus.Message
		want error
	}{
		{"wrong schema", bus.Message{Value: good.Value, Headers: map[string]string{event.HeaderSchema: "beacon.events.v2.ChatMessage"}}, event.ErrSchema},
		{"not protobuf", bus.Message{Value: []byte{0xff, 0xff, 0xff, 0xff}}, event.ErrMalformed},
		{"truncated", bus.Message{Value: good.Value[:len(good.Value)-1]}, event.ErrMalformed},
	} {
		t.Run(ca.name, func(t *testing.T) {
			require.ErrorIs(t, event.Decode(ca.msg, &eventsv1.ChatMessage{}), ca.want)
		})
	}
}

func TestTopicsPolicy(t *testing.T) {
	for _, tc := range event.Topics(4) {
		if tc.Name == event.TopicFrames {
			require.Equal(t, bus.DropOldest, tc.Overflow)
		} else {
			require.Equal(t, bus.Block, tc.Overflow, tc.Name)
		}
	}
}

type count struct{ n int }

func (c *count) Inc() { c.n++ }

// A malformed message is dead-lettered, counted, and the consumer keeps going.
func TestMalformedGoesToDeadLetter(t *testing.T) {
	b, err := membus.New(membus.Config{Topics: event.Topics(2)})
	require.NoError(t, err)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	good, err := event.Encode("c1", &eventsv1.ChatMessage{MessageId: "ok", ChannelId: "c1", Text: "hello"})
	require.NoError(t, err)
	bad := bus.Message{Topic: event.TopicChat, Key: []byte("c1"), Value: []byte("\xff\xfe not protobuf")}
	require.NoError(t, b.Publish(ctx, bad, good))

	var dead count
	handled := make(chan string, 2)
	dl := bus.DeadLetter{Publisher: b, Counter: &dead}
	go func() {
		_ = b.Subscribe(ctx, "worker", event.TopicChat, dl.Wrap(event.Handler(func(_ context.Context, _ bus.Message, m *eventsv1.ChatMessage) error {
			handled <- m.GetMessageId()
			return nil
		})))
	}()
	dlq := make(chan bus.Message, 1)
	go func() {
		_ = b.Subscribe(ctx, "dlq-reader", event.TopicChat+bus.DeadLetterSuffix, func(_ context.Context, m bus.Message) error {
			dlq <- m
			return nil
		})
	}()
	select {
	case id := <-handled:
		require.Equal(t, "ok", id)
	case <-ctx.Done():
		t.Fatal("the good message after the bad one was not handled")
	}
	select {
	case m := <-dlq:
		require.Equal(t, bad.Value, m.Value)
		require.Equal(t, event.TopicChat, m.Headers[bus.HeaderDLQTopic])
		require.Contains(t, m.Headers[bus.HeaderDLQError], "malformed")
	case <-ctx.Done():
		t.Fatal("the bad message never reached the dead-letter topic")
	}
	require.Equal(t, 1, dead.n)
}

// A transient handler error is not dead-lettered.
func TestTransientErrorNotDeadLettered(t *testing.T) {
	dl := bus.DeadLetter{Publisher: nil}
	h := dl.Wrap(func(context.Context, bus.Message) error { return errors.New("db down") })
	require.EqualError(t, h(context.Background(), bus.Message{}), "db down")
}

func FuzzDecode(f *testing.F) {
	for _, m := range []proto.Message{
		&eventsv1.ChatMessage{MessageId: "m", ChannelId: "c", Text: "gg wp"},
		&eventsv1.Frame{ChannelId: "c", Image: []byte{1, 2, 3}, Width: 2},
		&eventsv1.StreamEvent{ChannelId: "c", Kind: &eventsv1.StreamEvent_Viewers{Viewers: &eventsv1.ViewerCount{Count: 5}}},
	} {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dst := range []proto.Message{&eventsv1.ChatMessage{}, &eventsv1.Frame{}, &eventsv1.StreamEvent{}, &eventsv1.FlagEvent{}} {
			err := event.Decode(bus.Message{Value: data}, dst)
			if err != nil && !errors.Is(err, event.ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		}
	})
}

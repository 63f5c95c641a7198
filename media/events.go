package media

import (
	"context"
	"time"
)

// Frame is one sampled video frame of a live channel, ready for the models:
// scaled to cover Width×Height, centre-cropped and JPEG-encoded.
type Frame struct {
	ChannelID   string
	BroadcastID string
	// CaptureTime is when the frame's access unit reached the server.
	CaptureTime time.Time
	// PTS is the frame's presentation time in the broadcast's timeline.
	PTS time.Duration
	// JPEG is the sample as JPEG; empty when Config.SampleRGB is set.
	JPEG []byte
	// RGB is the sample as packed 8-bit RGB, Width*Height*3 bytes, row by
	// row; set only when Config.SampleRGB is set.
	RGB    []byte
	Width  int
	Height int
}

// framePublisher takes sampled frames (cmd wires the bus `frames` topic).
// It is called from one goroutine per channel; a slow publisher makes frames
// drop (counted), never queue without bound.
type framePublisher interface {
	PublishFrame(ctx context.Context, f Frame) error
}

// EventKind says what a StreamEvent reports.
type EventKind int

// Event kinds.
const (
	// EventOnline: the channel went live (or its parameters changed on a
	// reconnect within the grace period).
	EventOnline EventKind = iota + 1
	// EventOffline: the publisher left and did not come back within the grace period.
	EventOffline
	// EventHealth: periodic figures of a live channel.
	EventHealth
)

func (k EventKind) String() string {
	switch k {
	case EventOnline:
		return "online"
	case EventOffline:
		return "offline"
	case EventHealth:
		return "health"
	default:
		return "unknown"
	}
}

// StreamEvent is a lifecycle event of a channel (cmd maps it onto the bus
// `streams` topic).
type StreamEvent struct {
	Kind        EventKind
	ChannelID   string
	BroadcastID string
	Time        time.Time
	StartedAt   time.Time

	// Set on online and health events.
	VideoCodec string // RFC 6381, e.g. avc1.64001f
	AudioCodec string // RFC 6381, e.g. mp4a.40.2; empty without audio
	Width      int
	Height     int
	FPS        float64
	// Bitrate is the ingest bitrate in bits/s over the last interval (0 on
	// the first online event, before any has elapsed).
	Bitrate int64
	// Renditions are the ladder rendition names, e.g. ["480p","360p"].
	Renditions []string

	// Set on health events: totals since the broadcast started.
	DroppedFrames  int64 // sampler, publisher and ladder-feed drops
	SampledFrames  int64
	LadderRestarts int64
}

// eventPublisher takes lifecycle events (cmd wires the bus `streams` topic).
type eventPublisher interface {
	PublishStreamEvent(ctx context.Context, ev StreamEvent) error
}

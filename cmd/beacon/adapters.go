package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/api/server"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/media"
	"github.com/beaconlive/beacon/store"
)

// channelReader is what the media publisher reads of the store to describe
// a channel that goes live.
type channelReader interface {
	ChannelByID(ctx context.Context, id store.ChannelID) (store.Channel, error)
	UserByID(ctx context.Context, id store.UserID) (store.User, error)
	CategoryByID(ctx context.Context, id store.CategoryID) (store.Category, error)
}

// mediaPublisher puts the media stage's frames and lifecycle events on the
// bus. When a channel goes online it first publishes the channel's metadata
// from the store, so the directory shows its title, names and tags.
type mediaPublisher struct {
	bus      bus.Publisher
	channels channelReader
	log      *slog.Logger
}

// metadata builds the StreamMetadata event of channel id from the store.
func (p mediaPublisher) metadata(ctx context.Context, id string) (*eventsv1.StreamMetadata, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("beacon: channel id %q: %w", id, err)
	}
	ch, err := p.channels.ChannelByID(ctx, store.ChannelID(n))
	if err != nil {
		return nil, err
	}
	md := &eventsv1.StreamMetadata{Title: ch.Title, Language: ch.Language, Tags: ch.Tags, Mature: ch.Mature, Login: ch.Name}
	if u, err := p.channels.UserByID(ctx, ch.OwnerID); err == nil {
		md.DisplayName = u.DisplayName
	}
	if ch.CategoryID != 0 {
		md.CategoryId = strconv.FormatInt(int64(ch.CategoryID), 10)
		if c, err := p.channels.CategoryByID(ctx, ch.CategoryID); err == nil {
			md.CategoryName = c.Name
		}
	}
	return md, nil
}

// PublishMetadata publishes channel id's current metadata from the store on
// topic `streams`, for the directory.
func (p mediaPublisher) PublishMetadata(ctx context.Context, id string) error {
	md, err := p.metadata(ctx, id)
	if err != nil {
		return err
	}
	m, err := event.Encode(id, &eventsv1.StreamEvent{
		EventId: uuid.NewString(), ChannelId: id, Time: timestamppb.Now(),
		Kind: &eventsv1.StreamEvent_Metadata{Metadata: md},
	})
	if err != nil {
		return err
	}
	return p.bus.Publish(ctx, m)
}

func (p mediaPublisher) PublishFrame(ctx context.Context, f media.Frame) error {
	enc, img := eventsv1.ImageEncoding_IMAGE_ENCODING_JPEG, f.JPEG
	if f.RGB != nil {
		enc, img = eventsv1.ImageEncoding_IMAGE_ENCODING_RGB24, f.RGB
	}
	m, err := event.Encode(f.ChannelID, &eventsv1.Frame{
		FrameId: uuid.NewString(), ChannelId: f.ChannelID, BroadcastId: f.BroadcastID,
		CaptureTime: timestamppb.New(f.CaptureTime), Encoding: enc,
		Image: img, Width: int32(f.Width), Height: int32(f.Height), Sequence: int64(f.PTS),
	})
	if err != nil {
		return err
	}
	return p.bus.Publish(ctx, m)
}

func (p mediaPublisher) PublishStreamEvent(ctx context.Context, ev media.StreamEvent) error {
	e := &eventsv1.StreamEvent{EventId: uuid.NewString(), ChannelId: ev.ChannelID, Time: timestamppb.New(ev.Time)}
	switch ev.Kind {
	case media.EventOnline:
		e.Kind = &eventsv1.StreamEvent_Online{Online: &eventsv1.StreamOnline{
			BroadcastId: ev.BroadcastID, VideoCodec: ev.VideoCodec, AudioCodec: ev.AudioCodec,
			Width: int32(ev.Width), Height: int32(ev.Height), Fps: ev.FPS, BitrateBps: ev.Bitrate,
			StartedAt: timestamppb.New(ev.StartedAt),
		}}
	case media.EventOffline:
		e.Kind = &eventsv1.StreamEvent_Offline{Offline: &eventsv1.StreamOffline{BroadcastId: ev.BroadcastID, EndedAt: timestamppb.New(ev.Time)}}
	case media.EventHealth:
		e.Kind = &eventsv1.StreamEvent_Health{Health: &eventsv1.StreamHealth{
			BroadcastId: ev.BroadcastID, IngestBitrateBps: ev.Bitrate, DroppedFrames: ev.DroppedFrames, Fps: ev.FPS,
		}}
	default:
		return fmt.Errorf("beacon: unknown media event kind %v", ev.Kind)
	}
	m, err := event.Encode(ev.ChannelID, e)
	if err != nil {
		return err
	}
	msgs := []bus.Message{m}
	if ev.Kind == media.EventOnline && p.channels != nil {
		md, err := p.metadata(ctx, ev.ChannelID)
		if err != nil {
			p.log.Warn("channel metadata unavailable for the directory", "channel_id", ev.ChannelID, "error", err)
		} else {
			mm, err := event.Encode(ev.ChannelID, &eventsv1.StreamEvent{
				EventId: uuid.NewString(), ChannelId: ev.ChannelID, Time: timestamppb.New(ev.Time),
				Kind: &eventsv1.StreamEvent_Metadata{Metadata: md},
			})
			if err != nil {
				return err
			}
			msgs = []bus.Message{mm, m}
		}
	}
	return p.bus.Publish(ctx, msgs...)
}

// liveSource adapts the media stage to the stream API.
type liveSource struct{ media *media.Server }

func (l liveSource) Live(id string) (server.LiveInfo, bool) {
	ci, ok := l.media.Channel(id)
	if !ok {
		return server.LiveInfo{}, false
	}
	li := server.LiveInfo{
		StartedAt: ci.StartedAt, Publishing: ci.Publishing, Width: ci.Width, Height: ci.Height, FPS: ci.FPS,
		VideoCodec: ci.VideoCodec, AudioCodec: ci.AudioCodec, MasterPath: ci.MasterPath, LowLatencyPath: ci.LowLatencyPath,
	}
	for _, r := range ci.Renditions {
		li.Renditions = append(li.Renditions, server.LiveRendition{Name: r.Name, Width: r.Width, Height: r.Height, FPS: r.FPS, Bandwidth: r.Bandwidth, PlaylistPath: r.PlaylistPath})
	}
	for _, s := range ci.ThumbnailSizes {
		li.ThumbnailSizes = append(li.ThumbnailSizes, fmt.Sprintf("%dx%d", s.Width, s.Height))
	}
	return li, true
}

// channelNames resolves /watch/{login} for the web pages.
type channelNames struct {
	st interface {
		ChannelByName(ctx context.Context, name string) (store.Channel, error)
	}
}

func (c channelNames) ChannelIDByName(ctx context.Context, name string) (string, error) {
	ch, err := c.st.ChannelByName(ctx, name)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(int64(ch.ID), 10), nil
}

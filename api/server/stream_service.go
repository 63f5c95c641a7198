package server

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	apiv1 "github.com/beaconlive/beacon/api/gen/beacon/api/v1"
	"github.com/beaconlive/beacon/search"
)

// LiveRendition is one rendition of a live channel as the media stage serves it.
type LiveRendition struct {
	Name          string
	Width, Height int
	FPS           float64
	Bandwidth     int
	PlaylistPath  string
}

// LiveInfo is the media stage's view of a live channel.
type LiveInfo struct {
	StartedAt      time.Time
	Publishing     bool
	Width, Height  int
	FPS            float64
	VideoCodec     string
	AudioCodec     string
	Renditions     []LiveRendition
	MasterPath     string
	LowLatencyPath string
	// ThumbnailSizes are "WxH" strings.
	ThumbnailSizes []string
}

// liveSource answers which channels the media stage is serving.
type liveSource interface {
	Live(channelID string) (LiveInfo, bool)
}

// channelGetter is the slice of search.Index GetStream uses.
type channelGetter interface {
	Get(ctx context.Context, id string) (search.Channel, error)
}

var validChannelID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// StreamService implements GetStream over the index and the media stage.
type StreamService struct {
	index channelGetter
	live  liveSource
}

// NewStreamService returns GetStream over index (may be nil when this
// process runs no index) and live (may be nil when it runs no media stage).
func NewStreamService(index channelGetter, live liveSource) *StreamService {
	return &StreamService{index: index, live: live}
}

// GetStream implements StreamsService.GetStream.
func (s *StreamService) GetStream(ctx context.Context, req *apiv1.GetStreamRequest) (*apiv1.GetStreamResponse, error) {
	id := req.GetChannel()
	if !validChannelID.MatchString(id) {
		return nil, status.Error(codes.InvalidArgument, "channel must be 1 to 64 letters, digits or ._:-")
	}
	out := &apiv1.GetStreamResponse{Playback: &apiv1.Playback{}}
	found := false
	if s.index != nil {
		c, err := s.index.Get(ctx, id)
		switch {
		case err == nil:
			found = true
			out.Stream = toStream(search.Hit{Channel: c})
		case errors.Is(err, search.ErrNotFound):
		default:
			return nil, searchError(err)
		}
	}
	if s.live != nil {
		if li, ok := s.live.Live(id); ok {
			found = true
			out.Playback = toPlayback(id, li)
			if out.Stream == nil {
				out.Stream = &apiv1.Stream{ChannelId: id}
			}
			out.Stream.Live = true
			out.Stream.ThumbnailUrl = out.Playback.ThumbnailUrl
			if out.Stream.StartedAt == nil && out.Playback.StartedAt != nil {
				out.Stream.StartedAt = out.Playback.StartedAt
			}
		}
	}
	if !found {
		return nil, status.Errorf(codes.NotFound, "no channel %q", id)
	}
	if !out.Playback.Live && out.Stream.GetLive() && s.live != nil {
		// The index says live, the media stage does not serve it (yet/anymore).
		out.Stream.Live = false
	}
	return out, nil
}

func toPlayback(id string, li LiveInfo) *apiv1.Playback {
	p := &apiv1.Playback{
		Live: true, HlsUrl: li.MasterPath, LowLatencyUrl: li.LowLatencyPath,
		VideoCodec: li.VideoCodec, AudioCodec: li.AudioCodec,
		Width: int32(li.Width), Height: int32(li.Height), Fps: li.FPS,
		ThumbnailUrl: fmt.Sprintf("/thumbnails/%s-{width}x{height}.jpg", id), ThumbnailSizes: li.ThumbnailSizes,
	}
	if !li.StartedAt.IsZero() {
		p.StartedAt = timestamppb.New(li.StartedAt)
	}
	for _, r := range li.Renditions {
		p.Renditions = append(p.Renditions, &apiv1.Rendition{
			Name: r.Name, Width: int32(r.Width), Height: int32(r.Height), Fps: r.FPS,
			Bandwidth: int64(r.Bandwidth), PlaylistUrl: r.PlaylistPath,
		})
	}
	return p
}

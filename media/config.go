package media

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Rendition is one rung of the ABR ladder.
type Rendition struct {
	// Name is the rendition's directory and label, e.g. "720p". It must match
	// [A-Za-z0-9_-]{1,32} and must not be "source" or "ll".
	Name string
	// Height in pixels; the width follows the source's aspect ratio (even).
	// Renditions taller than the source are skipped (never upscale).
	Height int
	// FPS caps the frame rate; a source at or below it keeps its own rate.
	FPS float64
	// VideoBitrate in bits per second (x264 target; maxrate is 7% above it).
	VideoBitrate int
}

// Size is a width×height in pixels.
type Size struct{ Width, Height int }

func (s Size) String() string { return fmt.Sprintf("%dx%d", s.Width, s.Height) }

// DefaultRenditions is the ladder used when Config.Renditions is empty:
// 720p30, 480p30, 360p30 and 160p30.
func DefaultRenditions() []Rendition {
	return []Rendition{
		{Name: "720p", Height: 720, FPS: 30, VideoBitrate: 3_000_000},
		{Name: "480p", Height: 480, FPS: 30, VideoBitrate: 1_500_000},
		{Name: "360p", Height: 360, FPS: 30, VideoBitrate: 800_000},
		{Name: "160p", Height: 160, FPS: 30, VideoBitrate: 300_000},
	}
}

// DefaultThumbnailSizes are the thumbnail sizes served when
// Config.ThumbnailSizes is empty.
func DefaultThumbnailSizes() []Size {
	return []Size{{320, 180}, {440, 248}, {640, 360}}
}

// Config configures a Server. Every zero value means the documented default.
type Config struct {
	// WorkDir holds the ladder's HLS files, one folder per broadcast.
	// It defaults to $TMPDIR/beacon-media.
	WorkDir string
	// FFmpegPath is the ffmpeg binary. It defaults to "ffmpeg" (looked up in PATH).
	FFmpegPath string

	// SegmentDuration is the target HLS segment duration of the ladder and
	// the minimum one of the passthrough (which cuts at the next IDR).
	// It defaults to 2s.
	SegmentDuration time.Duration
	// PlaylistSegments is the number of segments listed in a live playlist.
	// It defaults to 6.
	PlaylistSegments int
	// LowLatency adds an LL-HLS (fMP4 parts) variant of the source under
	// /hls/{channel}/ll/index.m3u8. It defaults to off.
	LowLatency bool
	// PartDuration is the LL-HLS part duration. It defaults to 200ms.
	PartDuration time.Duration

	// LadderDisabled turns the ffmpeg ladder off (source passthrough only).
	LadderDisabled bool
	// Renditions of the ladder. It defaults to DefaultRenditions().
	Renditions []Rendition
	// X264Preset is the x264 preset of the ladder. It defaults to "veryfast".
	X264Preset string
	// RestartBackoff is the first pause before ffmpeg is restarted; it
	// doubles up to RestartBackoffMax and resets after a minute of running.
	// It defaults to 1s.
	RestartBackoff time.Duration
	// RestartBackoffMax defaults to 30s.
	RestartBackoffMax time.Duration

	// ReconnectGrace is how long a channel stays up after its publisher
	// disconnects, so a reconnect resumes the same broadcast. After it the
	// ladder is stopped, files are removed and the offline event is sent.
	// It defaults to 10s.
	ReconnectGrace time.Duration
	// HealthInterval is the period of health events. It defaults to 10s.
	HealthInterval time.Duration

	// SamplerDisabled turns the frame sampler off.
	SamplerDisabled bool
	// SampleInterval is the time between two sampled frames of a channel
	// (one IDR at most this often is decoded). It defaults to 2s.
	SampleInterval time.Duration
	// SampleSize is the size of sampled frames (scale, then centre-crop).
	// It defaults to 224×224.
	SampleSize Size
	// JPEGQuality of samples and thumbnails (1–100). It defaults to 85.
	JPEGQuality int
	// SampleRGB publishes samples as packed 8-bit RGB (Frame.RGB) instead of
	// JPEG (Frame.JPEG). Raw samples are 10× larger on the bus but reach the
	// models without a lossy codec in between, so the model sees exactly the
	// pixels the sampler produced. It defaults to false (JPEG).
	SampleRGB bool
	// FrameQueue bounds the samples waiting for the publisher per channel;
	// more are dropped and counted. It defaults to 4.
	FrameQueue int

	// ThumbnailsDisabled turns thumbnails off.
	ThumbnailsDisabled bool
	// ThumbnailInterval is the refresh period of thumbnails. It defaults to 30s.
	ThumbnailInterval time.Duration
	// ThumbnailSizes are the sizes served (scale, then centre-crop).
	// It defaults to DefaultThumbnailSizes().
	ThumbnailSizes []Size

	// Frames receives sampled frames; nil drops them (still counted).
	Frames framePublisher
	// Events receives lifecycle events; nil drops them.
	Events eventPublisher
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer registers the metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.WorkDir == "" {
		c.WorkDir = filepath.Join(os.TempDir(), "beacon-media")
	}
	if c.FFmpegPath == "" {
		c.FFmpegPath = "ffmpeg"
	}
	if c.SegmentDuration == 0 {
		c.SegmentDuration = 2 * time.Second
	}
	if c.PlaylistSegments == 0 {
		c.PlaylistSegments = 6
	}
	if c.PartDuration == 0 {
		c.PartDuration = 200 * time.Millisecond
	}
	if len(c.Renditions) == 0 {
		c.Renditions = DefaultRenditions()
	}
	if c.X264Preset == "" {
		c.X264Preset = "veryfast"
	}
	if c.RestartBackoff == 0 {
		c.RestartBackoff = time.Second
	}
	if c.RestartBackoffMax == 0 {
		c.RestartBackoffMax = 30 * time.Second
	}
	if c.ReconnectGrace == 0 {
		c.ReconnectGrace = 10 * time.Second
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = 10 * time.Second
	}
	if c.SampleInterval == 0 {
		c.SampleInterval = 2 * time.Second
	}
	if c.SampleSize == (Size{}) {
		c.SampleSize = Size{224, 224}
	}
	if c.JPEGQuality == 0 {
		c.JPEGQuality = 85
	}
	if c.FrameQueue == 0 {
		c.FrameQueue = 4
	}
	if c.ThumbnailInterval == 0 {
		c.ThumbnailInterval = 30 * time.Second
	}
	if len(c.ThumbnailSizes) == 0 {
		c.ThumbnailSizes = DefaultThumbnailSizes()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// validate checks a config that has its defaults filled in.
func (c Config) validate() error {
	if c.SegmentDuration < 500*time.Millisecond {
		return fmt.Errorf("media: 'SegmentDuration' must be at least 500ms")
	}
	if c.PlaylistSegments < 3 {
		return fmt.Errorf("media: 'PlaylistSegments' must be at least 3")
	}
	if c.PartDuration <= 0 || c.PartDuration >= c.SegmentDuration {
		return fmt.Errorf("media: 'PartDuration' must be positive and shorter than 'SegmentDuration'")
	}
	seen := map[string]bool{}
	for i, r := range c.Renditions {
		if !nameRe.MatchString(r.Name) || r.Name == "source" || r.Name == "ll" {
			return fmt.Errorf("media: 'Renditions[%d].Name' %q is invalid", i, r.Name)
		}
		if seen[r.Name] {
			return fmt.Errorf("media: 'Renditions[%d].Name' %q is repeated", i, r.Name)
		}
		seen[r.Name] = true
		if r.Height < 16 || r.Height > 4320 {
			return fmt.Errorf("media: 'Renditions[%d].Height' must be within 16..4320", i)
		}
		if r.FPS <= 0 || r.FPS > 240 {
			return fmt.Errorf("media: 'Renditions[%d].FPS' must be within (0, 240]", i)
		}
		if r.VideoBitrate < 10_000 {
			return fmt.Errorf("media: 'Renditions[%d].VideoBitrate' must be at least 10000", i)
		}
	}
	if !regexp.MustCompile(`^[a-z]+$`).MatchString(c.X264Preset) {
		return fmt.Errorf("media: 'X264Preset' %q is invalid", c.X264Preset)
	}
	if c.RestartBackoff < 0 || c.RestartBackoffMax < c.RestartBackoff {
		return fmt.Errorf("media: 'RestartBackoffMax' must be at least 'RestartBackoff'")
	}
	if c.ReconnectGrace < 0 {
		return fmt.Errorf("media: 'ReconnectGrace' must not be negative")
	}
	if c.SampleInterval < 100*time.Millisecond {
		return fmt.Errorf("media: 'SampleInterval' must be at least 100ms")
	}
	if !validSize(c.SampleSize) {
		return fmt.Errorf("media: 'SampleSize' %v is invalid", c.SampleSize)
	}
	if c.JPEGQuality < 1 || c.JPEGQuality > 100 {
		return fmt.Errorf("media: 'JPEGQuality' must be within 1..100")
	}
	if c.FrameQueue < 1 {
		return fmt.Errorf("media: 'FrameQueue' must be positive")
	}
	if c.ThumbnailInterval < c.SampleInterval && !c.SamplerDisabled {
		return fmt.Errorf("media: 'ThumbnailInterval' must be at least 'SampleInterval'")
	}
	for i, s := range c.ThumbnailSizes {
		if !validSize(s) {
			return fmt.Errorf("media: 'ThumbnailSizes[%d]' %v is invalid", i, s)
		}
	}
	return nil
}

func validSize(s Size) bool {
	return s.Width >= 16 && s.Height >= 16 && s.Width <= 3840 && s.Height <= 2160 &&
		s.Width%2 == 0 && s.Height%2 == 0
}

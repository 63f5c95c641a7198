package mediabench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Source describes the pre-encoded file every publisher replays.
type Source struct {
	// Width and Height of the video. They default to 1280×720.
	Width, Height int
	// FPS defaults to 30.
	FPS int
	// VideoBitrate in bits per second (x264 CBR-like: maxrate = bitrate). It
	// defaults to 3 Mbit/s.
	VideoBitrate int
	// AudioBitrate of the AAC track. It defaults to 128 kbit/s.
	AudioBitrate int
	// GOP is the keyframe interval. It defaults to the segment duration.
	GOP time.Duration
	// Length of the file (it is looped). It defaults to 20s.
	Length time.Duration
}

func (s Source) withDefaults(seg time.Duration) Source {
	if s.Width == 0 {
		s.Width = 1280
	}
	if s.Height == 0 {
		s.Height = 720
	}
	if s.FPS == 0 {
		s.FPS = 30
	}
	if s.VideoBitrate == 0 {
		s.VideoBitrate = 3_000_000
	}
	if s.AudioBitrate == 0 {
		s.AudioBitrate = 128_000
	}
	if s.GOP == 0 {
		s.GOP = seg
	}
	if s.Length == 0 {
		s.Length = 20 * time.Second
	}
	return s
}

func (s Source) validate() error {
	switch {
	case s.Width < 16 || s.Height < 16 || s.Width%2 != 0 || s.Height%2 != 0:
		return errors.New("mediabench: 'Source' size must be even and at least 16×16")
	case s.FPS < 1 || s.FPS > 120:
		return errors.New("mediabench: 'Source.FPS' must be within 1..120")
	case s.VideoBitrate < 50_000:
		return errors.New("mediabench: 'Source.VideoBitrate' must be at least 50000")
	case s.GOP < 100*time.Millisecond || s.Length < s.GOP:
		return errors.New("mediabench: 'Source.Length' must be at least one 'Source.GOP' of at least 100ms")
	}
	return nil
}

// fileName names the cached file after everything that shapes it.
func (s Source) fileName() string {
	return fmt.Sprintf("src-%dx%d-%dfps-%dk-a%dk-gop%dms-%ds.flv", s.Width, s.Height, s.FPS,
		s.VideoBitrate/1000, s.AudioBitrate/1000, s.GOP.Milliseconds(), int(s.Length.Seconds()))
}

// encodeArgs is the ffmpeg argv that pre-encodes the source once: testsrc2
// with temporal noise (so x264 really spends the bitrate, as a camera
// would), a sine tone, H.264 High with a fixed GOP and AAC, into FLV.
func (s Source) encodeArgs(out string) []string {
	gop := max(1, int(s.GOP.Seconds()*float64(s.FPS)+0.5))
	br := strconv.Itoa(s.VideoBitrate)
	return []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d,noise=alls=12:allf=t", s.Width, s.Height, s.FPS),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.FormatFloat(s.Length.Seconds(), 'f', 3, 64),
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
		"-b:v", br, "-maxrate", br, "-bufsize", strconv.Itoa(2 * s.VideoBitrate),
		"-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop), "-sc_threshold", "0",
		"-c:a", "aac", "-b:a", strconv.Itoa(s.AudioBitrate), "-ac", "2",
		"-f", "flv", out}
}

// prepareSource returns the path of the cached source file, encoding it
// first if it is not in dir yet.
func prepareSource(ctx context.Context, ffmpeg, dir string, s Source) (path string, encoded bool, err error) {
	path = filepath.Join(dir, s.fileName())
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return path, false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("mediabench: cache folder: %w", err)
	}
	tmp := path + ".part.flv"
	out, err := exec.CommandContext(ctx, ffmpeg, s.encodeArgs(tmp)...).CombinedOutput()
	if err != nil {
		_ = os.Remove(tmp)
		return "", false, fmt.Errorf("mediabench: encoding the source: %w: %s", err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", false, fmt.Errorf("mediabench: %w", err)
	}
	return path, true, nil
}

// flvTag is one audio or video tag of an FLV file.
type flvTag struct {
	video bool
	key   bool          // video: a keyframe
	dts   time.Duration // tag timestamp
	cts   time.Duration // video: composition time offset (pts - dts)
	data  []byte        // video: AVCC access unit; audio: one raw AAC frame
}

// flvFile is an FLV file with H.264 and AAC, read into memory.
type flvFile struct {
	sps, pps []byte
	audio    *mpeg4audio.AudioSpecificConfig
	tags     []flvTag // media tags in file order
	// length is the loop period: the end of the last frame.
	length  time.Duration
	bitrate float64 // bits per second of the media payload
}

var errFLV = errors.New("mediabench: invalid FLV")

// parseFLV reads an FLV file holding one H.264 and at most one AAC track.
func parseFLV(b []byte) (*flvFile, error) {
	if len(b) < 13 || string(b[:3]) != "FLV" {
		return nil, fmt.Errorf("%w: no FLV header", errFLV)
	}
	hl := int(binary.BigEndian.Uint32(b[5:9]))
	if hl < 9 || hl+4 > len(b) {
		return nil, fmt.Errorf("%w: header length %d", errFLV, hl)
	}
	f := &flvFile{}
	var payload int64
	var lastVideo, firstVideo time.Duration = -1, -1
	var videoFrames int
	var lastAudio time.Duration = -1
	for p := hl + 4; p+11 <= len(b); {
		typ := b[p] & 0x1f
		size := int(b[p+1])<<16 | int(b[p+2])<<8 | int(b[p+3])
		ts := time.Duration(int64(b[p+7])<<24|int64(b[p+4])<<16|int64(b[p+5])<<8|int64(b[p+6])) * time.Millisecond
		start, end := p+11, p+11+size
		if end > len(b) {
			return nil, fmt.Errorf("%w: tag at %d overruns the file", errFLV, p)
		}
		d := b[start:end]
		p = end + 4
		switch typ {
		case 9:
			if len(d) < 5 || d[0]&0x0f != 7 {
				return nil, fmt.Errorf("%w: a video tag is not H.264", errFLV)
			}
			switch d[1] {
			case 0:
				sps, pps, err := parseAVCConfig(d[5:])
				if err != nil {
					return nil, err
				}
				f.sps, f.pps = sps, pps
			case 1:
				if f.sps == nil {
					return nil, fmt.Errorf("%w: video before the AVC sequence header", errFLV)
				}
				cts := int32(uint32(d[2])<<16|uint32(d[3])<<8|uint32(d[4])) << 8 >> 8
				f.tags = append(f.tags, flvTag{video: true, key: d[0]>>4 == 1, dts: ts,
					cts: time.Duration(cts) * time.Millisecond, data: d[5:]})
				payload += int64(len(d) - 5)
				if firstVideo < 0 {
					firstVideo = ts
				} else if ts <= lastVideo {
					return nil, fmt.Errorf("%w: video timestamps do not increase", errFLV)
				}
				lastVideo = ts
				videoFrames++
			}
		case 8:
			if len(d) < 2 || d[0]>>4 != 10 {
				return nil, fmt.Errorf("%w: an audio tag is not AAC", errFLV)
			}
			switch d[1] {
			case 0:
				var c mpeg4audio.AudioSpecificConfig
				if err := c.Unmarshal(d[2:]); err != nil {
					return nil, fmt.Errorf("%w: AAC config: %w", errFLV, err)
				}
				f.audio = &c
			case 1:
				if f.audio == nil {
					return nil, fmt.Errorf("%w: audio before the AAC sequence header", errFLV)
				}
				if ts < lastAudio {
					return nil, fmt.Errorf("%w: audio timestamps go back", errFLV)
				}
				f.tags = append(f.tags, flvTag{dts: ts, data: d[2:]})
				payload += int64(len(d) - 2)
				lastAudio = ts
			}
		}
	}
	if videoFrames < 2 {
		return nil, fmt.Errorf("%w: fewer than two video frames", errFLV)
	}
	if !f.tags[firstVideoIndex(f.tags)].key {
		return nil, fmt.Errorf("%w: the first video frame is not a keyframe", errFLV)
	}
	// The loop period is the video's: the next loop's first keyframe follows
	// the last frame after one frame interval. Audio frames that would
	// overlap the next loop are dropped (at most a few ms of sound).
	frame := (lastVideo - firstVideo) / time.Duration(videoFrames-1)
	f.length = lastVideo + frame
	if f.audio != nil && f.audio.SampleRate > 0 && lastAudio >= 0 {
		af := time.Duration(1024 * int64(time.Second) / int64(f.audio.SampleRate))
		f.tags = slices.DeleteFunc(f.tags, func(t flvTag) bool {
			if !t.video && t.dts+af > f.length {
				payload -= int64(len(t.data))
				return true
			}
			return false
		})
	}
	f.bitrate = float64(payload*8) / f.length.Seconds()
	return f, nil
}

func firstVideoIndex(tags []flvTag) int {
	for i, t := range tags {
		if t.video {
			return i
		}
	}
	return 0
}

// parseAVCConfig returns the first SPS and PPS of an
// AVCDecoderConfigurationRecord.
func parseAVCConfig(b []byte) (sps, pps []byte, err error) {
	bad := fmt.Errorf("%w: malformed AVC configuration", errFLV)
	if len(b) < 7 {
		return nil, nil, bad
	}
	p := 6
	nsps := int(b[5] & 0x1f)
	for i := range nsps {
		if p+2 > len(b) {
			return nil, nil, bad
		}
		n := int(binary.BigEndian.Uint16(b[p:]))
		if p+2+n > len(b) {
			return nil, nil, bad
		}
		if i == 0 {
			sps = b[p+2 : p+2+n]
		}
		p += 2 + n
	}
	if p >= len(b) {
		return nil, nil, bad
	}
	npps := int(b[p])
	p++
	for i := range npps {
		if p+2 > len(b) {
			return nil, nil, bad
		}
		n := int(binary.BigEndian.Uint16(b[p:]))
		if p+2+n > len(b) {
			return nil, nil, bad
		}
		if i == 0 {
			pps = b[p+2 : p+2+n]
		}
		p += 2 + n
	}
	if len(sps) == 0 || len(pps) == 0 {
		return nil, nil, bad
	}
	return sps, pps, nil
}

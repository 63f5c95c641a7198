package media

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ladderInput is everything ladderArgs needs; it has no hidden inputs.
type ladderInput struct {
	// Source video size and frame rate (FPS 0 when unknown).
	SourceWidth, SourceHeight int
	SourceFPS                 float64
	HasAudio                  bool
	Renditions                []Rendition
	SegmentDuration           time.Duration
	PlaylistSegments          int
	Preset                    string
	// OutDir gets one folder per rendition: OutDir/{name}/index.m3u8.
	OutDir string
	// RunID prefixes segment names, so that a restarted ffmpeg never reuses
	// a name a player may have cached.
	RunID string
}

// plannedRendition is a rendition resolved against the source.
type plannedRendition struct {
	Rendition
	Width, Height int
	OutFPS        float64 // output frame rate (FPS used for the GOP)
	FPSFilter     bool    // whether an fps filter lowers the source rate
	Level         string  // H.264 level, e.g. "3.1"
	Codecs        string  // RFC 6381 codecs of the video, e.g. avc1.4d401f
}

// maxrate is the VBV max rate of a rendition (7% above target).
func (r plannedRendition) maxrate() int { return r.VideoBitrate * 107 / 100 }

// planLadder keeps the renditions that do not upscale the source (height at
// most the source's) and resolves their size, frame rate and level.
func planLadder(srcW, srcH int, srcFPS float64, rends []Rendition) []plannedRendition {
	var out []plannedRendition
	if srcW <= 0 || srcH <= 0 {
		return nil
	}
	for _, r := range rends {
		if r.Height > srcH {
			continue
		}
		w := int(math.Round(float64(srcW)*float64(r.Height)/float64(srcH)/2)) * 2
		if w < 2 {
			w = 2
		}
		p := plannedRendition{Rendition: r, Width: w, Height: r.Height}
		p.OutFPS = r.FPS
		if srcFPS > 0 && srcFPS <= r.FPS+0.01 {
			p.OutFPS = srcFPS
		} else if srcFPS > 0 {
			p.FPSFilter = true
		}
		lvl, idc := h264Level(p.Width, p.Height, p.OutFPS, p.maxrate())
		p.Level = lvl
		// Main profile (0x4d) with constraint_set1 (0x40), as x264 writes it.
		p.Codecs = fmt.Sprintf("avc1.4d40%02x", idc)
		out = append(out, p)
	}
	return out
}

// h264Levels: level, level_idc, max macroblocks/s, max frame size in
// macroblocks, max bitrate (Main profile, kbit/s) (ITU-T H.264 table A-1).
var h264Levels = []struct {
	name             string
	idc              byte
	mbps, fs, brKbps int
}{
	{"1.3", 13, 11880, 396, 768},
	{"2", 20, 11880, 396, 2000},
	{"2.1", 21, 19800, 792, 4000},
	{"2.2", 22, 20250, 1620, 4000},
	{"3", 30, 40500, 1620, 10000},
	{"3.1", 31, 108000, 3600, 14000},
	{"3.2", 32, 216000, 5120, 20000},
	{"4", 40, 245760, 8192, 20000},
	{"4.1", 41, 245760, 8192, 50000},
	{"4.2", 42, 522240, 8704, 50000},
	{"5", 50, 589824, 22080, 135000},
	{"5.1", 51, 983040, 36864, 240000},
	{"5.2", 52, 2073600, 36864, 240000},
}

// h264Level returns the lowest level that holds a stream of this size,
// frame rate and max bitrate (bits/s).
func h264Level(w, h int, fps float64, maxrate int) (string, byte) {
	mbs := ((w + 15) / 16) * ((h + 15) / 16)
	mbps := int(math.Ceil(float64(mbs) * fps))
	kbps := (maxrate + 999) / 1000
	for _, l := range h264Levels {
		if mbs <= l.fs && mbps <= l.mbps && kbps <= l.brKbps {
			return l.name, l.idc
		}
	}
	last := h264Levels[len(h264Levels)-1]
	return last.name, last.idc
}

// keyframeExpr forces a keyframe every segment duration of input time in
// every rendition, so that keyframes (and so segment cuts) are aligned
// across renditions whatever the source GOP is.
func keyframeExpr(seg time.Duration) string {
	return "expr:if(isnan(prev_forced_t),1,gte(t,prev_forced_t+" + fmtSeconds(seg) + "))"
}

func fmtSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// ladderArgs builds ffmpeg's argv (without the program name) for the ABR
// ladder of one stream: MPEG-TS on stdin with the source timestamps kept
// (-copyts, so renditions line up with the passthrough), one x264 encode per
// planned rendition with aligned keyframes, audio copied into each
// rendition, and the hls muxer writing OutDir/{name}/index.m3u8. It returns
// nil when no rendition applies.
func ladderArgs(in ladderInput) ([]string, []plannedRendition) {
	plan := planLadder(in.SourceWidth, in.SourceHeight, in.SourceFPS, in.Renditions)
	if len(plan) == 0 {
		return nil, nil
	}
	a := []string{
		"-hide_banner", "-nostats", "-nostdin", "-loglevel", "warning",
		"-f", "mpegts", "-copyts", "-i", "pipe:0",
	}

	var fc strings.Builder
	if len(plan) == 1 {
		fc.WriteString("[0:v]")
		writeRenditionFilter(&fc, plan[0])
		fc.WriteString("[v0]")
	} else {
		fmt.Fprintf(&fc, "[0:v]split=%d", len(plan))
		for i := range plan {
			fmt.Fprintf(&fc, "[s%d]", i)
		}
		for i, p := range plan {
			fmt.Fprintf(&fc, ";[s%d]", i)
			writeRenditionFilter(&fc, p)
			fmt.Fprintf(&fc, "[v%d]", i)
		}
	}
	a = append(a, "-filter_complex", fc.String())
	for i := range plan {
		a = append(a, "-map", fmt.Sprintf("[v%d]", i))
		if in.HasAudio {
			a = append(a, "-map", "0:a:0")
		}
	}

	gopFPS := 30.0
	for _, p := range plan {
		if p.OutFPS > 0 {
			gopFPS = math.Max(p.OutFPS, 1)
			break
		}
	}
	gop := int(math.Round(gopFPS*in.SegmentDuration.Seconds())) * 2
	a = append(a,
		"-c:v", "libx264", "-preset", in.Preset, "-profile:v", "main", "-pix_fmt", "yuv420p",
		"-sc_threshold", "0", "-g", strconv.Itoa(gop),
		"-force_key_frames", keyframeExpr(in.SegmentDuration),
	)
	for i, p := range plan {
		s := strconv.Itoa(i)
		a = append(a,
			"-b:v:"+s, kbit(p.VideoBitrate),
			"-maxrate:v:"+s, kbit(p.maxrate()),
			"-bufsize:v:"+s, kbit(2*p.VideoBitrate),
			"-level:v:"+s, p.Level,
		)
	}
	if in.HasAudio {
		a = append(a, "-c:a", "copy")
	}

	var vsm strings.Builder
	for i, p := range plan {
		if i > 0 {
			vsm.WriteByte(' ')
		}
		if in.HasAudio {
			fmt.Fprintf(&vsm, "v:%d,a:%d,name:%s", i, i, p.Name)
		} else {
			fmt.Fprintf(&vsm, "v:%d,name:%s", i, p.Name)
		}
	}
	a = append(a,
		"-max_muxing_queue_size", "1024",
		"-f", "hls",
		"-hls_time", fmtSeconds(in.SegmentDuration),
		"-hls_list_size", strconv.Itoa(in.PlaylistSegments),
		"-hls_flags", "delete_segments+independent_segments+program_date_time+temp_file",
		"-hls_segment_type", "mpegts",
		"-hls_start_number_source", "epoch",
		"-hls_segment_filename", filepath.Join(in.OutDir, "%v", in.RunID+"_%d.ts"),
		"-var_stream_map", vsm.String(),
		filepath.Join(in.OutDir, "%v", "index.m3u8"),
	)
	return a, plan
}

func writeRenditionFilter(b *strings.Builder, p plannedRendition) {
	if p.FPSFilter {
		b.WriteString("fps=" + strconv.FormatFloat(p.OutFPS, 'f', -1, 64) + ",")
	}
	fmt.Fprintf(b, "scale=%d:%d", p.Width, p.Height)
}

func kbit(bps int) string { return strconv.Itoa((bps+999)/1000) + "k" }

// variant is one EXT-X-STREAM-INF of the master playlist.
type variant struct {
	URI           string
	Bandwidth     int
	Width, Height int
	FPS           float64
	Codecs        string
	Name          string
}

// masterPlaylist renders the multivariant playlist listing the source and
// the renditions.
func masterPlaylist(vs []variant) []byte {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d", max(v.Bandwidth, 1))
		if v.Width > 0 && v.Height > 0 {
			fmt.Fprintf(&b, ",RESOLUTION=%dx%d", v.Width, v.Height)
		}
		if v.FPS > 0 {
			fmt.Fprintf(&b, ",FRAME-RATE=%.3f", v.FPS)
		}
		fmt.Fprintf(&b, ",CODECS=%q", v.Codecs)
		if v.Name != "" {
			fmt.Fprintf(&b, ",NAME=%q", v.Name)
		}
		b.WriteString("\n" + v.URI + "\n")
	}
	return []byte(b.String())
}

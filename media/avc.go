package media

import (
	"fmt"
	"math"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// auInfo is what a scan of one H.264 access unit found.
type auInfo struct {
	idr    bool
	slice  bool // any coded slice (IDR or not)
	sps    []byte
	pps    []byte
	hasAUD bool // first NALU is an access unit delimiter
}

// scanAU classifies the NAL units of an access unit. Empty NAL units are
// ignored (they carry no type byte).
func scanAU(au [][]byte) auInfo {
	var in auInfo
	for i, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		switch h264.NALUType(nalu[0] & 0x1F) {
		case h264.NALUTypeIDR:
			in.idr = true
			in.slice = true
		case h264.NALUTypeNonIDR, h264.NALUTypeDataPartitionA:
			in.slice = true
		case h264.NALUTypeSPS:
			in.sps = nalu
		case h264.NALUTypePPS:
			in.pps = nalu
		case h264.NALUTypeAccessUnitDelimiter:
			if i == 0 {
				in.hasAUD = true
			}
		}
	}
	return in
}

// withParams returns au with sps and pps in front of it when au is an IDR
// access unit that carries neither (RTMP sends them once, out of band, but
// HLS segments and decoders need them in band at every random access point).
// An access unit delimiter stays first. Access units that need nothing are
// returned as they are; otherwise the result is built in dst (reused when it
// has room) and shares the NAL unit bytes with au.
func withParams(dst [][]byte, au [][]byte, in auInfo, sps, pps []byte) [][]byte {
	if !in.idr || (in.sps != nil && in.pps != nil) || sps == nil || pps == nil {
		return au
	}
	dst = dst[:0]
	rest := au
	if in.hasAUD {
		dst = append(dst, au[0])
		rest = au[1:]
	}
	if in.sps == nil {
		dst = append(dst, sps)
		if in.pps == nil {
			dst = append(dst, pps)
		}
		return append(dst, rest...)
	}
	// The SPS is there, the PPS is not: it goes right after the SPS.
	for _, n := range rest {
		dst = append(dst, n)
		if len(n) > 0 && h264.NALUType(n[0]&0x1F) == h264.NALUTypeSPS {
			dst = append(dst, pps)
		}
	}
	return dst
}

// videoParams describes the source video from its SPS.
type videoParams struct {
	Width, Height int
	FPS           float64 // 0 when the SPS carries no timing information
	Codec         string  // RFC 6381 codecs value, e.g. avc1.64001f
	Profile       string  // e.g. High
}

// parseSPS reads width, height, frame rate and the codecs string of an SPS.
// The SPS comes from the publisher: it is untrusted and fuzzed.
func parseSPS(sps []byte) (videoParams, error) {
	if len(sps) < 4 {
		return videoParams{}, fmt.Errorf("media: SPS too short (%d bytes)", len(sps))
	}
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return videoParams{}, fmt.Errorf("media: invalid SPS: %w", err)
	}
	p := videoParams{
		Width:   s.Width(),
		Height:  s.Height(),
		Codec:   fmt.Sprintf("avc1.%02x%02x%02x", sps[1], sps[2], sps[3]),
		Profile: profileName(sps[1]),
	}
	if p.Width <= 0 || p.Height <= 0 || p.Width > 16384 || p.Height > 16384 {
		return videoParams{}, fmt.Errorf("media: SPS has an invalid size %dx%d", p.Width, p.Height)
	}
	if fps := s.FPS(); fps > 0 && fps <= 1000 && !math.IsInf(fps, 0) && !math.IsNaN(fps) {
		p.FPS = fps
	}
	return p, nil
}

func profileName(idc byte) string {
	switch idc {
	case 66:
		return "Baseline"
	case 77:
		return "Main"
	case 88:
		return "Extended"
	case 100:
		return "High"
	case 110:
		return "High 10"
	case 122:
		return "High 4:2:2"
	case 244:
		return "High 4:4:4"
	default:
		return fmt.Sprintf("profile %d", idc)
	}
}

// aacCodec returns the RFC 6381 codecs value of an AAC configuration.
func aacCodec(c *mpeg4audio.AudioSpecificConfig) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("mp4a.40.%d", int(c.Type))
}

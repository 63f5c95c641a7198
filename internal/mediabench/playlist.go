package mediabench

import (
	"bufio"
	"strconv"
	"strings"
)

// mediaPlaylist is what the benchmark needs of an HLS media playlist.
type mediaPlaylist struct {
	// Sequence is EXT-X-MEDIA-SEQUENCE, the number of the first segment.
	Sequence int
	Segments []segment
}

type segment struct {
	URI      string
	Duration float64 // seconds (EXTINF)
}

// end is the number one past the last listed segment.
func (p mediaPlaylist) end() int { return p.Sequence + len(p.Segments) }

// parseMediaPlaylist reads the media sequence and the segments of a media
// playlist, tolerating any tag it does not know (gohlslib's and ffmpeg's
// playlists differ). It never fails: a malformed line is skipped.
func parseMediaPlaylist(b []byte) mediaPlaylist {
	var p mediaPlaylist
	dur := -1.0
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "":
		case strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"):
			if n, err := strconv.Atoi(strings.TrimPrefix(l, "#EXT-X-MEDIA-SEQUENCE:")); err == nil && n >= 0 {
				p.Sequence = n
			}
		case strings.HasPrefix(l, "#EXTINF:"):
			v, _, _ := strings.Cut(strings.TrimPrefix(l, "#EXTINF:"), ",")
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 {
				dur = f
			}
		case strings.HasPrefix(l, "#"):
		default:
			if dur >= 0 {
				p.Segments = append(p.Segments, segment{URI: l, Duration: dur})
			}
			dur = -1
		}
	}
	return p
}

// variantURIs returns the URI lines of a multivariant (master) playlist.
func variantURIs(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

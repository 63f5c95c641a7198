package mediabench

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var statCases = []struct {
	name string
	in   string
	want procSample
	ok   bool
}{
	{"plain", "1234 (ffmpeg) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 1000000 300 18446744073709551615",
		procSample{CPU: 3, RSS: 300 * int64(os.Getpagesize())}, true},
	{"name with spaces and parens", "7 (a) b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 10 100 5 0",
		procSample{CPU: 0.03, RSS: 5 * int64(os.Getpagesize())}, true},
	{"short", "1 (x) S 1 2 3", procSample{}, false},
	{"garbage", "no parens", procSample{}, false},
}

func TestParseStat(t *testing.T) {
	for _, ca := range statCases {
		t.Run(ca.name, func(t *testing.T) {
			got, err := parseStat(ca.in)
			if !ca.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.InDelta(t, ca.want.CPU, got.CPU, 1e-9)
			require.Equal(t, ca.want.RSS, got.RSS)
		})
	}
}

func TestReadOwnProcess(t *testing.T) {
	p, err := readProc(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, p.RSS)
	pss, err := readPSS(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, pss)
	m, err := readMachineCPU()
	require.NoError(t, err)
	require.Positive(t, m.total)
	require.LessOrEqual(t, m.busy, m.total)
}

func TestParseMachineCPU(t *testing.T) {
	m, err := parseMachineCPU("cpu  100 0 100 700 100 0 0 0 0 0")
	require.NoError(t, err)
	require.InDelta(t, 2.0, m.busy, 1e-9)
	require.InDelta(t, 10.0, m.total, 1e-9)
	_, err = parseMachineCPU("intr 1 2 3")
	require.Error(t, err)
}

var playlistCases = []struct {
	name string
	in   string
	want mediaPlaylist
}{
	{"gohlslib", "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00Z\n#EXTINF:2.00000,\nabc_seg7.ts\n#EXTINF:1.96667,\nabc_seg8.ts\n",
		mediaPlaylist{Sequence: 7, Segments: []segment{{"abc_seg7.ts", 2}, {"abc_seg8.ts", 1.96667}}}},
	{"ffmpeg", "#EXTM3U\r\n#EXT-X-VERSION:6\r\n#EXT-X-MEDIA-SEQUENCE:0\r\n#EXT-X-INDEPENDENT-SEGMENTS\r\n#EXTINF:2.000000,\r\nseg_0.ts\r\n",
		mediaPlaylist{Sequence: 0, Segments: []segment{{"seg_0.ts", 2}}}},
	{"empty", "#EXTM3U\n", mediaPlaylist{}},
	{"uri without EXTINF", "#EXTM3U\nstray.ts\n#EXTINF:x,\nbad.ts\n", mediaPlaylist{}},
	{"negative sequence", "#EXT-X-MEDIA-SEQUENCE:-3\n#EXTINF:1,\na.ts\n", mediaPlaylist{Segments: []segment{{"a.ts", 1}}}},
}

func TestParseMediaPlaylist(t *testing.T) {
	for _, ca := range playlistCases {
		t.Run(ca.name, func(t *testing.T) {
			got := parseMediaPlaylist([]byte(ca.in))
			require.Equal(t, ca.want, got)
			require.Equal(t, ca.want.Sequence+len(ca.want.Segments), got.end())
		})
	}
	require.Equal(t, []string{"source/main_stream.m3u8", "720p/index.m3u8"},
		variantURIs([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nsource/main_stream.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=2\n720p/index.m3u8\n")))
}

func FuzzParseMediaPlaylist(f *testing.F) {
	for _, ca := range playlistCases {
		f.Add([]byte(ca.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := parseMediaPlaylist(b)
		require.GreaterOrEqual(t, p.Sequence, 0)
		for _, s := range p.Segments {
			require.GreaterOrEqual(t, s.Duration, 0.0)
		}
	})
}

// flvTagBytes encodes one FLV tag with its trailing PreviousTagSize.
func flvTagBytes(typ byte, ts time.Duration, data []byte) []byte {
	ms := uint32(ts.Milliseconds())
	h := []byte{typ, byte(len(data) >> 16), byte(len(data) >> 8), byte(len(data)), byte(ms >> 16), byte(ms >> 8), byte(ms), byte(ms >> 24), 0, 0, 0}
	out := append(h, data...)
	return binary.BigEndian.AppendUint32(out, uint32(len(out)))
}

// testFLV is a minimal FLV: AVC and AAC sequence headers, then two video
// frames (a keyframe with a composition offset, then an inter frame) and
// one AAC frame.
func testFLV() []byte {
	b := []byte("FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00")
	sps := []byte{0x67, 0x64, 0x00, 0x1f, 0xac}
	pps := []byte{0x68, 0xee, 0x3c, 0x80}
	avcc := []byte{1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, byte(len(sps))}
	avcc = append(avcc, sps...)
	avcc = append(avcc, 1, 0, byte(len(pps)))
	avcc = append(avcc, pps...)
	b = append(b, flvTagBytes(9, 0, append([]byte{0x17, 0, 0, 0, 0}, avcc...))...)
	b = append(b, flvTagBytes(8, 0, []byte{0xaf, 0, 0x11, 0x90})...) // AAC-LC 48 kHz stereo
	b = append(b, flvTagBytes(9, 0, []byte{0x17, 1, 0, 0, 66, 0, 0, 0, 1, 0x65})...)
	b = append(b, flvTagBytes(8, 0, []byte{0xaf, 1, 0x21, 0x00})...)
	b = append(b, flvTagBytes(9, 33*time.Millisecond, []byte{0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41})...)
	return b
}

func TestParseFLV(t *testing.T) {
	f, err := parseFLV(testFLV())
	require.NoError(t, err)
	require.Equal(t, []byte{0x67, 0x64, 0x00, 0x1f, 0xac}, f.sps)
	require.Equal(t, []byte{0x68, 0xee, 0x3c, 0x80}, f.pps)
	require.NotNil(t, f.audio)
	require.Equal(t, 48000, f.audio.SampleRate)
	require.Len(t, f.tags, 3)
	require.True(t, f.tags[0].video && f.tags[0].key)
	require.Equal(t, 66*time.Millisecond, f.tags[0].cts)
	require.False(t, f.tags[1].video)
	require.False(t, f.tags[2].key)
	require.Equal(t, 66*time.Millisecond, f.length)
	require.Positive(t, f.bitrate)

	for _, ca := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"not FLV", []byte("RIFF0000000000")},
		{"truncated", testFLV()[:60]},
		{"no video", []byte("FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00")},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := parseFLV(ca.b)
			require.ErrorIs(t, err, errFLV)
		})
	}
}

func FuzzParseFLV(f *testing.F) {
	f.Add(testFLV())
	f.Add([]byte("FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fl, err := parseFLV(b)
		if err == nil {
			require.NotEmpty(t, fl.sps)
			require.Positive(t, fl.length)
		}
	})
}

func TestSourceEncodeArgs(t *testing.T) {
	s := Source{}.withDefaults(2 * time.Second)
	require.NoError(t, s.validate())
	args := s.encodeArgs("out.flv")
	require.Contains(t, args, "testsrc2=size=1280x720:rate=30,noise=alls=12:allf=t")
	require.Subset(t, args, []string{"-g", "60", "-b:v", "3000000", "-maxrate", "-c:a", "aac", "out.flv"})
	require.Equal(t, "src-1280x720-30fps-3000k-a128k-gop2000ms-20s.flv", s.fileName())
}

func TestWriteBenchLines(t *testing.T) {
	r := &Result{}
	r.add("first_segment", 4.25, "s", "")
	r.add("passthrough_10/cpu per stream", 0.5, "%core / stream", "")
	r.add("nan", 0, "s", "")
	r.Metrics[2].Value = nanValue()
	var b bytes.Buffer
	require.NoError(t, r.WriteBenchLines(&b, "BenchmarkMedia"))
	require.Equal(t, "BenchmarkMedia/first_segment 1 4.25 s\nBenchmarkMedia/passthrough_10/cpu_per_stream 1 0.5 %core-/-stream\n", b.String())
}

func nanValue() float64 { var z float64; return z / z }

func TestRealtimeFactor(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for _, ca := range []struct {
		name string
		l    []listing
		want float64
	}{
		{"real time", []listing{{at(0), 2}, {at(2), 2}, {at(4), 2}, {at(6), 2}}, 1},
		{"twice real time", []listing{{at(0), 2}, {at(1), 2}, {at(2), 2}, {at(3), 2}}, 2},
		{"half", []listing{{at(0), 1}, {at(2), 1}, {at(4), 1}}, 0.5},
		// A late first listing moves the slope much less than the
		// first-to-last ratio (16/14 = 1.14).
		{"late first listing", []listing{{at(2), 2}, {at(4), 2}, {at(6), 2}, {at(8), 2}, {at(10), 2}, {at(12), 2}, {at(14), 2}, {at(16), 2}, {at(18), 2}}, 1},
	} {
		t.Run(ca.name, func(t *testing.T) {
			require.InDelta(t, ca.want, realtimeFactor(ca.l), 1e-9)
		})
	}
	require.True(t, math.IsNaN(realtimeFactor([]listing{{at(0), 2}, {at(1), 2}})))
}

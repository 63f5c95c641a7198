package media

import (
	"bytes"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// hlsPathCases feed the unit test, the fuzz seeds and the benchmark.
var hlsPathCases = []struct {
	path string
	ok   bool
	want hlsPath
}{
	{"/hls/alpha/index.m3u8", true, hlsPath{kind: hlsMaster, channel: "alpha"}},
	{"/hls/alpha/source/main_stream.m3u8", true, hlsPath{kind: hlsSource, channel: "alpha", file: "main_stream.m3u8"}},
	{"/hls/alpha/source/0a1b2c3d4e5f_main_seg12.ts", true,
		hlsPath{kind: hlsSource, channel: "alpha", file: "0a1b2c3d4e5f_main_seg12.ts"}},
	{"/hls/a-b_C9/ll/0a1b_video1_part3.mp4", true, hlsPath{kind: hlsLL, channel: "a-b_C9", file: "0a1b_video1_part3.mp4"}},
	{"/hls/a.b/index.m3u8", false, hlsPath{}},
	{"/hls/alpha/720p/index.m3u8", true, hlsPath{kind: hlsRendition, channel: "alpha", rendition: "720p", file: "index.m3u8"}},
	{"/hls/alpha/720p/mwu5as7j_1763955512.ts", true,
		hlsPath{kind: hlsRendition, channel: "alpha", rendition: "720p", file: "mwu5as7j_1763955512.ts"}},
	{"/hls/alpha/720p/x.mp4", false, hlsPath{}},
	{"/hls/alpha/../secret/index.m3u8", false, hlsPath{}},
	{"/hls/../index.m3u8", false, hlsPath{}},
	{"/hls/alpha/720p/../../etc/passwd", false, hlsPath{}},
	{"/hls/alpha/720p/..%2findex.m3u8", false, hlsPath{}},
	{"/hls/.hidden/index.m3u8", false, hlsPath{}},
	{"/hls//index.m3u8", false, hlsPath{}},
	{"/hls/alpha/", false, hlsPath{}},
	{"/hls/alpha", false, hlsPath{}},
	{"/hls/alpha/source/", false, hlsPath{}},
	{"/hls/alpha/source/a/b.ts", false, hlsPath{}},
	{"/hls/alpha/master.m3u8", false, hlsPath{}},
	{"/hls/alpha/source/.m3u8", false, hlsPath{}},
	{"/hls/alpha\x00/index.m3u8", false, hlsPath{}},
	{"/thumbnails/alpha-640x360.jpg", false, hlsPath{}},
	{"hls/alpha/index.m3u8", false, hlsPath{}},
}

func TestParseHLSPath(t *testing.T) {
	for _, ca := range hlsPathCases {
		t.Run(ca.path, func(t *testing.T) {
			got, err := parseHLSPath(ca.path)
			if !ca.ok {
				require.ErrorIs(t, err, errBadPath)
				return
			}
			require.NoError(t, err)
			require.Equal(t, ca.want, got)
		})
	}
}

// checkHLSPath holds for every path the parser accepts: elements are plain
// names (no separators, no dot-only names) and the path is rebuilt exactly.
func checkHLSPath(t *testing.T, p string, hp hlsPath) {
	for _, el := range []string{hp.channel, hp.rendition, hp.file} {
		require.NotContains(t, el, "/")
		require.NotContains(t, el, "\\")
		require.NotContains(t, el, "..")
		require.NotContains(t, el, "\x00")
	}
	require.NotEmpty(t, hp.channel)
	require.False(t, strings.HasPrefix(hp.channel, "."))
	rebuilt := "/hls/" + hp.channel + "/"
	switch hp.kind {
	case hlsMaster:
		rebuilt += "index.m3u8"
	case hlsSource:
		rebuilt += "source/" + hp.file
	case hlsLL:
		rebuilt += "ll/" + hp.file
	case hlsRendition:
		rebuilt += hp.rendition + "/" + hp.file
	default:
		t.Fatalf("kind %d", hp.kind)
	}
	require.Equal(t, p, rebuilt)
}

func FuzzParseHLSPath(f *testing.F) {
	for _, ca := range hlsPathCases {
		f.Add(ca.path)
	}
	f.Fuzz(func(t *testing.T, p string) {
		hp, err := parseHLSPath(p)
		if err == nil {
			checkHLSPath(t, p, hp)
		}
	})
}

func BenchmarkParseHLSPath(b *testing.B) {
	for b.Loop() {
		for _, ca := range hlsPathCases {
			_, _ = parseHLSPath(ca.path)
		}
	}
}

var thumbCases = []struct {
	path string
	ok   bool
	ch   string
	size Size
}{
	{"/thumbnails/alpha-640x360.jpg", true, "alpha", Size{640, 360}},
	{"/thumbnails/my-channel-2-320x180.jpg", true, "my-channel-2", Size{320, 180}},
	{"/thumbnails/alpha-640x360.png", false, "", Size{}},
	{"/thumbnails/alpha-640x.jpg", false, "", Size{}},
	{"/thumbnails/alpha-x360.jpg", false, "", Size{}},
	{"/thumbnails/alpha-99999x1.jpg", false, "", Size{}},
	{"/thumbnails/-640x360.jpg", false, "", Size{}},
	{"/thumbnails/../alpha-640x360.jpg", false, "", Size{}},
	{"/thumbnails/a/b-640x360.jpg", false, "", Size{}},
	{"/thumbnails/alpha-+640x360.jpg", false, "", Size{}},
	{"/thumbnails/alpha-640x360x2.jpg", false, "", Size{}},
	{"/thumbnails/0-0000x0.jpg", false, "", Size{}},
}

func TestParseThumbnailPath(t *testing.T) {
	for _, ca := range thumbCases {
		t.Run(ca.path, func(t *testing.T) {
			ch, size, err := parseThumbnailPath(ca.path)
			if !ca.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, ca.ch, ch)
			require.Equal(t, ca.size, size)
		})
	}
}

func FuzzParseThumbnailPath(f *testing.F) {
	for _, ca := range thumbCases {
		f.Add(ca.path)
	}
	f.Fuzz(func(t *testing.T, p string) {
		ch, size, err := parseThumbnailPath(p)
		if err != nil {
			return
		}
		require.True(t, channelRe.MatchString(ch))
		require.Equal(t, p, "/thumbnails/"+ch+"-"+size.String()+".jpg")
	})
}

// A real SPS (x264, High, 1280x720, 30 fps) and PPS.
var (
	testSPS = []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x6a, 0x02, 0x02, 0x02,
		0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x1e, 0x07, 0x8c, 0x18, 0xcb}
	testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
	idrNALU = append([]byte{0x65, 0x88, 0x84}, bytes.Repeat([]byte{0x55}, 2000)...)
	nonIDR  = append([]byte{0x41, 0x9a, 0x22}, bytes.Repeat([]byte{0x33}, 500)...)
	aud     = []byte{0x09, 0xf0}
	sei     = []byte{0x06, 0x05, 0x01, 0x00, 0x80}
)

var auCases = []struct {
	name string
	au   [][]byte
	want [][]byte
}{
	{"idr gets params", [][]byte{idrNALU}, [][]byte{testSPS, testPPS, idrNALU}},
	{"aud stays first", [][]byte{aud, sei, idrNALU}, [][]byte{aud, testSPS, testPPS, sei, idrNALU}},
	{"idr with params untouched", [][]byte{testSPS, testPPS, idrNALU}, [][]byte{testSPS, testPPS, idrNALU}},
	{"idr with sps only gets pps", [][]byte{testSPS, idrNALU}, [][]byte{testSPS, testPPS, idrNALU}},
	{"non-idr untouched", [][]byte{nonIDR}, [][]byte{nonIDR}},
	{"empty nalu ignored", [][]byte{{}, nonIDR}, [][]byte{{}, nonIDR}},
}

func TestWithParams(t *testing.T) {
	for _, ca := range auCases {
		t.Run(ca.name, func(t *testing.T) {
			got := withParams(nil, ca.au, scanAU(ca.au), testSPS, testPPS)
			require.Equal(t, ca.want, got)
		})
	}
}

func BenchmarkWithParams(b *testing.B) {
	idr := [][]byte{aud, sei, idrNALU}
	p := [][]byte{nonIDR}
	dst := make([][]byte, 0, 8)
	b.Run("idr", func(b *testing.B) {
		for b.Loop() {
			_ = withParams(dst, idr, scanAU(idr), testSPS, testPPS)
		}
	})
	b.Run("non-idr", func(b *testing.B) {
		for b.Loop() {
			_ = withParams(dst, p, scanAU(p), testSPS, testPPS)
		}
	})
	b.Run("idr-alloc", func(b *testing.B) {
		for b.Loop() {
			_ = withParams(nil, idr, scanAU(idr), testSPS, testPPS)
		}
	})
}

func TestParseSPS(t *testing.T) {
	vp, err := parseSPS(testSPS)
	require.NoError(t, err)
	require.Equal(t, 1280, vp.Width)
	require.Equal(t, 720, vp.Height)
	require.InDelta(t, 30, vp.FPS, 0.01)
	require.Equal(t, "avc1.64001f", vp.Codec)
	require.Equal(t, "High", vp.Profile)
	_, err = parseSPS([]byte{0x67})
	require.Error(t, err)
}

// FuzzAVC feeds publisher-controlled bytes (the SPS from the RTMP sequence
// header, the NAL units of access units) through every parser of them.
func FuzzAVC(f *testing.F) {
	f.Add(testSPS, idrNALU)
	f.Add(testSPS[:8], nonIDR)
	f.Add([]byte{0x67, 0x42}, []byte{0x09})
	f.Fuzz(func(t *testing.T, sps, nalu []byte) {
		if vp, err := parseSPS(sps); err == nil {
			require.Positive(t, vp.Width)
			require.Positive(t, vp.Height)
		}
		au := [][]byte{nalu, sps}
		in := scanAU(au)
		out := withParams(nil, au, in, testSPS, testPPS)
		require.GreaterOrEqual(t, len(out), len(au))
		if len(sps) >= 4 {
			hdr := flvAVCSequenceHeader(sps, testPPS)
			require.Greater(t, len(hdr), 15)
		}
		_ = flvIDR(1, au)
	})
}

func TestFLVTags(t *testing.T) {
	tag := flvIDR(0x01020304, [][]byte{aud, testSPS, idrNALU})
	// type, size, timestamp (24 bits + extension), stream id
	require.Equal(t, byte(9), tag[0])
	size := int(tag[1])<<16 | int(tag[2])<<8 | int(tag[3])
	require.Equal(t, 5+4+len(testSPS)+4+len(idrNALU), size, "the AUD is dropped")
	require.Equal(t, []byte{0x02, 0x03, 0x04, 0x01}, tag[4:8])
	require.Equal(t, []byte{0x17, 1, 0, 0, 0}, tag[11:16])
	require.Len(t, tag, 11+size+4)
}

func TestScaleCropRGBA(t *testing.T) {
	// Left half red, right half blue, 400×200 → 100×100: the centre crop
	// keeps both halves.
	src := image.NewRGBA(image.Rect(0, 0, 400, 200))
	for y := range 200 {
		for x := range 400 {
			c := color.RGBA{255, 0, 0, 255}
			if x >= 200 {
				c = color.RGBA{0, 0, 255, 255}
			}
			src.SetRGBA(x, y, c)
		}
	}
	dst := scaleCropRGBA(src, 100, 100)
	require.Equal(t, image.Rect(0, 0, 100, 100), dst.Bounds())
	require.Equal(t, color.RGBA{255, 0, 0, 255}, dst.RGBAAt(10, 50))
	require.Equal(t, color.RGBA{0, 0, 255, 255}, dst.RGBAAt(90, 50))
	// Upscaling works too.
	require.Equal(t, image.Rect(0, 0, 640, 360), scaleCropRGBA(src, 640, 360).Bounds())
}

func BenchmarkScaleCropSample(b *testing.B) {
	src := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for b.Loop() {
		_ = scaleCropRGBA(src, 224, 224)
	}
}

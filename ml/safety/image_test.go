package safety

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/stretchr/testify/require"
)

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func TestPreprocessCropsAndScales(t *testing.T) {
	// A 300x200 image: left and right 50 columns red (cropped away), the
	// centre square half black (top) and half white (bottom).
	img := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	for y := range 200 {
		for x := range 300 {
			c := color.NRGBA{255, 0, 0, 255}
			if x >= 50 && x < 250 {
				if y < 100 {
					c = color.NRGBA{0, 0, 0, 255}
				} else {
					c = color.NRGBA{255, 255, 255, 255}
				}
			}
			img.Set(x, y, c)
		}
	}
	x, err := PreprocessFrame(encodePNG(t, img), nil)
	require.NoError(t, err)
	require.Len(t, x, FrameLen)
	at := func(i, j, c int) float32 { return x[(i*FrameSize+j)*3+c] }
	require.Equal(t, float32(0), at(0, 0, 0), "no red: the sides were cropped")
	require.Equal(t, float32(1), at(FrameSize-1, FrameSize-1, 1))
	require.Equal(t, float32(0), at(50, 100, 2))
	require.Equal(t, float32(1), at(200, 3, 0))
}

func TestPreprocessTinyImage(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 1, 1))
	img.Pix[0] = 51
	x := PreprocessImage(img, make([]float32, 0, FrameLen))
	for _, v := range x {
		require.InDelta(t, 0.2, v, 1e-7)
	}
}

var badFrames = []struct {
	name string
	data []byte
}{
	{"empty", nil},
	{"garbage", []byte("definitely not a jpeg")},
	{"truncated jpeg", func() []byte {
		var buf bytes.Buffer
		img := image.NewRGBA(image.Rect(0, 0, 64, 64))
		_ = jpeg.Encode(&buf, img, nil)
		return buf.Bytes()[:buf.Len()/2]
	}()},
	{"jpeg header only", []byte{0xff, 0xd8, 0xff}},
}

func TestDecodeFrameRejectsBadInput(t *testing.T) {
	for _, ca := range badFrames {
		t.Run(ca.name, func(t *testing.T) {
			_, err := PreprocessFrame(ca.data, nil)
			require.ErrorIs(t, err, ErrBadImage)
		})
	}
}

func TestDecodeFrameRejectsHugeImage(t *testing.T) {
	// A PNG header claiming 100000x100000 pixels is refused before decoding.
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))))
	b := buf.Bytes()
	copy(b[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	_, err := DecodeFrame(b)
	require.ErrorIs(t, err, ErrBadImage)
}

func FuzzPreprocessFrame(f *testing.F) {
	for _, ca := range badFrames {
		f.Add(ca.data)
	}
	f.Add(encodePNG(f, image.NewRGBA(image.Rect(0, 0, 3, 2))))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := PreprocessFrame(data, nil)
		if err == nil && len(x) != FrameLen {
			t.Fatalf("got %d values", len(x))
		}
	})
}

func TestPreprocessRGB24MatchesPNG(t *testing.T) {
	const w, h = 37, 23
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	pix := make([]byte, 0, w*h*3)
	for y := range h {
		for x := range w {
			c := color.NRGBA{uint8(7 * x), uint8(11 * y), uint8(x * y), 255}
			img.Set(x, y, c)
			pix = append(pix, c.R, c.G, c.B)
		}
	}
	want, err := PreprocessFrame(encodePNG(t, img), nil)
	require.NoError(t, err)
	got, err := PreprocessRGB24(pix, w, h, nil)
	require.NoError(t, err)
	require.Equal(t, want, got)
	_, err = PreprocessRGB24(pix[:10], w, h, nil)
	require.ErrorIs(t, err, ErrBadImage)
}

package safety

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // frames are JPEG
	_ "image/png"  // golden inputs are PNG
	"math"
)

// FrameSize is the side of the square the frame model sees.
const FrameSize = 224

// FrameLen is the number of float32 values of one preprocessed frame.
const FrameLen = FrameSize * FrameSize * 3

// MaxFramePixels bounds the decoded size of a frame (a 4K frame is 8.3M pixels).
const MaxFramePixels = 4096 * 4096

// ErrBadImage is returned (wrapped) for an image that cannot be decoded.
var ErrBadImage = errors.New("safety: bad image")

// DecodeFrame decodes a JPEG (or PNG) frame, refusing images larger than
// MaxFramePixels before decoding them.
func DecodeFrame(data []byte) (image.Image, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxFramePixels {
		return nil, fmt.Errorf("%w: %dx%d pixels", ErrBadImage, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	return img, nil
}

// rgbAt returns a pixel as 8-bit RGB. YCbCr images (JPEG) convert with
// color.YCbCrToRGB; others go through their RGBA colour, un-premultiplied.
func rgbAt(img image.Image, x, y int) (r, g, b uint8) {
	switch im := img.(type) {
	case *image.YCbCr:
		yi, ci := im.YOffset(x, y), im.COffset(x, y)
		return color.YCbCrToRGB(im.Y[yi], im.Cb[ci], im.Cr[ci])
	case *rgb24:
		i := (y-im.rect.Min.Y)*im.rect.Dx()*3 + (x-im.rect.Min.X)*3
		return im.pix[i], im.pix[i+1], im.pix[i+2]
	case *image.Gray:
		v := im.Pix[im.PixOffset(x, y)]
		return v, v, v
	case *image.NRGBA:
		i := im.PixOffset(x, y)
		return im.Pix[i], im.Pix[i+1], im.Pix[i+2]
	case *image.RGBA:
		i := im.PixOffset(x, y)
		return im.Pix[i], im.Pix[i+1], im.Pix[i+2]
	}
	c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
	return c.R, c.G, c.B
}

type axis struct {
	i0, i1 []int
	f      []float64
}

func coords(side int) axis {
	a := axis{i0: make([]int, FrameSize), i1: make([]int, FrameSize), f: make([]float64, FrameSize)}
	scale := 0.0
	if side > 1 {
		scale = float64(side-1) / float64(FrameSize-1)
	}
	for i := range FrameSize {
		src := float64(i) * scale
		i0 := int(math.Floor(src))
		a.i0[i], a.i1[i], a.f[i] = i0, min(i0+1, side-1), src-float64(i0)
	}
	return a
}

// PreprocessImage turns a decoded frame into the model's input (see
// notebooks/frameprep.py): centre square crop, values/255, bilinear resize
// to FrameSize with align-corners sampling, NHWC float32. It writes into dst
// when it has room for FrameLen values and returns the result.
func PreprocessImage(img image.Image, dst []float32) []float32 {
	if cap(dst) < FrameLen {
		dst = make([]float32, FrameLen)
	}
	dst = dst[:FrameLen]
	bo := img.Bounds()
	w, h := bo.Dx(), bo.Dy()
	side := min(w, h)
	x0, y0 := bo.Min.X+(w-side)/2, bo.Min.Y+(h-side)/2
	ax := coords(side)

	src := rowSource(img)
	// Decoded source rows (RGB, full width), two at a time.
	var cache [2]struct {
		y   int
		pix []uint8
	}
	for i := range cache {
		cache[i].y = -1
		cache[i].pix = make([]uint8, 3*w)
	}
	next := 0
	rowAt := func(y int) []uint8 {
		for i := range cache {
			if cache[i].y == y {
				return cache[i].pix
			}
		}
		c := &cache[next]
		next = 1 - next
		c.y = y
		src(y0-bo.Min.Y+y, c.pix)
		return c.pix
	}
	xo := x0 - bo.Min.X
	for i := range FrameSize {
		top, bot := rowAt(ax.i0[i]), rowAt(ax.i1[i])
		fy := ax.f[i]
		for j := range FrameSize {
			fx := ax.f[j]
			a, b := 3*(xo+ax.i0[j]), 3*(xo+ax.i1[j])
			o := (i*FrameSize + j) * 3
			for c := range 3 {
				v0 := float64(top[a+c])/255*(1-fy) + float64(bot[a+c])/255*fy
				v1 := float64(top[b+c])/255*(1-fy) + float64(bot[b+c])/255*fy
				dst[o+c] = float32(v0*(1-fx) + v1*fx)
			}
		}
	}
	return dst
}

// rowSource returns a function that writes row y (relative to the image's
// bounds) as packed RGB, 3 bytes per pixel of the full width.
func rowSource(img image.Image) func(y int, dst []uint8) {
	if im, ok := img.(*image.YCbCr); ok {
		if r, ok := newYCbCrRows(im); ok {
			return r.row
		}
	}
	bo := img.Bounds()
	return func(y int, dst []uint8) {
		for x := range bo.Dx() {
			dst[3*x], dst[3*x+1], dst[3*x+2] = rgbAt(img, bo.Min.X+x, bo.Min.Y+y)
		}
	}
}

// PreprocessFrame decodes and preprocesses a frame.
func PreprocessFrame(data []byte, dst []float32) ([]float32, error) {
	img, err := DecodeFrame(data)
	if err != nil {
		return nil, err
	}
	return PreprocessImage(img, dst), nil
}

// rgb24 is packed 8-bit RGB, row-major (events.v1 IMAGE_ENCODING_RGB24).
type rgb24 struct {
	pix  []byte
	rect image.Rectangle
}

func (p *rgb24) ColorModel() color.Model { return color.RGBAModel }
func (p *rgb24) Bounds() image.Rectangle { return p.rect }
func (p *rgb24) At(x, y int) color.Color {
	r, g, b := rgbAt(p, x, y)
	return color.RGBA{r, g, b, 255}
}

// PreprocessRGB24 preprocesses a packed 8-bit RGB frame of width*height*3
// bytes.
func PreprocessRGB24(pix []byte, width, height int, dst []float32) ([]float32, error) {
	if width <= 0 || height <= 0 || width*height > MaxFramePixels || len(pix) != width*height*3 {
		return nil, fmt.Errorf("%w: %d bytes of RGB24 for %dx%d", ErrBadImage, len(pix), width, height)
	}
	return PreprocessImage(&rgb24{pix: pix, rect: image.Rect(0, 0, width, height)}, dst), nil
}

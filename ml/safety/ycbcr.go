package safety

import "image"

// JPEG colour conversion as libjpeg(-turbo) does it by default, so that Go
// reads a frame's pixels as the notebooks (PIL) and browsers do: "fancy"
// (triangle-filter) chroma upsampling for 4:2:0 and 4:2:2 and the jdcolor.c
// fixed-point YCbCr->RGB conversion. image/color.YCbCrToRGB rounds
// differently and the image package replicates chroma samples, which moved
// the frame model's scores by up to 0.12 on a 4:2:0 test pattern.
// (jdsample.c h2v2_fancy_upsample / h2v1_fancy_upsample, jdcolor.c.)

const (
	jScaleBits = 16
	jOneHalf   = 1 << (jScaleBits - 1)
)

func jFix(x float64) int32 { return int32(x*(1<<jScaleBits) + 0.5) }

// ycc holds libjpeg's conversion tables.
type ycc struct {
	crR, cbB, crG, cbG [256]int32
}

func newYCC() *ycc {
	t := &ycc{}
	for i := range 256 {
		x := int32(i - 128)
		t.crR[i] = (jFix(1.40200)*x + jOneHalf) >> jScaleBits
		t.cbB[i] = (jFix(1.77200)*x + jOneHalf) >> jScaleBits
		t.crG[i] = -jFix(0.71414) * x
		t.cbG[i] = -jFix(0.34414)*x + jOneHalf
	}
	return t
}

func clamp255(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ycbcrRows converts rows of a decoded JPEG (a *image.YCbCr whose bounds
// start at 0,0) to RGB the way libjpeg does.
type ycbcrRows struct {
	im     *image.YCbCr
	t      *ycc
	w, h   int
	cw, ch int // chroma plane size
	cb, cr []int32
}

func newYCbCrRows(im *image.YCbCr) (*ycbcrRows, bool) {
	if im.Rect.Min != (image.Point{}) {
		return nil, false
	}
	r := &ycbcrRows{im: im, t: newYCC(), w: im.Rect.Dx(), h: im.Rect.Dy()}
	switch im.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		r.cw, r.ch = r.w, r.h
	case image.YCbCrSubsampleRatio422:
		r.cw, r.ch = (r.w+1)/2, r.h
	case image.YCbCrSubsampleRatio420:
		r.cw, r.ch = (r.w+1)/2, (r.h+1)/2
	default:
		return nil, false
	}
	r.cb, r.cr = make([]int32, r.w), make([]int32, r.w)
	return r, true
}

// upsample fills dst (full width) from chroma plane p for luma row y.
func (r *ycbcrRows) upsample(p []uint8, y int, dst []int32) {
	stride := r.im.CStride
	switch r.im.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		row := p[y*stride:]
		for x := range r.w {
			dst[x] = int32(row[x])
		}
	case image.YCbCrSubsampleRatio422:
		fancyH2V1(p[y*stride:y*stride+r.cw], dst)
	case image.YCbCrSubsampleRatio420:
		cy := y / 2
		near := cy - 1 // the other chroma row: above for even rows, below for odd
		if y%2 == 1 {
			near = cy + 1
		}
		near = min(max(near, 0), r.ch-1)
		fancyH2V2(p[cy*stride:cy*stride+r.cw], p[near*stride:near*stride+r.cw], dst)
	}
}

// fancyH2V1 is jdsample.c h2v1_fancy_upsample, cropped to len(dst).
func fancyH2V1(in []uint8, dst []int32) {
	n := len(in)
	out := func(i int, v int32) {
		if i < len(dst) {
			dst[i] = v
		}
	}
	if n == 1 {
		out(0, int32(in[0]))
		out(1, int32(in[0]))
		return
	}
	out(0, int32(in[0]))
	out(1, (int32(in[0])*3+int32(in[1])+2)>>2)
	for j := 1; j < n-1; j++ {
		c := int32(in[j]) * 3
		out(2*j, (c+int32(in[j-1])+1)>>2)
		out(2*j+1, (c+int32(in[j+1])+2)>>2)
	}
	out(2*n-2, (int32(in[n-1])*3+int32(in[n-2])+1)>>2)
	out(2*n-1, int32(in[n-1]))
}

// fancyH2V2 is jdsample.c h2v2_fancy_upsample for one output row: in0 is
// the nearest chroma row, in1 the next nearest.
func fancyH2V2(in0, in1 []uint8, dst []int32) {
	n := len(in0)
	out := func(i int, v int32) {
		if i < len(dst) {
			dst[i] = v
		}
	}
	col := func(j int) int32 { return int32(in0[j])*3 + int32(in1[j]) }
	if n == 1 {
		s := col(0)
		out(0, (s*4+8)>>4)
		out(1, (s*4+7)>>4)
		return
	}
	this, next := col(0), col(1)
	out(0, (this*4+8)>>4)
	out(1, (this*3+next+7)>>4)
	for j := 1; j < n-1; j++ {
		last := this
		this, next = next, col(j+1)
		out(2*j, (this*3+last+8)>>4)
		out(2*j+1, (this*3+next+7)>>4)
	}
	last := this
	this = next
	out(2*n-2, (this*3+last+8)>>4)
	out(2*n-1, (this*4+7)>>4)
}

// row writes luma row y as packed RGB into dst (3*w bytes).
func (r *ycbcrRows) row(y int, dst []uint8) {
	r.upsample(r.im.Cb, y, r.cb)
	r.upsample(r.im.Cr, y, r.cr)
	yrow := r.im.Y[y*r.im.YStride:]
	t := r.t
	for x := range r.w {
		yy := int32(yrow[x])
		cb, cr := r.cb[x], r.cr[x]
		dst[3*x] = clamp255(yy + t.crR[cr])
		dst[3*x+1] = clamp255(yy + ((t.cbG[cb] + t.crG[cr]) >> jScaleBits))
		dst[3*x+2] = clamp255(yy + t.cbB[cb])
	}
}

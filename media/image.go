package media

import "image"

// scaleCropRGBA scales src to cover w×h (keeping its aspect ratio) and
// crops the centre, averaging the source pixels that fall in each output
// pixel (a box filter: good for the downscales thumbnails need).
func scaleCropRGBA(src *image.RGBA, w, h int) *image.RGBA {
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	if sw == w && sh == h {
		return src
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if sw == 0 || sh == 0 {
		return dst
	}
	// The source region that maps onto dst: the largest centred rectangle
	// with dst's aspect ratio.
	cw, ch := sw, sh
	if sw*h > sh*w {
		cw = sh * w / h
	} else {
		ch = sw * h / w
	}
	cw, ch = max(cw, 1), max(ch, 1)
	x0, y0 := sb.Min.X+(sw-cw)/2, sb.Min.Y+(sh-ch)/2
	for y := range h {
		sy0 := y0 + y*ch/h
		sy1 := max(y0+(y+1)*ch/h, sy0+1)
		for x := range w {
			sx0 := x0 + x*cw/w
			sx1 := max(x0+(x+1)*cw/w, sx0+1)
			var r, g, b, n uint32
			for sy := sy0; sy < sy1; sy++ {
				row := src.Pix[(sy-sb.Min.Y)*src.Stride:]
				for sx := sx0; sx < sx1; sx++ {
					p := row[(sx-sb.Min.X)*4:]
					r += uint32(p[0])
					g += uint32(p[1])
					b += uint32(p[2])
					n++
				}
			}
			o := dst.Pix[y*dst.Stride+x*4:]
			o[0], o[1], o[2], o[3] = uint8(r/n), uint8(g/n), uint8(b/n), 255
		}
	}
	return dst
}

// packRGB returns img's pixels as packed 8-bit RGB, row by row (alpha dropped).
func packRGB(img *image.RGBA) []byte {
	b := img.Bounds()
	out := make([]byte, 0, b.Dx()*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, y):img.PixOffset(b.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			out = append(out, row[i], row[i+1], row[i+2])
		}
	}
	return out
}

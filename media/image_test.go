package media

import (
	"image"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPackRGB(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	require.Equal(t, []byte{0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14}, packRGB(img))
	// A sub-image keeps only its own pixels.
	sub := img.SubImage(image.Rect(1, 1, 2, 2)).(*image.RGBA)
	require.Equal(t, []byte{12, 13, 14}, packRGB(sub))
}

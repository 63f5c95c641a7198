package safety

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/stretchr/testify/require"
)

const (
	testdata  = "../testdata"
	modelsDir = "../../models"
	// goldenTol is how close the Go path must be to Python onnxruntime.
	goldenTol = 1e-4
)

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

type chatGolden struct {
	FeaturesVersion int `json:"features_version"`
	Cases           []struct {
		Text          string    `json:"text"`
		Tokens        []string  `json:"tokens"`
		Indices       []int64   `json:"indices"`
		Values        []float64 `json:"values"`
		Probabilities []float64 `json:"probabilities"`
		Unsafe        float64   `json:"unsafe"`
	} `json:"cases"`
}

func openChat(t testing.TB) *ChatModel {
	t.Helper()
	lib := testenv.Require(t, "ONNXRUNTIME_LIB", "onnxruntime library")
	m, err := OpenChat(ModelConfig{LibraryPath: lib, Path: filepath.Join(modelsDir, "chat-safety.onnx")})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

func openFrame(t testing.TB, cfg ModelConfig) *FrameModel {
	t.Helper()
	cfg.LibraryPath = testenv.Require(t, "ONNXRUNTIME_LIB", "onnxruntime library")
	cfg.Path = filepath.Join(modelsDir, "frame-safety.onnx")
	m, err := OpenFrame(cfg)
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

// TestChatFeaturesGolden checks normalization and hashing against
// notebooks/chatfeat.py, without onnxruntime.
func TestChatFeaturesGolden(t *testing.T) {
	var g chatGolden
	readJSON(t, "chat_golden.json", &g)
	require.Equal(t, FeaturesVersion, g.FeaturesVersion)
	require.NotEmpty(t, g.Cases)
	for _, ca := range g.Cases {
		if ca.Tokens == nil {
			ca.Tokens = []string{}
		}
		require.Equal(t, ca.Tokens, Tokens(ca.Text), "tokens of %q", ca.Text)
		f := Features(ca.Text)
		if ca.Indices == nil {
			ca.Indices = []int64{}
		}
		if f.Indices == nil {
			f.Indices = []int64{}
		}
		require.Equal(t, ca.Indices, f.Indices, "indices of %q", ca.Text)
		for i, v := range ca.Values {
			require.InDelta(t, v, f.Values[i], 1e-6, "value %d of %q", i, ca.Text)
		}
	}
}

func TestChatModelGolden(t *testing.T) {
	m := openChat(t)
	var g chatGolden
	readJSON(t, "chat_golden.json", &g)
	texts := make([]string, len(g.Cases))
	for i, ca := range g.Cases {
		texts[i] = ca.Text
	}
	// All at once (padded to the longest) and one by one must agree.
	batch, err := m.Score(context.Background(), texts)
	require.NoError(t, err)
	for i, ca := range g.Cases {
		one, err := m.Score(context.Background(), texts[i:i+1])
		require.NoError(t, err)
		for _, s := range []ChatScores{batch[i], one[0]} {
			got := []float32{s.Hate, s.Offensive, s.Neither}
			for k, want := range ca.Probabilities {
				require.InDelta(t, want, got[k], goldenTol, "%s of %q", ChatLabels[k], ca.Text)
			}
			require.InDelta(t, ca.Unsafe, s.Unsafe, goldenTol, "unsafe of %q", ca.Text)
		}
	}
}

type frameGolden struct {
	Labels []string `json:"labels"`
	Cases  []struct {
		File          string    `json:"file"`
		Width         int       `json:"width"`
		Height        int       `json:"height"`
		Exact         bool      `json:"exact"`
		Stride        int       `json:"tensor_stride"`
		Sample        []float64 `json:"tensor_sample"`
		Sum           float64   `json:"tensor_sum"`
		Probabilities []float64 `json:"probabilities"`
	} `json:"cases"`
}

// The JPEG cases bound the difference between Go's decoding and libjpeg's
// (PIL, the reference). Colour conversion and chroma upsampling are
// libjpeg's (ycbcr.go); only image/jpeg's IDCT still rounds a few pixels one
// level apart, which moves the scores by less than jpegProbTol.
const (
	jpegPixelTol = 1.5 / 255 // per sampled value in [0,1]
	jpegMeanTol  = 1e-4
	jpegProbTol  = 0.01
)

func TestFrameGolden(t *testing.T) {
	m := openFrame(t, ModelConfig{})
	var g frameGolden
	readJSON(t, "frame_golden.json", &g)
	require.Equal(t, FrameLabels[:], g.Labels)
	require.NotEmpty(t, g.Cases)
	for _, ca := range g.Cases {
		t.Run(ca.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(testdata, ca.File))
			require.NoError(t, err)
			img, err := DecodeFrame(data)
			require.NoError(t, err)
			require.Equal(t, ca.Width, img.Bounds().Dx())
			require.Equal(t, ca.Height, img.Bounds().Dy())
			x := PreprocessImage(img, nil)
			var sum, maxPix float64
			for _, v := range x {
				sum += float64(v)
			}
			for i, want := range ca.Sample {
				maxPix = math.Max(maxPix, math.Abs(want-float64(x[i*ca.Stride])))
			}
			out, err := m.Score(context.Background(), [][]float32{x})
			require.NoError(t, err)
			var maxProb float64
			for k, want := range ca.Probabilities {
				maxProb = math.Max(maxProb, math.Abs(want-float64(out[0][k])))
			}
			t.Logf("max abs diff vs Python: pixels %.2g, mean pixel %.2g, probabilities %.2g", maxPix, math.Abs(sum-ca.Sum)/FrameLen, maxProb)
			if ca.Exact {
				require.Less(t, maxPix, 1e-6)
				require.InDelta(t, ca.Sum, sum, 1e-3)
				require.Less(t, maxProb, goldenTol)
			} else {
				require.Less(t, maxPix, jpegPixelTol)
				require.Less(t, math.Abs(sum-ca.Sum)/FrameLen, jpegMeanTol)
				require.Less(t, maxProb, jpegProbTol)
			}
		})
	}
}

// The frames topic carries samples as raw RGB24 by default (media
// sample_format rgb24): the lossless cases, sent as RGB24 bytes, must score
// within goldenTol of Python onnxruntime, preprocessing included.
func TestFrameGoldenRGB24(t *testing.T) {
	m := openFrame(t, ModelConfig{})
	var g frameGolden
	readJSON(t, "frame_golden.json", &g)
	n := 0
	for _, ca := range g.Cases {
		if !ca.Exact {
			continue
		}
		n++
		t.Run(ca.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(testdata, ca.File))
			require.NoError(t, err)
			img, err := DecodeFrame(data)
			require.NoError(t, err)
			b := img.Bounds()
			pix := make([]byte, 0, b.Dx()*b.Dy()*3)
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					r, g, bl, _ := img.At(x, y).RGBA()
					pix = append(pix, byte(r>>8), byte(g>>8), byte(bl>>8))
				}
			}
			x, err := PreprocessRGB24(pix, b.Dx(), b.Dy(), nil)
			require.NoError(t, err)
			out, err := m.Score(context.Background(), [][]float32{x})
			require.NoError(t, err)
			for k, want := range ca.Probabilities {
				require.InDelta(t, want, float64(out[0][k]), goldenTol, "%s", g.Labels[k])
			}
		})
	}
	require.Positive(t, n, "no lossless golden case")
}

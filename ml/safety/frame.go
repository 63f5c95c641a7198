package safety

import (
	"context"
	"fmt"

	"github.com/beaconlive/beacon/ml/onnx"
)

// FrameLabels are the frame model's classes, in the order of its output.
var FrameLabels = [5]string{"Drawing", "Hentai", "Neutral", "Porn", "Sexy"}

// FrameScores are the frame model's probabilities, indexed like FrameLabels.
type FrameScores [5]float32

// Score returns the probability of label, and false for an unknown label.
func (s FrameScores) Score(label string) (float32, bool) {
	for i, l := range FrameLabels {
		if l == label {
			return s[i], true
		}
	}
	return 0, false
}

var frameInputs = []onnx.TensorInfo{{Name: "input", Type: onnx.Float32, Shape: []int64{-1, FrameSize, FrameSize, 3}}}

var frameOutputs = []onnx.TensorInfo{{Name: "probabilities", Type: onnx.Float32, Shape: []int64{-1, int64(len(FrameLabels))}}}

// FrameModel is the frame (NSFW) safety model. It is safe for concurrent use.
type FrameModel struct {
	m *onnx.Model
}

// OpenFrame loads the frame model and checks its tensors.
func OpenFrame(cfg ModelConfig) (*FrameModel, error) {
	m, err := onnx.Open(cfg.onnx(frameInputs, frameOutputs))
	if err != nil {
		return nil, fmt.Errorf("safety: frame model: %w", err)
	}
	return &FrameModel{m: m}, nil
}

// Close releases the model.
func (f *FrameModel) Close() { f.m.Close() }

// Score scores a batch of preprocessed frames (PreprocessImage), each of
// FrameLen values.
func (f *FrameModel) Score(ctx context.Context, frames [][]float32) ([]FrameScores, error) {
	if len(frames) == 0 {
		return nil, nil
	}
	n := len(frames)
	var in []float32
	if n == 1 && len(frames[0]) == FrameLen {
		in = frames[0]
	} else {
		in = make([]float32, 0, n*FrameLen)
		for i, fr := range frames {
			if len(fr) != FrameLen {
				return nil, fmt.Errorf("safety: frame %d has %d values, want %d", i, len(fr), FrameLen)
			}
			in = append(in, fr...)
		}
	}
	out, err := f.m.Run(ctx, onnx.NewFloat32(in, int64(n), FrameSize, FrameSize, 3))
	if err != nil {
		return nil, fmt.Errorf("safety: frame model: %w", err)
	}
	p := out[0].Float32
	res := make([]FrameScores, n)
	for i := range res {
		copy(res[i][:], p[i*len(FrameLabels):])
	}
	return res, nil
}

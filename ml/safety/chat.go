package safety

import (
	"context"
	"fmt"
	"sync"

	"github.com/beaconlive/beacon/ml/onnx"
)

// ChatLabels are the chat model's classes, in the order of its output.
var ChatLabels = [3]string{"hate", "offensive", "neither"}

// DefaultUnsafeThreshold is the default threshold of the chat model's
// unsafe score (see models/chat-safety.md for how it was tuned).
const DefaultUnsafeThreshold = 0.50

// ModelConfig configures a safety model.
type ModelConfig struct {
	// LibraryPath is the onnxruntime shared library. Required.
	LibraryPath string
	// Path is the .onnx file. Required.
	Path string
	// Sessions is the number of concurrent sessions. It defaults to 1.
	Sessions int
	// IntraOpThreads is the number of threads per session. It defaults to 1.
	IntraOpThreads int
	// Spin lets idle intra-op threads spin (see onnx.Config.Spin).
	Spin bool
}

func (c ModelConfig) onnx(inputs, outputs []onnx.TensorInfo) onnx.Config {
	return onnx.Config{
		LibraryPath:    c.LibraryPath,
		Path:           c.Path,
		Sessions:       c.Sessions,
		IntraOpThreads: c.IntraOpThreads,
		Spin:           c.Spin,
		Inputs:         inputs,
		Outputs:        outputs,
	}
}

// ChatScores are the chat model's scores for one message.
type ChatScores struct {
	Hate, Offensive, Neither float32
	// Unsafe is Hate + Offensive.
	Unsafe float32
}

// ChatModel is the chat safety model. It is safe for concurrent use.
type ChatModel struct {
	m     *onnx.Model
	feats sync.Pool // *featurizer
}

// ChatModelTensors are the tensors the chat model must have.
var chatInputs = []onnx.TensorInfo{
	{Name: "indices", Type: onnx.Int64, Shape: []int64{-1, -1}},
	{Name: "values", Type: onnx.Float32, Shape: []int64{-1, -1}},
}

var chatOutputs = []onnx.TensorInfo{
	{Name: "probabilities", Type: onnx.Float32, Shape: []int64{-1, 3}},
	{Name: "unsafe", Type: onnx.Float32, Shape: []int64{-1}},
}

// OpenChat loads the chat model and checks its tensors.
func OpenChat(cfg ModelConfig) (*ChatModel, error) {
	m, err := onnx.Open(cfg.onnx(chatInputs, chatOutputs))
	if err != nil {
		return nil, fmt.Errorf("safety: chat model: %w", err)
	}
	c := &ChatModel{m: m}
	c.feats.New = func() any { return new(featurizer) }
	return c, nil
}

// Close releases the model.
func (c *ChatModel) Close() { c.m.Close() }

// Score scores a batch of messages.
func (c *ChatModel) Score(ctx context.Context, texts []string) ([]ChatScores, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	feats := make([]TextFeatures, len(texts))
	f := c.feats.Get().(*featurizer)
	k := 1
	for i, t := range texts {
		f.features(t, &feats[i])
		k = max(k, len(feats[i].Indices))
	}
	c.feats.Put(f)
	n := len(texts)
	ind := make([]int64, n*k)
	val := make([]float32, n*k)
	for i, tf := range feats {
		copy(ind[i*k:], tf.Indices)
		copy(val[i*k:], tf.Values)
	}
	out, err := c.m.Run(ctx, onnx.NewInt64(ind, int64(n), int64(k)), onnx.NewFloat32(val, int64(n), int64(k)))
	if err != nil {
		return nil, fmt.Errorf("safety: chat model: %w", err)
	}
	p, u := out[0].Float32, out[1].Float32
	res := make([]ChatScores, n)
	for i := range res {
		res[i] = ChatScores{Hate: p[3*i], Offensive: p[3*i+1], Neither: p[3*i+2], Unsafe: u[i]}
	}
	return res, nil
}

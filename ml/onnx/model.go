package onnx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("onnx: model closed")

// ErrShape is returned (wrapped) when a model's tensors or a run's inputs do
// not have the expected names, types or shapes.
var ErrShape = errors.New("onnx: shape mismatch")

// Config configures a Model.
type Config struct {
	// LibraryPath is the onnxruntime shared library (ONNXRUNTIME_LIB). Required.
	LibraryPath string
	// Path is the .onnx model file. Required.
	Path string
	// Sessions is the number of sessions in the pool, that is how many runs
	// proceed at once. It defaults to 1.
	Sessions int
	// IntraOpThreads is the number of threads each session uses inside one
	// operator. It defaults to 1.
	IntraOpThreads int
	// Spin lets idle intra-op threads spin-wait for work, which lowers
	// latency on a dedicated machine but burns CPU that other stages of the
	// same box need. It defaults to false (threads sleep).
	Spin bool
	// Inputs and Outputs, when set, are the tensors the caller expects: Open
	// fails unless the model has exactly these names, types and ranks, and
	// the same size on every dimension that is not negative here.
	Inputs, Outputs []TensorInfo
}

// Model is an ONNX model loaded once, with a pool of sessions. Its methods
// are safe for concurrent use.
type Model struct {
	path    string
	version string
	inputs  []TensorInfo
	outputs []TensorInfo

	pool chan *session
	mu   sync.RWMutex // held for reading by runs, for writing by Close
	all  []*session
	done bool
}

type session struct {
	s *ort.DynamicAdvancedSession
}

// Open loads the onnxruntime library (once per process) and the model,
// reads its inputs and outputs, checks them against cfg.Inputs and
// cfg.Outputs and creates the session pool. Every problem is reported here,
// not at the first Run.
func Open(cfg Config) (*Model, error) {
	if cfg.Sessions == 0 {
		cfg.Sessions = 1
	}
	if cfg.IntraOpThreads == 0 {
		cfg.IntraOpThreads = 1
	}
	if cfg.Sessions < 0 {
		return nil, fmt.Errorf("onnx: 'Sessions' must be positive, got %d", cfg.Sessions)
	}
	if cfg.IntraOpThreads < 0 {
		return nil, fmt.Errorf("onnx: 'IntraOpThreads' must be positive, got %d", cfg.IntraOpThreads)
	}
	version, err := initEnv(cfg.LibraryPath)
	if err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		return nil, errors.New("onnx: model 'Path' is empty")
	}
	if _, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("onnx: model: %w", err)
	}
	ins, outs, err := ort.GetInputOutputInfo(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("onnx: reading model %s: %w", cfg.Path, err)
	}
	m := &Model{path: cfg.Path, version: version, pool: make(chan *session, cfg.Sessions)}
	if m.inputs, err = infos(ins); err != nil {
		return nil, fmt.Errorf("onnx: model %s: %w", cfg.Path, err)
	}
	if m.outputs, err = infos(outs); err != nil {
		return nil, fmt.Errorf("onnx: model %s: %w", cfg.Path, err)
	}
	if err := check("input", m.inputs, cfg.Inputs); err != nil {
		return nil, fmt.Errorf("onnx: model %s: %w", cfg.Path, err)
	}
	if err := check("output", m.outputs, cfg.Outputs); err != nil {
		return nil, fmt.Errorf("onnx: model %s: %w", cfg.Path, err)
	}

	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnx: session options: %w", err)
	}
	defer opts.Destroy() //nolint:errcheck
	if err := opts.SetIntraOpNumThreads(cfg.IntraOpThreads); err != nil {
		return nil, fmt.Errorf("onnx: intra-op threads: %w", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("onnx: inter-op threads: %w", err)
	}
	if !cfg.Spin {
		if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, fmt.Errorf("onnx: session options: %w", err)
		}
	}
	inNames, outNames := names(m.inputs), names(m.outputs)
	for range cfg.Sessions {
		s, err := ort.NewDynamicAdvancedSession(cfg.Path, inNames, outNames, opts)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("onnx: creating session for %s: %w", cfg.Path, err)
		}
		ss := &session{s: s}
		m.all = append(m.all, ss)
		m.pool <- ss
	}
	return m, nil
}

func infos(in []ort.InputOutputInfo) ([]TensorInfo, error) {
	out := make([]TensorInfo, len(in))
	for i, v := range in {
		if v.OrtValueType != ort.ONNXTypeTensor {
			return nil, fmt.Errorf("tensor %q is a %s, not a tensor", v.Name, v.OrtValueType)
		}
		out[i] = TensorInfo{Name: v.Name, Type: elementType(v.DataType), Shape: append([]int64(nil), v.Dimensions...)}
		if out[i].Type == Unsupported {
			return nil, fmt.Errorf("tensor %q has unsupported element type %s", v.Name, v.DataType)
		}
	}
	return out, nil
}

func check(kind string, got, want []TensorInfo) error {
	if want == nil {
		return nil
	}
	if len(got) != len(want) {
		return fmt.Errorf("%w: model has %d %ss %v, want %d %v", ErrShape, len(got), kind, got, len(want), want)
	}
	for i := range want {
		if !got[i].compatible(want[i]) {
			return fmt.Errorf("%w: %s %d is %v, want %v", ErrShape, kind, i, got[i], want[i])
		}
	}
	return nil
}

func names(ti []TensorInfo) []string {
	out := make([]string, len(ti))
	for i, t := range ti {
		out[i] = t.Name
	}
	return out
}

// Inputs describes the model's inputs, in order.
func (m *Model) Inputs() []TensorInfo { return append([]TensorInfo(nil), m.inputs...) }

// Outputs describes the model's outputs, in order.
func (m *Model) Outputs() []TensorInfo { return append([]TensorInfo(nil), m.outputs...) }

// Version is the version of the onnxruntime library running the model.
func (m *Model) Version() string { return m.version }

// Path is the model file.
func (m *Model) Path() string { return m.path }

// Run runs the model on one input per model input, in order, and returns
// one tensor per model output. It waits for a free session or for ctx; a
// context cancelled during the run terminates it.
func (m *Model) Run(ctx context.Context, inputs ...Tensor) ([]Tensor, error) {
	if len(inputs) != len(m.inputs) {
		return nil, fmt.Errorf("%w: got %d inputs, model %s takes %d", ErrShape, len(inputs), m.path, len(m.inputs))
	}
	for i, in := range inputs {
		want := m.inputs[i]
		if in.Type() != want.Type || !want.accepts(in.Shape) {
			return nil, fmt.Errorf("%w: input %d is %s%v, model takes %v", ErrShape, i, in.Type(), in.Shape, want)
		}
		if in.dataLen() != in.Len() {
			return nil, fmt.Errorf("%w: input %s has %d elements for shape %v", ErrShape, want.Name, in.dataLen(), in.Shape)
		}
	}

	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.done {
		return nil, ErrClosed
	}
	var s *session
	select {
	case s = <-m.pool:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { m.pool <- s }()
	return s.run(ctx, inputs, len(m.outputs))
}

func (s *session) run(ctx context.Context, inputs []Tensor, nout int) ([]Tensor, error) {
	ins := make([]ort.Value, len(inputs))
	defer func() {
		for _, v := range ins {
			if v != nil {
				_ = v.Destroy()
			}
		}
	}()
	for i, in := range inputs {
		v, err := in.value()
		if err != nil {
			return nil, fmt.Errorf("onnx: input %d: %w", i, err)
		}
		ins[i] = v
	}
	outs := make([]ort.Value, nout)
	defer func() {
		for _, v := range outs {
			if v != nil {
				_ = v.Destroy()
			}
		}
	}()

	var opts *ort.RunOptions
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o, err := ort.NewRunOptions()
		if err != nil {
			return nil, fmt.Errorf("onnx: run options: %w", err)
		}
		opts = o
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(fired)
			_ = o.Terminate()
		})
		defer func() {
			if !stop() {
				<-fired
			}
			_ = o.Destroy()
		}()
	}
	if err := s.s.RunWithOptions(ins, outs, opts); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("onnx: run: %w", ctx.Err())
		}
		return nil, fmt.Errorf("onnx: run: %w", err)
	}
	res := make([]Tensor, nout)
	for i, v := range outs {
		t, err := fromValue(v)
		if err != nil {
			return nil, err
		}
		res[i] = t
	}
	return res, nil
}

// Close waits for the runs in progress and releases the sessions. Run
// returns ErrClosed afterwards.
func (m *Model) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return
	}
	m.done = true
	for _, s := range m.all {
		_ = s.s.Destroy()
	}
	m.all = nil
}

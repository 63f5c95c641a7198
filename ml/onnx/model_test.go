package onnx

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/stretchr/testify/require"
)

func openAffine(t testing.TB, cfg Config) *Model {
	t.Helper()
	cfg.LibraryPath = testenv.Require(t, "ONNXRUNTIME_LIB", "onnxruntime library")
	cfg.Path = filepath.Join("testdata", "affine.onnx")
	m, err := Open(cfg)
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

func TestOpenDescribesModel(t *testing.T) {
	m := openAffine(t, Config{})
	require.Equal(t, []TensorInfo{{Name: "x", Type: Float32, Shape: []int64{-1, 4}}}, m.Inputs())
	require.Equal(t, []TensorInfo{
		{Name: "y", Type: Float32, Shape: []int64{-1, 4}},
		{Name: "s", Type: Float32, Shape: []int64{-1}},
	}, m.Outputs())
	require.False(t, versionLess(m.Version(), MinVersion), m.Version())
}

func TestRun(t *testing.T) {
	m := openAffine(t, Config{Sessions: 2})
	out, err := m.Run(context.Background(), NewFloat32([]float32{0, 1, 2, 3, 1, 1, 1, 1}, 2, 4))
	require.NoError(t, err)
	require.Len(t, out, 2)
	require.Equal(t, []int64{2, 4}, out[0].Shape)
	require.Equal(t, []float32{1, 3, 5, 7, 3, 3, 3, 3}, out[0].Float32)
	require.Equal(t, []float32{16, 12}, out[1].Float32)
}

func TestRunInt64(t *testing.T) {
	lib := testenv.Require(t, "ONNXRUNTIME_LIB", "onnxruntime library")
	m, err := Open(Config{LibraryPath: lib, Path: filepath.Join("testdata", "gather.onnx")})
	require.NoError(t, err)
	defer m.Close()
	out, err := m.Run(context.Background(), NewInt64([]int64{4, 0}, 1, 2))
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2, 2}, out[0].Shape)
	require.Equal(t, []float32{8, 9, 0, 1}, out[0].Float32)
}

func TestRunConcurrent(t *testing.T) {
	m := openAffine(t, Config{Sessions: 2})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			v := float32(i)
			out, err := m.Run(context.Background(), NewFloat32([]float32{v, v, v, v}, 1, 4))
			if err == nil && out[1].Float32[0] != 4*(2*v+1) {
				err = errors.New("wrong sum")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestRunRejectsBadInputs(t *testing.T) {
	m := openAffine(t, Config{})
	ctx := context.Background()
	for _, ca := range []struct {
		name string
		in   []Tensor
	}{
		{"no inputs", nil},
		{"wrong width", []Tensor{NewFloat32(make([]float32, 6), 2, 3)}},
		{"wrong rank", []Tensor{NewFloat32(make([]float32, 4), 4)}},
		{"wrong type", []Tensor{NewInt64(make([]int64, 4), 1, 4)}},
		{"short data", []Tensor{NewFloat32(make([]float32, 4), 2, 4)}},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := m.Run(ctx, ca.in...)
			require.ErrorIs(t, err, ErrShape)
		})
	}
}

func TestRunCancelled(t *testing.T) {
	m := openAffine(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Run(ctx, NewFloat32(make([]float32, 4), 1, 4))
	require.ErrorIs(t, err, context.Canceled)
}

func TestRunAfterClose(t *testing.T) {
	m := openAffine(t, Config{})
	m.Close()
	_, err := m.Run(context.Background(), NewFloat32(make([]float32, 4), 1, 4))
	require.ErrorIs(t, err, ErrClosed)
}

func TestOpenErrors(t *testing.T) {
	lib := testenv.Require(t, "ONNXRUNTIME_LIB", "onnxruntime library")
	affine := filepath.Join("testdata", "affine.onnx")
	for _, ca := range []struct {
		name string
		cfg  Config
		is   error
		msg  string
	}{
		{"no library", Config{Path: affine}, ErrNoLibrary, "LibraryPath"},
		{"missing library", Config{LibraryPath: "/nonexistent/libonnxruntime.so", Path: affine}, ErrNoLibrary, "nonexistent"},
		{"missing model", Config{LibraryPath: lib, Path: "testdata/missing.onnx"}, nil, "missing.onnx"},
		{"not a model", Config{LibraryPath: lib, Path: "testdata/make_models.py"}, nil, "make_models.py"},
		{"input shape", Config{LibraryPath: lib, Path: affine,
			Inputs: []TensorInfo{{Name: "x", Type: Float32, Shape: []int64{-1, 5}}}}, ErrShape, "input 0 is x float32[?,4], want x float32[?,5]"},
		{"input name", Config{LibraryPath: lib, Path: affine,
			Inputs: []TensorInfo{{Name: "input", Type: Float32, Shape: []int64{-1, 4}}}}, ErrShape, "want input"},
		{"outputs", Config{LibraryPath: lib, Path: affine,
			Outputs: []TensorInfo{{Name: "y", Type: Float32, Shape: []int64{-1, 4}}}}, ErrShape, "2 outputs"},
		{"sessions", Config{LibraryPath: lib, Path: affine, Sessions: -1}, nil, "'Sessions'"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := Open(ca.cfg)
			require.Error(t, err)
			if ca.is != nil {
				require.ErrorIs(t, err, ca.is)
			}
			require.Contains(t, err.Error(), ca.msg)
		})
	}
}

func TestOpenExpectations(t *testing.T) {
	m := openAffine(t, Config{
		Inputs:  []TensorInfo{{Name: "x", Type: Float32, Shape: []int64{-1, 4}}},
		Outputs: []TensorInfo{{Name: "y", Type: Float32, Shape: []int64{-1, -1}}, {Name: "s", Type: Float32, Shape: []int64{-1}}},
	})
	require.Len(t, m.Outputs(), 2)
}

func TestVersionLess(t *testing.T) {
	require.True(t, versionLess("1.23.2", "1.24.0"))
	require.False(t, versionLess("1.24.1", "1.24.0"))
	require.False(t, versionLess("1.24.0", "1.24.0"))
	require.True(t, versionLess("1.9", "1.24"))
}

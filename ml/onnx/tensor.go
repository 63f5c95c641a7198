package onnx

import (
	"fmt"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// ElementType is the element type of a tensor.
type ElementType int

// Element types this package runs models with.
const (
	Unsupported ElementType = iota
	Float32
	Int64
)

func (e ElementType) String() string {
	switch e {
	case Float32:
		return "float32"
	case Int64:
		return "int64"
	}
	return "unsupported"
}

func elementType(t ort.TensorElementDataType) ElementType {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return Float32
	case ort.TensorElementDataTypeInt64:
		return Int64
	}
	return Unsupported
}

// TensorInfo describes one input or output of a model. A negative dimension
// is dynamic (a symbolic dimension such as the batch size).
type TensorInfo struct {
	Name  string
	Type  ElementType
	Shape []int64
}

func (ti TensorInfo) String() string {
	dims := make([]string, len(ti.Shape))
	for i, d := range ti.Shape {
		if d < 0 {
			dims[i] = "?"
		} else {
			dims[i] = fmt.Sprint(d)
		}
	}
	return fmt.Sprintf("%s %s[%s]", ti.Name, ti.Type, strings.Join(dims, ","))
}

// compatible tells whether a model tensor (ti) satisfies the expectation
// want, where a negative dimension in want accepts any dimension.
func (ti TensorInfo) compatible(want TensorInfo) bool {
	if ti.Name != want.Name || ti.Type != want.Type || len(ti.Shape) != len(want.Shape) {
		return false
	}
	for i, d := range want.Shape {
		if d >= 0 && ti.Shape[i] != d {
			return false
		}
	}
	return true
}

// accepts checks a concrete shape against the tensor's dimensions.
func (ti TensorInfo) accepts(shape []int64) bool {
	if len(shape) != len(ti.Shape) {
		return false
	}
	for i, d := range ti.Shape {
		if shape[i] < 0 || (d >= 0 && shape[i] != d) {
			return false
		}
	}
	return true
}

// Tensor is a dense row-major tensor: Float32 or Int64 holds its elements,
// according to its type.
type Tensor struct {
	Shape   []int64
	Float32 []float32
	Int64   []int64
}

// NewFloat32 returns a float32 tensor over data.
func NewFloat32(data []float32, shape ...int64) Tensor {
	return Tensor{Shape: shape, Float32: data}
}

// NewInt64 returns an int64 tensor over data.
func NewInt64(data []int64, shape ...int64) Tensor {
	return Tensor{Shape: shape, Int64: data}
}

// Type is the tensor's element type.
func (t Tensor) Type() ElementType {
	switch {
	case t.Float32 != nil:
		return Float32
	case t.Int64 != nil:
		return Int64
	}
	return Unsupported
}

// Len is the number of elements the shape holds.
func (t Tensor) Len() int {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return int(n)
}

func (t Tensor) dataLen() int {
	if t.Float32 != nil {
		return len(t.Float32)
	}
	return len(t.Int64)
}

func (t Tensor) value() (ort.Value, error) {
	shape := ort.NewShape(t.Shape...)
	switch t.Type() {
	case Float32:
		return ort.NewTensor(shape, t.Float32)
	case Int64:
		return ort.NewTensor(shape, t.Int64)
	}
	return nil, fmt.Errorf("onnx: unsupported tensor type")
}

func fromValue(v ort.Value) (Tensor, error) {
	switch tv := v.(type) {
	case *ort.Tensor[float32]:
		return Tensor{Shape: append([]int64(nil), tv.GetShape()...), Float32: append([]float32(nil), tv.GetData()...)}, nil
	case *ort.Tensor[int64]:
		return Tensor{Shape: append([]int64(nil), tv.GetShape()...), Int64: append([]int64(nil), tv.GetData()...)}, nil
	}
	return Tensor{}, fmt.Errorf("onnx: unsupported output value %T", v)
}

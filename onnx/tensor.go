package onnx

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ElementType is the type of a tensor's elements. The values are ONNX's
// TensorProto.DataType numbers.
type ElementType int

// The element types a [Tensor] can hold.
const (
	Undefined ElementType = 0
	Float32   ElementType = 1
	Uint8     ElementType = 2
	Int8      ElementType = 3
	Uint16    ElementType = 4
	Int16     ElementType = 5
	Int32     ElementType = 6
	Int64     ElementType = 7
	String    ElementType = 8 // not supported by Tensor
	Bool      ElementType = 9
	Float16   ElementType = 10 // not supported by Tensor
	Float64   ElementType = 11
	Uint32    ElementType = 12
	Uint64    ElementType = 13
)

var typeNames = map[ElementType]string{
	Float32: "float32", Uint8: "uint8", Int8: "int8", Uint16: "uint16", Int16: "int16",
	Int32: "int32", Int64: "int64", String: "string", Bool: "bool", Float16: "float16",
	Float64: "float64", Uint32: "uint32", Uint64: "uint64",
}

// String returns the NumPy-style name: "float32", "int64", "bool", ….
func (t ElementType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Element is the set of Go types a [Tensor] can hold.
type Element interface {
	float32 | float64 | int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64 | bool
}

// ErrShape is wrapped by the errors of [NewTensor] when the data does not
// fit the shape.
var ErrShape = errors.New("onnx: data does not match shape")

// Tensor is a dense n-dimensional array: flat row-major data of one element
// type plus a shape. It is the one tensor form of the package: model inputs
// and outputs are Tensors. A Tensor refers to its data without copying it;
// do not modify the data while a model runs on it. The zero Tensor holds
// nothing and has type Undefined.
type Tensor struct {
	shape []int64
	data  any // []T for one T in Element
}

// NewTensor returns a tensor of the given shape over data, which it does
// not copy. The product of the dimensions must equal len(data); a negative
// dimension is an error wrapping [ErrShape]. A tensor needs at least one
// dimension.
func NewTensor[T Element](data []T, shape ...int64) (Tensor, error) {
	n, err := elements(shape)
	if err != nil {
		return Tensor{}, err
	}
	if n != int64(len(data)) {
		return Tensor{}, fmt.Errorf("%w: shape %v holds %d elements, data has %d", ErrShape, Shape(shape), n, len(data))
	}
	return Tensor{shape: append([]int64(nil), shape...), data: data}, nil
}

// Zeros returns a tensor of the given type and shape filled with zeros.
func Zeros(typ ElementType, shape ...int64) (Tensor, error) {
	n, err := elements(shape)
	if err != nil {
		return Tensor{}, err
	}
	data, err := makeData(typ, int(n))
	if err != nil {
		return Tensor{}, err
	}
	return Tensor{shape: append([]int64(nil), shape...), data: data}, nil
}

func elements(shape []int64) (int64, error) {
	if len(shape) == 0 {
		return 0, fmt.Errorf("%w: a tensor needs at least one dimension", ErrShape)
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dimension in %v", ErrShape, Shape(shape))
		}
		n *= d
	}
	return n, nil
}

// Data returns the tensor's flat data as []T, without copying. It returns
// an error when the tensor holds another element type.
func Data[T Element](t Tensor) ([]T, error) {
	d, ok := t.data.([]T)
	if !ok {
		var zero T
		return nil, fmt.Errorf("onnx: tensor holds %v, not %v", t.Type(), typeOf(any(zero)))
	}
	return d, nil
}

// Shape returns the tensor's dimensions. The caller must not modify it.
func (t Tensor) Shape() Shape { return t.shape }

// Type returns the element type.
func (t Tensor) Type() ElementType { return typeOfSlice(t.data) }

// Len returns the number of elements.
func (t Tensor) Len() int {
	switch d := t.data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []int8:
		return len(d)
	case []uint8:
		return len(d)
	case []int16:
		return len(d)
	case []uint16:
		return len(d)
	case []int32:
		return len(d)
	case []uint32:
		return len(d)
	case []int64:
		return len(d)
	case []uint64:
		return len(d)
	case []bool:
		return len(d)
	}
	return 0
}

// String describes the tensor's type and shape, such as "float32[1 1 28 28]".
func (t Tensor) String() string { return t.Type().String() + t.Shape().String() }

// Shape is a list of dimensions. In a model's [Info], -1 marks a dynamic
// dimension (one the model accepts at any size).
type Shape []int64

// String formats the shape as [1 3 -1], with "?" for dynamic dimensions
// shown as -1 in the slice: [? 4].
func (s Shape) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		if d < 0 {
			b.WriteByte('?')
		} else {
			b.WriteString(strconv.FormatInt(d, 10))
		}
	}
	b.WriteByte(']')
	return b.String()
}

func typeOf(v any) ElementType {
	switch v.(type) {
	case float32:
		return Float32
	case float64:
		return Float64
	case int8:
		return Int8
	case uint8:
		return Uint8
	case int16:
		return Int16
	case uint16:
		return Uint16
	case int32:
		return Int32
	case uint32:
		return Uint32
	case int64:
		return Int64
	case uint64:
		return Uint64
	case bool:
		return Bool
	}
	return Undefined
}

func typeOfSlice(v any) ElementType {
	switch v.(type) {
	case []float32:
		return Float32
	case []float64:
		return Float64
	case []int8:
		return Int8
	case []uint8:
		return Uint8
	case []int16:
		return Int16
	case []uint16:
		return Uint16
	case []int32:
		return Int32
	case []uint32:
		return Uint32
	case []int64:
		return Int64
	case []uint64:
		return Uint64
	case []bool:
		return Bool
	}
	return Undefined
}

func makeData(typ ElementType, n int) (any, error) {
	switch typ {
	case Float32:
		return make([]float32, n), nil
	case Float64:
		return make([]float64, n), nil
	case Int8:
		return make([]int8, n), nil
	case Uint8:
		return make([]uint8, n), nil
	case Int16:
		return make([]int16, n), nil
	case Uint16:
		return make([]uint16, n), nil
	case Int32:
		return make([]int32, n), nil
	case Uint32:
		return make([]uint32, n), nil
	case Int64:
		return make([]int64, n), nil
	case Uint64:
		return make([]uint64, n), nil
	case Bool:
		return make([]bool, n), nil
	}
	return nil, fmt.Errorf("onnx: element type %v is not supported", typ)
}

// concat joins the tensors (same type and trailing dimensions) along the
// first dimension into one new tensor.
func concat(parts []Tensor) Tensor {
	if len(parts) == 1 {
		return parts[0]
	}
	var rows int64
	for _, p := range parts {
		rows += p.shape[0]
	}
	shape := append([]int64{rows}, parts[0].shape[1:]...)
	switch parts[0].data.(type) {
	case []float32:
		return Tensor{shape, concatData[float32](parts)}
	case []float64:
		return Tensor{shape, concatData[float64](parts)}
	case []int8:
		return Tensor{shape, concatData[int8](parts)}
	case []uint8:
		return Tensor{shape, concatData[uint8](parts)}
	case []int16:
		return Tensor{shape, concatData[int16](parts)}
	case []uint16:
		return Tensor{shape, concatData[uint16](parts)}
	case []int32:
		return Tensor{shape, concatData[int32](parts)}
	case []uint32:
		return Tensor{shape, concatData[uint32](parts)}
	case []int64:
		return Tensor{shape, concatData[int64](parts)}
	case []uint64:
		return Tensor{shape, concatData[uint64](parts)}
	case []bool:
		return Tensor{shape, concatData[bool](parts)}
	}
	return Tensor{}
}

func concatData[T Element](parts []Tensor) []T {
	n := 0
	for _, p := range parts {
		n += len(p.data.([]T))
	}
	out := make([]T, 0, n)
	for _, p := range parts {
		out = append(out, p.data.([]T)...)
	}
	return out
}

// rows returns the view of rows [from, to) of t along its first dimension,
// sharing t's data.
func (t Tensor) rows(from, to int64) Tensor {
	per := int64(1)
	for _, d := range t.shape[1:] {
		per *= d
	}
	shape := append([]int64{to - from}, t.shape[1:]...)
	a, b := int(from*per), int(to*per)
	switch d := t.data.(type) {
	case []float32:
		return Tensor{shape, d[a:b:b]}
	case []float64:
		return Tensor{shape, d[a:b:b]}
	case []int8:
		return Tensor{shape, d[a:b:b]}
	case []uint8:
		return Tensor{shape, d[a:b:b]}
	case []int16:
		return Tensor{shape, d[a:b:b]}
	case []uint16:
		return Tensor{shape, d[a:b:b]}
	case []int32:
		return Tensor{shape, d[a:b:b]}
	case []uint32:
		return Tensor{shape, d[a:b:b]}
	case []int64:
		return Tensor{shape, d[a:b:b]}
	case []uint64:
		return Tensor{shape, d[a:b:b]}
	case []bool:
		return Tensor{shape, d[a:b:b]}
	}
	return Tensor{}
}

package ndarray

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
	"github.com/gobento/bento/internal/tensor"
)

// kernel moves values of T between the wire and a tensor.Tensor of T's
// element type. It is chosen once per T (kernelFor); T is viewed as nested
// slices of the element's underlying type, which share its memory layout.
type kernel[T any] interface {
	decodeJSON(n *Codec[T], p iospec.Payload) (T, error)
	decodeProto(n *Codec[T], a *pb.NDArray) (T, error)
	encodeJSON(n *Codec[T], x T) ([]byte, error)
	encodeProto(n *Codec[T], x T) (*pb.NDArray, error)
}

// kern is the kernel of T over elements E.
type kern[T any, E tensor.Element] struct {
	from func(scalar) E // s is already in the element's class
	to   func(E) scalar
}

// kernelFor picks the kernel for T, whose innermost element has kind k.
func kernelFor[T any](k reflect.Kind) kernel[T] {
	switch k {
	case reflect.Float32:
		return kern[T, float32]{fromFloat[float32], toFloat[float32]}
	case reflect.Float64:
		return kern[T, float64]{fromFloat[float64], toFloat[float64]}
	case reflect.Int8:
		return kern[T, int8]{fromInt[int8], toInt[int8]}
	case reflect.Int16:
		return kern[T, int16]{fromInt[int16], toInt[int16]}
	case reflect.Int32:
		return kern[T, int32]{fromInt[int32], toInt[int32]}
	case reflect.Int64:
		return kern[T, int64]{fromInt[int64], toInt[int64]}
	case reflect.Int:
		return kern[T, int]{fromInt[int], toInt[int]}
	case reflect.Uint8:
		return kern[T, uint8]{fromUint[uint8], toUint[uint8]}
	case reflect.Uint16:
		return kern[T, uint16]{fromUint[uint16], toUint[uint16]}
	case reflect.Uint32:
		return kern[T, uint32]{fromUint[uint32], toUint[uint32]}
	case reflect.Uint64:
		return kern[T, uint64]{fromUint[uint64], toUint[uint64]}
	case reflect.Uint:
		return kern[T, uint]{fromUint[uint], toUint[uint]}
	case reflect.Bool:
		return kern[T, bool]{func(s scalar) bool { return s.b }, func(b bool) scalar { return scalar{c: cBool, b: b} }}
	}
	return nil
}

func fromFloat[E float32 | float64](s scalar) E { return E(s.f) }
func toFloat[E float32 | float64](e E) scalar   { return scalar{c: cFloat, f: float64(e)} }
func fromInt[E int8 | int16 | int32 | int64 | int](s scalar) E {
	return E(s.i)
}
func toInt[E int8 | int16 | int32 | int64 | int](e E) scalar { return scalar{c: cInt, i: int64(e)} }
func fromUint[E uint8 | uint16 | uint32 | uint64 | uint](s scalar) E {
	return E(s.u)
}
func toUint[E uint8 | uint16 | uint32 | uint64 | uint](e E) scalar {
	return scalar{c: cUint, u: uint64(e)}
}

// view returns the tensor as a T.
func view[T any, E tensor.Element](t tensor.Tensor[E]) T {
	s := tensor.Nest(t)
	return *(*T)(unsafe.Pointer(&s))
}

// itemCount is the length of a slice of any type.
func itemCount[T any](x *T) int { return (*tensor.Slice)(unsafe.Pointer(x)).Len }

func (k kern[T, E]) decodeJSON(n *Codec[T], p iospec.Payload) (T, error) {
	data := make([]E, 0, n.estimateValues(p))
	shape, err := n.parse(p, func(s scalar) error {
		x, err := n.check(s)
		if err != nil {
			return err
		}
		data = append(data, k.from(x))
		return nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return view[T](tensor.Tensor[E]{Data: data, Shape: shape}), nil
}

func (k kern[T, E]) decodeProto(n *Codec[T], a *pb.NDArray) (T, error) {
	var data []E
	shape, err := n.readProto(a, func(s scalar) error {
		x, err := n.check(s)
		if err != nil {
			return err
		}
		if data == nil {
			data = make([]E, 0, protoLen(a))
		}
		data = append(data, k.from(x))
		return nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return view[T](tensor.Tensor[E]{Data: data, Shape: shape}), nil
}

// flatten reads a result into a tensor and applies the declared shape and
// dtype to it. Dimensions below an empty list take the declared size, so
// that the shape sent over gRPC passes the same descriptor's check.
func (k kern[T, E]) flatten(n *Codec[T], x T) (tensor.Tensor[E], error) {
	t, known, err := tensor.Flatten[E](unsafe.Pointer(&x), n.rank)
	if err != nil {
		return t, fmt.Errorf("bento: NDArray result is ragged: %w", err)
	}
	for i := known; i < n.rank && n.opts.ShapeSet; i++ {
		t.Shape[i] = max(n.opts.Shape[i], 0)
	}
	if err := n.checkShape(t.Shape, known); err != nil {
		return t, resultError(err)
	}
	if n.dtype != dInvalid && n.dtype != n.elem {
		for _, e := range t.Data {
			if s := k.to(e); !representable(s, n.dtype) {
				return t, resultError(fmt.Errorf("value %s is not representable as the declared dtype %s", s, n.dtype))
			}
		}
	}
	return t, nil
}

func representable(s scalar, k dkind) bool {
	_, err := convert(s, k)
	return err == nil
}

func (k kern[T, E]) encodeJSON(n *Codec[T], x T) ([]byte, error) {
	t, err := k.flatten(n, x)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, 2*n.rank+len(t.Data)*8)
	idx := 0
	var werr error
	var level func(depth int)
	level = func(depth int) {
		buf = append(buf, '[')
		for i := range t.Shape[depth] {
			if i > 0 {
				buf = append(buf, ',')
			}
			if depth < n.rank-1 {
				level(depth + 1)
				continue
			}
			buf, err = appendJSONScalar(buf, k.to(t.Data[idx]), n.elem)
			if err != nil && werr == nil {
				werr = err
			}
			idx++
		}
		buf = append(buf, ']')
	}
	level(0)
	if werr != nil {
		return nil, werr
	}
	return buf, nil
}

func (k kern[T, E]) encodeProto(n *Codec[T], x T) (*pb.NDArray, error) {
	t, err := k.flatten(n, x)
	if err != nil {
		return nil, err
	}
	a, vk, err := n.protoArray(t.Shape)
	if err != nil {
		return nil, err
	}
	if len(t.Data) > 0 {
		reserveProto(a, len(t.Data))
	}
	for _, e := range t.Data {
		s, err := convert(k.to(e), vk)
		if err != nil {
			return nil, resultError(fmt.Errorf("value %s is not representable as %s", k.to(e), vk))
		}
		appendProto(a, s)
	}
	return a, nil
}

// protoLen is the number of values in a's longest *_values field.
func protoLen(a *pb.NDArray) int {
	return max(len(a.GetFloatValues()), len(a.GetDoubleValues()), len(a.GetInt32Values()), len(a.GetInt64Values()),
		len(a.GetUint32Values()), len(a.GetUint64Values()), len(a.GetBoolValues()))
}

// reserveProto makes room for n values in a's values field.
func reserveProto(a *pb.NDArray, n int) {
	switch a.Dtype {
	case pb.NDArray_DTYPE_FLOAT:
		a.FloatValues = make([]float32, 0, n)
	case pb.NDArray_DTYPE_DOUBLE:
		a.DoubleValues = make([]float64, 0, n)
	case pb.NDArray_DTYPE_INT32:
		a.Int32Values = make([]int32, 0, n)
	case pb.NDArray_DTYPE_INT64:
		a.Int64Values = make([]int64, 0, n)
	case pb.NDArray_DTYPE_UINT32:
		a.Uint32Values = make([]uint32, 0, n)
	case pb.NDArray_DTYPE_UINT64:
		a.Uint64Values = make([]uint64, 0, n)
	case pb.NDArray_DTYPE_BOOL:
		a.BoolValues = make([]bool, 0, n)
	}
}

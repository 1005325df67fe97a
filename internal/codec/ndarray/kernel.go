package ndarray

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
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

// sink returns the function the parsers hand each value to: it checks the
// value and appends it to *data as an E.
func (k kern[T, E]) sink(n *Codec[T], data *[]E) func(scalar) error {
	if n.dtype == dInvalid || n.dtype == n.elem {
		// Float elements take every number without a call per value; the
		// rules are convert's.
		switch d := any(data).(type) {
		case *[]float64:
			return func(s scalar) error {
				f, ok := floatOf(s)
				if !ok {
					return valueError(s, dFloat64)
				}
				*d = append(*d, f)
				return nil
			}
		case *[]float32:
			return func(s scalar) error {
				f, ok := floatOf(s)
				if x := float32(f); ok && (!math.IsInf(float64(x), 0) || math.IsInf(f, 0)) {
					*d = append(*d, x)
					return nil
				}
				return valueError(s, dFloat32)
			}
		}
	}
	return func(s scalar) error {
		x, err := n.check(s)
		if err != nil {
			return err
		}
		*data = append(*data, k.from(x))
		return nil
	}
}

func (k kern[T, E]) decodeJSON(n *Codec[T], p iospec.Payload) (T, error) {
	data := make([]E, 0, n.estimateValues(p))
	shape, err := n.parse(p, k.sink(n, &data))
	if err != nil {
		var zero T
		return zero, err
	}
	return view[T](tensor.Tensor[E]{Data: data, Shape: shape}), nil
}

func (k kern[T, E]) decodeProto(n *Codec[T], a *pb.NDArray) (T, error) {
	if t, ok := k.decodeProtoSame(n, a); ok {
		return t, nil
	}
	data := make([]E, 0, protoLen(a))
	shape, err := n.readProto(a, k.sink(n, &data))
	if err != nil {
		var zero T
		return zero, err
	}
	return view[T](tensor.Tensor[E]{Data: data, Shape: shape}), nil
}

// decodeProtoSame decodes, without a call per value, a message whose values
// field holds E itself (double_values for float64, int64_values for int64,
// ...) when no other dtype is declared; ok is false for any other message,
// or any problem, which the general path then reports.
func (k kern[T, E]) decodeProtoSame(n *Codec[T], a *pb.NDArray) (x T, ok bool) {
	if n.dtype != dInvalid && n.dtype != n.elem {
		return x, false
	}
	var src []E
	switch any(src).(type) {
	case []float64:
		src = same[E](a.GetDoubleValues(), pb.NDArray_DTYPE_DOUBLE, a)
		for _, f := range asSlice[float64](src) {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return x, false
			}
		}
	case []float32:
		src = same[E](a.GetFloatValues(), pb.NDArray_DTYPE_FLOAT, a)
		for _, f := range asSlice[float32](src) {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return x, false
			}
		}
	case []int64:
		src = same[E](a.GetInt64Values(), pb.NDArray_DTYPE_INT64, a)
	case []int32:
		src = same[E](a.GetInt32Values(), pb.NDArray_DTYPE_INT32, a)
	case []uint64:
		src = same[E](a.GetUint64Values(), pb.NDArray_DTYPE_UINT64, a)
	case []uint32:
		src = same[E](a.GetUint32Values(), pb.NDArray_DTYPE_UINT32, a)
	case []bool:
		src = same[E](a.GetBoolValues(), pb.NDArray_DTYPE_BOOL, a)
	}
	if len(src) == 0 {
		return x, false
	}
	shape, err := n.protoShape(a.GetShape(), len(src))
	if err != nil || n.checkShape(shape, n.rank) != nil {
		return x, false
	}
	// The message belongs to the transport: copy its values.
	return view[T](tensor.Tensor[E]{Data: append([]E(nil), src...), Shape: shape}), true
}

// same returns vals as a []E (E is V) when they are the only values of a and
// its dtype is dt or unspecified; nil otherwise.
func same[E, V any](vals []V, dt pb.NDArray_DType, a *pb.NDArray) []E {
	if len(vals) == 0 || (a.GetDtype() != dt && a.GetDtype() != pb.NDArray_DTYPE_UNSPECIFIED) || protoCount(a) != len(vals) {
		return nil
	}
	return asSlice[E](vals)
}

// protoCount is the number of values in all of a's *_values fields.
func protoCount(a *pb.NDArray) int {
	return len(a.GetFloatValues()) + len(a.GetDoubleValues()) + len(a.GetInt32Values()) + len(a.GetInt64Values()) +
		len(a.GetUint32Values()) + len(a.GetUint64Values()) + len(a.GetBoolValues()) + len(a.GetStringValues())
}

// asSlice views s as a []F; F and E must share a memory layout.
func asSlice[F, E any](s []E) []F {
	return unsafe.Slice((*F)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
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
			if werr == nil {
				buf, werr = k.appendValue(buf, t.Data[idx], n.elem)
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

// appendValue writes one element as JSON.
func (k kern[T, E]) appendValue(b []byte, e E, kind dkind) ([]byte, error) {
	switch v := any(e).(type) {
	case float64:
		return appendJSONFloat(b, v, 64)
	case float32:
		return appendJSONFloat(b, float64(v), 32)
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	}
	return appendJSONScalar(b, k.to(e), kind)
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

// Package ndarray is the NDArray descriptor, BentoML's NumpyNdarray: a
// nested Go slice ([]float64, [][]float32, ...) as a JSON nested array or
// the `ndarray` field of a bentoml.grpc.v1 message.
//
// A Codec is compiled once per T when it is declared: the element type, the
// rank and the kernel that moves values between the wire and a
// tensor.Tensor are chosen then, so requests run without reflection.
// Requests are parsed straight into the tensor's flat data, which the
// value of T then views without a copy.
package ndarray

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// Options configures a Codec. The zero value declares nothing: T alone
// decides the element type and any shape of T's depth is accepted.
type Options struct {
	// Shape, when ShapeSet, is the enforced shape; -1 matches any size.
	Shape    []int
	ShapeSet bool
	// DType, when DTypeSet, is the enforced numpy dtype name.
	DType    string
	DTypeSet bool
}

// maxRank is the deepest nesting NDArray supports.
const maxRank = 4

// maxEmptyRows bounds the rows built for a gRPC shape whose product is 0
// (e.g. [1000000000, 0]), which would otherwise cost memory for nothing.
const maxEmptyRows = 1 << 16

// Codec is the NDArray codec for T.
type Codec[T any] struct {
	opts  Options
	err   error  // configuration error, reported by Validate
	name  string // T, for messages
	rank  int    // nesting depth of T
	elem  dkind  // T's element kind
	dtype dkind  // declared dtype, or dInvalid
	k     kernel[T]
}

var _ codec.Codec[[]float64] = (*Codec[[]float64])(nil)

// New compiles the NDArray codec for T. An unsupported T or invalid options
// make a codec whose Validate reports the problem and whose every call
// fails with a 500.
func New[T any](opts Options) *Codec[T] {
	n := &Codec[T]{opts: opts}
	n.err = n.setup(reflect.TypeFor[T]())
	return n
}

// setup checks T and the options, and picks the kernel.
func (n *Codec[T]) setup(typ reflect.Type) error {
	n.name = fmt.Sprint(typ)
	t := typ
	for t != nil && t.Kind() == reflect.Slice && n.rank <= maxRank {
		n.rank++
		t = t.Elem()
	}
	switch {
	case n.rank == 0:
		return fmt.Errorf("NDArray[%v]: the type must be a slice such as []float64 or [][]float32", typ)
	case n.rank > maxRank:
		return fmt.Errorf("NDArray[%v]: at most %d nested slices are supported", typ, maxRank)
	}
	n.elem = kindOfGo(t.Kind())
	if n.elem == dInvalid {
		return fmt.Errorf("NDArray[%v]: element type %v is not an integer, float or bool type", typ, t)
	}
	if n.opts.DTypeSet {
		k, ok := dtypeByName[n.opts.DType]
		if !ok {
			return fmt.Errorf("NDArray[%v]: unknown DType %q; use one of float32, float64, int32, int64, uint32, uint64, bool", typ, n.opts.DType)
		}
		if (k == dBool) != (n.elem == dBool) {
			return fmt.Errorf("NDArray[%v]: DType %q does not fit element type %v", typ, n.opts.DType, t)
		}
		n.dtype = k
	}
	if n.opts.ShapeSet {
		if len(n.opts.Shape) != n.rank {
			return fmt.Errorf("NDArray[%v]: Shape%v has %d dimensions but the type has %d", typ, n.opts.Shape, len(n.opts.Shape), n.rank)
		}
		for i, d := range n.opts.Shape {
			if d == 0 || d < -1 {
				return fmt.Errorf("NDArray[%v]: Shape dimension %d is %d; use a positive size or -1 for any", typ, i, d)
			}
		}
	}
	n.k = kernelFor[T](t.Kind())
	return nil
}

// Validate reports a misconfigured descriptor.
func (n *Codec[T]) Validate() error { return n.err }

// broken is the error every call returns when the descriptor is invalid.
func (n *Codec[T]) broken() error {
	return codec.Internalf("the NDArray descriptor is misconfigured: %v", n.err)
}

// valueKind is the dtype values are checked against and sent as.
func (n *Codec[T]) valueKind() dkind {
	if n.dtype != dInvalid {
		return n.dtype
	}
	return n.elem
}

// Spec describes the NumpyNdarray descriptor.
func (n *Codec[T]) Spec() iospec.Spec {
	attrs := map[string]any{
		"dtype":         nil,
		"shape":         nil,
		"enforce_dtype": n.opts.DTypeSet,
		"enforce_shape": n.opts.ShapeSet,
	}
	if n.err == nil {
		attrs["dtype"] = n.valueKind().String()
	}
	if n.opts.ShapeSet {
		dims := make([]any, len(n.opts.Shape))
		for i, d := range n.opts.Shape {
			dims[i] = d
		}
		attrs["shape"] = dims
	}
	return iospec.Spec{
		ID:           "bentoml.io.NumpyNdarray",
		MediaTypes:   []string{"application/json"},
		ResponseType: "application/json",
		Schema:       n.schema(),
		Attributes:   attrs,
		ProtoField:   "ndarray",
		Example:      n.example(),
	}
}

func (n *Codec[T]) schema() map[string]any {
	if n.err != nil {
		return map[string]any{}
	}
	var s map[string]any
	switch n.elem.class() {
	case cFloat:
		s = map[string]any{"type": "number"}
	case cBool:
		s = map[string]any{"type": "boolean"}
	default:
		s = map[string]any{"type": "integer"}
	}
	for i := n.rank - 1; i >= 0; i-- {
		s = map[string]any{"type": "array", "items": s}
		if n.opts.ShapeSet && n.opts.Shape[i] > 0 {
			s["minItems"] = n.opts.Shape[i]
			s["maxItems"] = n.opts.Shape[i]
		}
	}
	return s
}

// example is a request body of the right depth (and declared shape).
func (n *Codec[T]) example() string {
	if n.err != nil {
		return ""
	}
	shape := make([]int, n.rank)
	for i := range shape {
		shape[i] = 1
	}
	shape[n.rank-1] = 3
	if n.opts.ShapeSet {
		for i, d := range n.opts.Shape {
			if d > 0 && d <= 8 {
				shape[i] = d
			}
		}
	}
	var b strings.Builder
	count := 0
	var walk func(depth int)
	walk = func(depth int) {
		b.WriteByte('[')
		for i := range shape[depth] {
			if i > 0 {
				b.WriteByte(',')
			}
			if depth < n.rank-1 {
				walk(depth + 1)
				continue
			}
			count++
			switch n.elem.class() {
			case cFloat:
				fmt.Fprintf(&b, "%d.5", count%10)
			case cBool:
				b.WriteString(strconv.FormatBool(count%2 == 1))
			default:
				b.WriteString(strconv.Itoa(count % 10))
			}
		}
		b.WriteByte(']')
	}
	walk(0)
	return b.String()
}

// check converts s to the element type's class and checks it against the
// declared dtype. The error describes the problem for a client.
func (n *Codec[T]) check(s scalar) (scalar, error) {
	x, err := convert(s, n.elem)
	if err != nil {
		return x, valueError(s, n.elem)
	}
	if n.dtype != dInvalid && n.dtype != n.elem {
		if _, err := convert(s, n.dtype); err != nil {
			return x, valueError(s, n.dtype)
		}
	}
	return x, nil
}

func valueError(s scalar, k dkind) error {
	if (s.c == cBool) != (k == dBool) {
		if k == dBool {
			return fmt.Errorf("expected a boolean, got the number %s", codec.Truncate(s.String(), 40))
		}
		return fmt.Errorf("expected a number, got the boolean %v", s.b)
	}
	return fmt.Errorf("value %s is not representable as %s", codec.Truncate(s.String(), 40), k)
}

// checkShape enforces the declared shape; known says how many leading
// dimensions are known (the rest lie below an empty list).
func (n *Codec[T]) checkShape(shape []int, known int) error {
	if !n.opts.ShapeSet {
		return nil
	}
	for i, d := range n.opts.Shape {
		if i >= known {
			break
		}
		if d != -1 && shape[i] != d {
			return fmt.Errorf("array shape %s does not match the expected shape %s", fmtShape(shape[:known], n.rank), fmtShape(n.opts.Shape, n.rank))
		}
	}
	return nil
}

// estimateValues returns an upper bound of the values in a request body
// worth reserving room for: one more than its commas. Under MaxItems the
// bound is MaxItems times the declared size of an item, and nothing when
// that size is not declared: a body far over the limit must not make the
// server reserve room for all of it.
func (n *Codec[T]) estimateValues(p iospec.Payload) int {
	if len(p.Body) < 4096 {
		return 0 // small: growing costs less than counting
	}
	est := bytes.Count(p.Body, []byte{','}) + 1
	if p.MaxItems <= 0 {
		return est
	}
	per := 1
	for _, d := range n.opts.Shape[min(1, len(n.opts.Shape)):] {
		if d <= 0 {
			return 0
		}
		per *= d
	}
	if len(n.opts.Shape) == 0 && n.rank > 1 {
		return 0
	}
	return min(est, p.MaxItems*per)
}

// ItemCount returns the number of items (the first dimension) of x.
func (n *Codec[T]) ItemCount(x T) int { return itemCount(&x) }

// ---- HTTP ---------------------------------------------------------------------

// DecodeHTTP parses a JSON nested array as deep as T.
func (n *Codec[T]) DecodeHTTP(p iospec.Payload) (T, error) {
	var zero T
	if !codec.JSONMediaOK(p.ContentType) {
		return zero, codec.ErrNotJSONMedia(p.ContentType)
	}
	if n.err != nil {
		return zero, n.broken()
	}
	return n.k.decodeJSON(n, p)
}

// parse runs the JSON parser over p, handing every value to add, and
// returns the shape. A failure is the client's error.
func (n *Codec[T]) parse(p iospec.Payload, add func(scalar) error) ([]int, error) {
	ps := ndParser{data: p.Body, n: n.rank, shape: make([]int, n.rank), add: add, maxItems: p.MaxItems}
	for i := range ps.shape {
		ps.shape[i] = -1
	}
	ps.needInt = n.elem.class() == cInt || n.elem.class() == cUint ||
		n.dtype.class() == cInt || n.dtype.class() == cUint
	ps.skipSpace()
	if ps.pos >= len(ps.data) {
		return nil, codec.BadInputf("Invalid NDArray input: the request body is empty; expected a JSON array")
	}
	if ps.data[ps.pos] != '[' {
		return nil, codec.BadInputf("Invalid NDArray input: expected a JSON array nested %d deep (a %d-dimensional array)", n.rank, n.rank)
	}
	if err := ps.array(0); err != nil {
		if errors.Is(err, codec.ErrTooManyItems) {
			return nil, codec.TooManyItems(p.MaxItems)
		}
		return nil, codec.BadInputf("Invalid NDArray input: %v", err)
	}
	ps.skipSpace()
	if ps.pos != len(ps.data) {
		return nil, codec.BadInputf("Invalid NDArray input: unexpected data after the JSON array at offset %d", ps.pos)
	}
	known := 0
	for known < n.rank && ps.shape[known] >= 0 {
		known++
	}
	for i := known; i < n.rank; i++ {
		ps.shape[i] = 0
	}
	if err := n.checkShape(ps.shape, known); err != nil {
		return nil, codec.BadInputf("Invalid NDArray input: %v", err)
	}
	return ps.shape, nil
}

// EncodeHTTP writes x as a compact JSON nested array. A ragged x, a value
// that breaks the declared shape or dtype, or NaN/Inf is an error (a 500).
func (n *Codec[T]) EncodeHTTP(x T) (iospec.Payload, error) {
	if n.err != nil {
		return iospec.Payload{}, n.broken()
	}
	b, err := n.k.encodeJSON(n, x)
	if err != nil {
		return iospec.Payload{}, err
	}
	return iospec.Payload{ContentType: "application/json", Body: b}, nil
}

// resultError wraps a problem with a result.
func resultError(err error) error { return fmt.Errorf("bento: NDArray result: %w", err) }

// ---- gRPC ---------------------------------------------------------------------

// DecodeProto reads the `ndarray` field: the *_values field matching dtype,
// shaped by shape.
func (n *Codec[T]) DecodeProto(v codec.Value) (T, error) {
	var zero T
	if n.err != nil {
		return zero, n.broken()
	}
	return n.k.decodeProto(n, v.NDArray)
}

// readProto hands every value of a to add, checking that floats are
// finite, and returns the checked shape of count values.
func (n *Codec[T]) readProto(a *pb.NDArray, add func(scalar) error) ([]int, error) {
	field, err := protoValuesField(a)
	if err != nil {
		return nil, err
	}
	put := func(i int, s scalar) error {
		// JSON cannot carry NaN or ±Inf, so neither can an HTTP request;
		// gRPC input is held to the same rule, so a model never sees them
		// from one protocol only (and results stay encodable).
		if s.c == cFloat && (math.IsNaN(s.f) || math.IsInf(s.f, 0)) {
			return codec.BadInputf("Invalid NDArray input: %s[%d] is %v; NaN and infinities are not accepted", field, i, s.f)
		}
		if err := add(s); err != nil {
			return codec.BadInputf("Invalid NDArray input: %s[%d]: %v", field, i, err)
		}
		return nil
	}
	count := 0
	switch field {
	case "float_values":
		for i, x := range a.GetFloatValues() {
			if err := put(i, scalar{c: cFloat, f: float64(x)}); err != nil {
				return nil, err
			}
		}
		count = len(a.GetFloatValues())
	case "double_values":
		for i, x := range a.GetDoubleValues() {
			if err := put(i, scalar{c: cFloat, f: x}); err != nil {
				return nil, err
			}
		}
		count = len(a.GetDoubleValues())
	case "int32_values":
		for i, x := range a.GetInt32Values() {
			if err := put(i, scalar{c: cInt, i: int64(x)}); err != nil {
				return nil, err
			}
		}
		count = len(a.GetInt32Values())
	case "int64_values":
		for i, x := range a.GetInt64Values() {
			if err := put(i, scalar{c: cInt, i: x}); err != nil {
				return nil, err
			}
		}
		count = len(a.GetInt64Values())
	case "uint32_values":
		for i, x := range a.GetUint32Values() {
			if err := put(i, scalar{c: cUint, u: uint64(x)}); err != nil {
				return nil, err
			}
		}
		count = len(a.GetUint32Values())
	case "uint64_values":
		for i, x := range a.GetUint64Values() {
			if err := put(i, scalar{c: cUint, u: x}); err != nil {
				return nil, err
			}
		}
		count = len(a.GetUint64Values())
	case "bool_values":
		for i, x := range a.GetBoolValues() {
			if err := put(i, scalar{c: cBool, b: x}); err != nil {
				return nil, err
			}
		}
		count = len(a.GetBoolValues())
	}
	shape, err := n.protoShape(a.GetShape(), count)
	if err != nil {
		return nil, err
	}
	if err := n.checkShape(shape, n.rank); err != nil {
		return nil, codec.BadInputf("Invalid NDArray input: %v", err)
	}
	return shape, nil
}

// protoShape checks a gRPC shape against the number of values and T's rank.
func (n *Codec[T]) protoShape(dims []int32, count int) ([]int, error) {
	if len(dims) == 0 {
		if n.rank != 1 {
			return nil, codec.BadInputf("Invalid NDArray input: shape is empty, so the %d values form a 1-dimensional array, but a %d-dimensional array is expected", count, n.rank)
		}
		return []int{count}, nil
	}
	if len(dims) != n.rank {
		return nil, codec.BadInputf("Invalid NDArray input: shape has %d dimensions but a %d-dimensional array is expected", len(dims), n.rank)
	}
	shape := make([]int, len(dims))
	product, rows, zero := 1, 1, false
	for i, d := range dims {
		if d < 0 {
			return nil, codec.BadInputf("Invalid NDArray input: shape dimension %d is negative (%d)", i, d)
		}
		shape[i] = int(d)
		if d == 0 {
			zero = true
		}
		if !zero && i < len(dims)-1 {
			rows *= int(d)
			if rows > maxEmptyRows && rows > count {
				return nil, codec.BadInputf("Invalid NDArray input: shape %s does not match the %d values given", fmtInt32Shape(dims), count)
			}
		}
		if product <= count {
			product *= int(d)
		}
	}
	if zero {
		product = 0
	}
	if product != count {
		return nil, codec.BadInputf("Invalid NDArray input: shape %s holds %s values but %d are given", fmtInt32Shape(dims), productString(dims), count)
	}
	return shape, nil
}

// EncodeProto sends x flat with its shape, in the *_values field of the
// declared dtype or of T's element type.
func (n *Codec[T]) EncodeProto(x T) (codec.Value, error) {
	if n.err != nil {
		return codec.Value{}, n.broken()
	}
	a, err := n.k.encodeProto(n, x)
	if err != nil {
		return codec.Value{}, err
	}
	return codec.Value{Field: "ndarray", NDArray: a}, nil
}

// protoArray makes the message for a result of the given shape, checking
// that gRPC can carry its dimensions.
func (n *Codec[T]) protoArray(shape []int) (*pb.NDArray, dkind, error) {
	k := n.valueKind()
	a := &pb.NDArray{Dtype: protoDType(k), Shape: make([]int32, len(shape))}
	for i, d := range shape {
		if d > math.MaxInt32 {
			return nil, k, fmt.Errorf("bento: NDArray result dimension %d is too large for gRPC (%d)", i, d)
		}
		a.Shape[i] = int32(d)
	}
	return a, k, nil
}

// appendProto appends s, already converted to k, to a's values field.
func appendProto(a *pb.NDArray, s scalar) {
	switch a.Dtype {
	case pb.NDArray_DTYPE_FLOAT:
		a.FloatValues = append(a.FloatValues, float32(s.f))
	case pb.NDArray_DTYPE_DOUBLE:
		a.DoubleValues = append(a.DoubleValues, s.f)
	case pb.NDArray_DTYPE_INT32:
		a.Int32Values = append(a.Int32Values, int32(s.i))
	case pb.NDArray_DTYPE_INT64:
		a.Int64Values = append(a.Int64Values, s.i)
	case pb.NDArray_DTYPE_UINT32:
		a.Uint32Values = append(a.Uint32Values, uint32(s.u))
	case pb.NDArray_DTYPE_UINT64:
		a.Uint64Values = append(a.Uint64Values, s.u)
	case pb.NDArray_DTYPE_BOOL:
		a.BoolValues = append(a.BoolValues, s.b)
	}
}

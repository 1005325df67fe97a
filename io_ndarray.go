package bento

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// NDArrayOption configures an [NDArray] descriptor.
type NDArrayOption func(*ndarrayOptions)

type ndarrayOptions struct {
	shape    []int
	shapeSet bool
	dtype    string
	dtypeSet bool
}

// Shape declares and enforces the array's shape: a request (or a result)
// whose shape differs is rejected with a 400 (a 500 for results). A
// dimension of -1 matches any size. The number of dimensions must equal the
// nesting depth of the descriptor's type, and every dimension must be
// positive or -1; mistakes are reported when the service starts.
func Shape(dims ...int) NDArrayOption {
	return func(o *ndarrayOptions) {
		o.shape = append([]int(nil), dims...)
		o.shapeSet = true
	}
}

// DType declares and enforces the array's element type, by its numpy name:
// float32, float64, int32, int64, uint32, uint64 or bool. Every value must
// be representable in it: 1.5 is rejected for int64 and 1e39 for float32
// (400 for requests, 500 for results). Over gRPC, results are sent in the
// matching *_values field. Without DType, the element type of the Go slice
// decides.
func DType(name string) NDArrayOption {
	return func(o *ndarrayOptions) {
		o.dtype = name
		o.dtypeSet = true
	}
}

// dkind is an element type the NDArray descriptor knows.
type dkind uint8

const (
	dInvalid dkind = iota
	dFloat32
	dFloat64
	dInt8
	dInt16
	dInt32
	dInt64
	dUint8
	dUint16
	dUint32
	dUint64
	dBool
)

var dkindNames = [...]string{
	dInvalid: "invalid", dFloat32: "float32", dFloat64: "float64",
	dInt8: "int8", dInt16: "int16", dInt32: "int32", dInt64: "int64",
	dUint8: "uint8", dUint16: "uint16", dUint32: "uint32", dUint64: "uint64",
	dBool: "bool",
}

func (k dkind) String() string { return dkindNames[k] }

// vclass is how a value is held while decoding: every float kind as
// float64, every signed kind as int64, every unsigned kind as uint64.
type vclass uint8

const (
	cFloat vclass = iota
	cInt
	cUint
	cBool
)

func (k dkind) class() vclass {
	switch k {
	case dFloat32, dFloat64:
		return cFloat
	case dInt8, dInt16, dInt32, dInt64:
		return cInt
	case dUint8, dUint16, dUint32, dUint64:
		return cUint
	}
	return cBool
}

// bits is the width of an integer or float kind.
func (k dkind) bits() int {
	switch k {
	case dInt8, dUint8:
		return 8
	case dInt16, dUint16:
		return 16
	case dInt32, dUint32, dFloat32:
		return 32
	}
	return 64
}

// dtypeByName lists the names DType accepts.
var dtypeByName = map[string]dkind{
	"float32": dFloat32, "float64": dFloat64, "int32": dInt32, "int64": dInt64,
	"uint32": dUint32, "uint64": dUint64, "bool": dBool,
}

// kindOfGo maps a Go element kind to a dkind.
func kindOfGo(k reflect.Kind) dkind {
	switch k {
	case reflect.Float32:
		return dFloat32
	case reflect.Float64:
		return dFloat64
	case reflect.Int8:
		return dInt8
	case reflect.Int16:
		return dInt16
	case reflect.Int32:
		return dInt32
	case reflect.Int64:
		return dInt64
	case reflect.Int:
		if strconv.IntSize == 32 {
			return dInt32
		}
		return dInt64
	case reflect.Uint8:
		return dUint8
	case reflect.Uint16:
		return dUint16
	case reflect.Uint32:
		return dUint32
	case reflect.Uint64:
		return dUint64
	case reflect.Uint:
		if strconv.IntSize == 32 {
			return dUint32
		}
		return dUint64
	case reflect.Bool:
		return dBool
	}
	return dInvalid
}

// protoDType is the gRPC dtype (and *_values field) used for k.
func protoDType(k dkind) pb.NDArray_DType {
	switch k {
	case dFloat32:
		return pb.NDArray_DTYPE_FLOAT
	case dFloat64:
		return pb.NDArray_DTYPE_DOUBLE
	case dInt8, dInt16, dInt32:
		return pb.NDArray_DTYPE_INT32
	case dInt64:
		return pb.NDArray_DTYPE_INT64
	case dUint8, dUint16, dUint32:
		return pb.NDArray_DTYPE_UINT32
	case dUint64:
		return pb.NDArray_DTYPE_UINT64
	case dBool:
		return pb.NDArray_DTYPE_BOOL
	}
	return pb.NDArray_DTYPE_UNSPECIFIED
}

// maxNDArrayRank is the deepest nesting NDArray supports.
const maxNDArrayRank = 4

// maxEmptyRows bounds the rows built for a gRPC shape whose product is 0
// (e.g. [1000000000, 0]), which would otherwise cost memory for nothing.
const maxEmptyRows = 1 << 16

type ndarrayIO[T any] struct {
	opts  ndarrayOptions
	err   error        // configuration error, reported by validate
	typ   reflect.Type // T
	rank  int          // nesting depth of T
	elem  dkind        // T's element kind
	dtype dkind        // declared dtype, or dInvalid
	types []reflect.Type
}

// NDArray is a descriptor for n-dimensional numeric arrays, BentoML's
// NumpyNdarray. T is a slice nested one to four levels deep whose element
// is a Go integer, float or bool type: []float64, [][]float32,
// [][][]uint8, []bool, ... (named slice and element types work too).
//
// Over HTTP, requests are JSON nested arrays; Content-Types are handled as
// by [JSON] (a declared type JSON cannot be is a 415). The array must be rectangular and as deep as T; numbers must fit
// T's element type (and the [DType], if given) exactly, so 1.5 is rejected
// for an integer element and 300 for uint8. Such requests are a 400 naming
// the problem. Responses are compact JSON (application/json); a ragged
// result, or NaN/Inf (which JSON cannot express), is a 500.
//
// Over gRPC it maps to the `ndarray` field: values are read from the
// *_values field matching dtype (with DTYPE_UNSPECIFIED, exactly one may be
// set) and shaped by `shape`, whose product must equal the number of values
// (an empty shape means a flat array). Results are sent flat with their
// shape, in the field matching the element type (float64 → double_values,
// float32 → float_values, int/int64 → int64_values, smaller integers →
// int32_values or uint32_values) or the declared [DType].
//
// An unsupported T or invalid options are reported when the service starts.
func NDArray[T any](opts ...NDArrayOption) IO[T] {
	n := &ndarrayIO[T]{typ: reflect.TypeFor[T]()}
	for _, o := range opts {
		o(&n.opts)
	}
	n.err = n.setup()
	return ioOf[T](n)
}

// setup checks T and the options.
func (n *ndarrayIO[T]) setup() error {
	t := n.typ
	for t != nil && t.Kind() == reflect.Slice && n.rank <= maxNDArrayRank {
		n.types = append(n.types, t)
		n.rank++
		t = t.Elem()
	}
	switch {
	case n.rank == 0:
		return fmt.Errorf("NDArray[%v]: the type must be a slice such as []float64 or [][]float32", n.typ)
	case n.rank > maxNDArrayRank:
		return fmt.Errorf("NDArray[%v]: at most %d nested slices are supported", n.typ, maxNDArrayRank)
	}
	n.elem = kindOfGo(t.Kind())
	if n.elem == dInvalid {
		return fmt.Errorf("NDArray[%v]: element type %v is not an integer, float or bool type", n.typ, t)
	}
	if n.opts.dtypeSet {
		k, ok := dtypeByName[n.opts.dtype]
		if !ok {
			return fmt.Errorf("NDArray[%v]: unknown DType %q; use one of float32, float64, int32, int64, uint32, uint64, bool", n.typ, n.opts.dtype)
		}
		if (k == dBool) != (n.elem == dBool) {
			return fmt.Errorf("NDArray[%v]: DType %q does not fit element type %v", n.typ, n.opts.dtype, t)
		}
		n.dtype = k
	}
	if n.opts.shapeSet {
		if len(n.opts.shape) != n.rank {
			return fmt.Errorf("NDArray[%v]: Shape%v has %d dimensions but the type has %d", n.typ, n.opts.shape, len(n.opts.shape), n.rank)
		}
		for i, d := range n.opts.shape {
			if d == 0 || d < -1 {
				return fmt.Errorf("NDArray[%v]: Shape dimension %d is %d; use a positive size or -1 for any", n.typ, i, d)
			}
		}
	}
	return nil
}

// validate reports a misconfigured descriptor (see validator).
func (n *ndarrayIO[T]) Validate() error { return n.err }

// broken is the error every call returns when the descriptor is invalid.
func (n *ndarrayIO[T]) broken() error {
	return codec.Internalf("the NDArray descriptor is misconfigured: %v", n.err)
}

// valueKind is the dtype values are checked against and sent as.
func (n *ndarrayIO[T]) valueKind() dkind {
	if n.dtype != dInvalid {
		return n.dtype
	}
	return n.elem
}

func (n *ndarrayIO[T]) Spec() iospec.Spec {
	attrs := map[string]any{
		"dtype":         nil,
		"shape":         nil,
		"enforce_dtype": n.opts.dtypeSet,
		"enforce_shape": n.opts.shapeSet,
	}
	if n.err == nil {
		attrs["dtype"] = n.valueKind().String()
	}
	if n.opts.shapeSet {
		dims := make([]any, len(n.opts.shape))
		for i, d := range n.opts.shape {
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

func (n *ndarrayIO[T]) schema() map[string]any {
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
		if n.opts.shapeSet && n.opts.shape[i] > 0 {
			s["minItems"] = n.opts.shape[i]
			s["maxItems"] = n.opts.shape[i]
		}
	}
	return s
}

// example is a request body of the right depth (and declared shape).
func (n *ndarrayIO[T]) example() string {
	if n.err != nil {
		return ""
	}
	shape := make([]int, n.rank)
	for i := range shape {
		shape[i] = 1
	}
	shape[n.rank-1] = 3
	if n.opts.shapeSet {
		for i, d := range n.opts.shape {
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

// ---- values -------------------------------------------------------------------

// scalar is one decoded value before it is stored.
type scalar struct {
	c vclass
	i int64
	u uint64
	f float64
	b bool
	// noInt marks a float parsed from JSON text that is not an integer
	// within the uint64 or int64 range (f may still look integral after
	// rounding, e.g. -9223372036854775809 or 1.0000000000000000001).
	noInt bool
}

func (s scalar) String() string {
	switch s.c {
	case cFloat:
		return strconv.FormatFloat(s.f, 'g', -1, 64)
	case cInt:
		return strconv.FormatInt(s.i, 10)
	case cUint:
		return strconv.FormatUint(s.u, 10)
	}
	return strconv.FormatBool(s.b)
}

var errNotRepresentable = errors.New("not representable")

// convert returns s held in k's class, or an error when k cannot represent
// s exactly (floats may be rounded, but not overflow).
func convert(s scalar, k dkind) (scalar, error) {
	switch k.class() {
	case cBool:
		if s.c != cBool {
			return s, errNotRepresentable
		}
		return s, nil
	case cFloat:
		var f float64
		switch s.c {
		case cFloat:
			f = s.f
		case cInt:
			f = float64(s.i)
		case cUint:
			f = float64(s.u)
		default:
			return s, errNotRepresentable
		}
		if k == dFloat32 && !math.IsInf(f, 0) && math.IsInf(float64(float32(f)), 0) {
			return s, errNotRepresentable
		}
		return scalar{c: cFloat, f: f}, nil
	case cInt:
		var v int64
		switch s.c {
		case cInt:
			v = s.i
		case cUint:
			if s.u > math.MaxInt64 {
				return s, errNotRepresentable
			}
			v = int64(s.u)
		case cFloat:
			if s.noInt || s.f != math.Trunc(s.f) || s.f < -(1<<63) || s.f >= 1<<63 {
				return s, errNotRepresentable // also NaN and ±Inf
			}
			v = int64(s.f)
		default:
			return s, errNotRepresentable
		}
		if bits := k.bits(); bits < 64 && (v < -(1<<(bits-1)) || v >= 1<<(bits-1)) {
			return s, errNotRepresentable
		}
		return scalar{c: cInt, i: v}, nil
	default: // cUint
		var v uint64
		switch s.c {
		case cUint:
			v = s.u
		case cInt:
			if s.i < 0 {
				return s, errNotRepresentable
			}
			v = uint64(s.i)
		case cFloat:
			if s.noInt || s.f != math.Trunc(s.f) || s.f < 0 || s.f >= 1<<64 {
				return s, errNotRepresentable
			}
			v = uint64(s.f)
		default:
			return s, errNotRepresentable
		}
		if bits := k.bits(); bits < 64 && v >= 1<<bits {
			return s, errNotRepresentable
		}
		return scalar{c: cUint, u: v}, nil
	}
}

// ndValues holds an array's elements flat, in row-major order.
type ndValues struct {
	c vclass
	f []float64
	i []int64
	u []uint64
	b []bool
}

func (v *ndValues) len() int {
	switch v.c {
	case cFloat:
		return len(v.f)
	case cInt:
		return len(v.i)
	case cUint:
		return len(v.u)
	}
	return len(v.b)
}

func (v *ndValues) at(i int) scalar {
	switch v.c {
	case cFloat:
		return scalar{c: cFloat, f: v.f[i]}
	case cInt:
		return scalar{c: cInt, i: v.i[i]}
	case cUint:
		return scalar{c: cUint, u: v.u[i]}
	}
	return scalar{c: cBool, b: v.b[i]}
}

// reserve makes room for n values, so that a large array is parsed
// without growing (and copying) its buffer again and again.
func (v *ndValues) reserve(n int) {
	if n <= 0 {
		return
	}
	switch v.c {
	case cFloat:
		v.f = make([]float64, 0, n)
	case cInt:
		v.i = make([]int64, 0, n)
	case cUint:
		v.u = make([]uint64, 0, n)
	default:
		v.b = make([]bool, 0, n)
	}
}

// estimateValues returns an upper bound of the values in a request body
// worth reserving room for: one more than its commas. Under MaxItems the
// bound is MaxItems times the declared size of an item, and nothing when
// that size is not declared: a body far over the limit must not make the
// server reserve room for all of it.
func (n *ndarrayIO[T]) estimateValues(p iospec.Payload) int {
	if len(p.Body) < 4096 {
		return 0 // small: growing costs less than counting
	}
	est := bytes.Count(p.Body, []byte{','}) + 1
	if p.MaxItems <= 0 {
		return est
	}
	per := 1
	for _, d := range n.opts.shape[min(1, len(n.opts.shape)):] {
		if d <= 0 {
			return 0
		}
		per *= d
	}
	if len(n.opts.shape) == 0 && n.rank > 1 {
		return 0
	}
	return min(est, p.MaxItems*per)
}

// push appends s, which must already be in v's class.
func (v *ndValues) push(s scalar) {
	switch v.c {
	case cFloat:
		v.f = append(v.f, s.f)
	case cInt:
		v.i = append(v.i, s.i)
	case cUint:
		v.u = append(v.u, s.u)
	default:
		v.b = append(v.b, s.b)
	}
}

// add converts s to the element type, checks it against the declared
// dtype, and appends it. The error describes the problem for a client.
func (n *ndarrayIO[T]) add(v *ndValues, s scalar) error {
	x, err := convert(s, n.elem)
	if err != nil {
		return n.valueError(s, n.elem)
	}
	if n.dtype != dInvalid && n.dtype != n.elem {
		if _, err := convert(s, n.dtype); err != nil {
			return n.valueError(s, n.dtype)
		}
	}
	v.push(x)
	return nil
}

func (n *ndarrayIO[T]) valueError(s scalar, k dkind) error {
	if (s.c == cBool) != (k == dBool) {
		if k == dBool {
			return fmt.Errorf("expected a boolean, got the number %s", codec.Truncate(s.String(), 40))
		}
		return fmt.Errorf("expected a number, got the boolean %v", s.b)
	}
	return fmt.Errorf("value %s is not representable as %s", codec.Truncate(s.String(), 40), k)
}

// ---- shape --------------------------------------------------------------------

// checkShape enforces the declared shape; known says how many leading
// dimensions are known (the rest lie below an empty list).
func (n *ndarrayIO[T]) checkShape(shape []int, known int) error {
	if !n.opts.shapeSet {
		return nil
	}
	for i, d := range n.opts.shape {
		if i >= known {
			break
		}
		if d != -1 && shape[i] != d {
			return fmt.Errorf("array shape %s does not match the expected shape %s", fmtShape(shape[:known], n.rank), fmtShape(n.opts.shape, n.rank))
		}
	}
	return nil
}

// fmtShape writes a shape the numpy way, with ? for unknown dimensions.
func fmtShape(shape []int, rank int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := range rank {
		if i > 0 {
			b.WriteString(", ")
		}
		if i < len(shape) {
			b.WriteString(strconv.Itoa(shape[i]))
		} else {
			b.WriteByte('?')
		}
	}
	if rank == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// ---- building T ---------------------------------------------------------------

// build makes a T of the given shape from flat values. The innermost rows
// share one backing array.
func (n *ndarrayIO[T]) build(v *ndValues, shape []int) T {
	flat := n.makeFlat(v)
	if n.rank == 1 {
		return flat.Interface().(T)
	}
	if n.rank == 2 {
		if x, ok := rows2[T](flat.Interface(), shape[0], shape[1]); ok {
			return x
		}
	}
	off := 0
	var level func(depth int) reflect.Value
	level = func(depth int) reflect.Value {
		s := reflect.MakeSlice(n.types[depth], shape[depth], shape[depth])
		for i := range shape[depth] {
			if depth == n.rank-2 {
				d := shape[n.rank-1]
				s.Index(i).Set(flat.Slice3(off, off+d, off+d))
				off += d
				continue
			}
			s.Index(i).Set(level(depth + 1))
		}
		return s
	}
	return level(0).Interface().(T)
}

// rows2 builds the common matrices ([][]float64, [][]float32, [][]int64,
// [][]int, [][]int32, [][]uint8, [][]bool) of n rows of d values over
// flat without reflection, which would allocate a header for every row;
// ok is false for other types, named ones included.
func rows2[T any](flat any, n, d int) (x T, ok bool) {
	switch f := flat.(type) {
	case []float64:
		x, ok = any(splitRows(f, n, d)).(T)
	case []float32:
		x, ok = any(splitRows(f, n, d)).(T)
	case []int64:
		x, ok = any(splitRows(f, n, d)).(T)
	case []int:
		x, ok = any(splitRows(f, n, d)).(T)
	case []int32:
		x, ok = any(splitRows(f, n, d)).(T)
	case []uint8:
		x, ok = any(splitRows(f, n, d)).(T)
	case []bool:
		x, ok = any(splitRows(f, n, d)).(T)
	}
	return x, ok
}

// splitRows slices flat into n rows of d, each capped at its end.
func splitRows[E any](flat []E, n, d int) [][]E {
	out := make([][]E, n)
	for i := range out {
		out[i] = flat[i*d : (i+1)*d : (i+1)*d]
	}
	return out
}

// makeFlat converts the values to a slice of the innermost slice type.
func (n *ndarrayIO[T]) makeFlat(v *ndValues) reflect.Value {
	t := n.types[n.rank-1]
	// Where the parsed values already have the innermost type, they are
	// the array: no second copy.
	switch {
	case v.len() == 0: // make a non-nil empty slice below
	case v.c == cFloat && t == reflect.TypeFor[[]float64]():
		return reflect.ValueOf(slices.Clip(v.f))
	case v.c == cInt && t == reflect.TypeFor[[]int64]():
		return reflect.ValueOf(slices.Clip(v.i))
	case v.c == cUint && t == reflect.TypeFor[[]uint64]():
		return reflect.ValueOf(slices.Clip(v.u))
	case v.c == cBool && t == reflect.TypeFor[[]bool]():
		return reflect.ValueOf(slices.Clip(v.b))
	}
	cnt := v.len()
	flat := reflect.MakeSlice(t, cnt, cnt)
	switch dst := flat.Interface().(type) {
	case []float64:
		copy(dst, v.f)
	case []float32:
		for i, x := range v.f {
			dst[i] = float32(x)
		}
	case []int64:
		copy(dst, v.i)
	case []int:
		for i, x := range v.i {
			dst[i] = int(x)
		}
	case []int32:
		for i, x := range v.i {
			dst[i] = int32(x)
		}
	case []uint64:
		copy(dst, v.u)
	case []uint8:
		for i, x := range v.u {
			dst[i] = uint8(x)
		}
	case []bool:
		copy(dst, v.b)
	default:
		for i := range cnt {
			e := flat.Index(i)
			switch v.c {
			case cFloat:
				e.SetFloat(v.f[i])
			case cInt:
				e.SetInt(v.i[i])
			case cUint:
				e.SetUint(v.u[i])
			default:
				e.SetBool(v.b[i])
			}
		}
	}
	return flat
}

// flatten reads a T into flat values and its shape; known is the number of
// leading dimensions that are known (a dimension below an empty list is
// reported as 0 and is unknown). A ragged value is an error.
func (n *ndarrayIO[T]) flatten(x T) (vals *ndValues, shape []int, known int, err error) {
	shape = make([]int, n.rank)
	known = 0
	vals = &ndValues{c: n.elem.class()}
	// Room for every value, from the first list at each depth (exact for a
	// rectangular result).
	est, first := 1, reflect.ValueOf(x)
	for d := range n.rank {
		l := first.Len()
		est *= l
		if l == 0 || d == n.rank-1 {
			break
		}
		first = first.Index(0)
	}
	vals.reserve(est)
	var walk func(v reflect.Value, depth int) error
	walk = func(v reflect.Value, depth int) error {
		l := v.Len()
		if depth >= known {
			shape[depth] = l
			known = depth + 1
		} else if shape[depth] != l {
			return fmt.Errorf("bento: NDArray result is ragged: a list at depth %d has %d items, another %d", depth+1, l, shape[depth])
		}
		if depth == n.rank-1 {
			appendRow(vals, v)
			return nil
		}
		for i := range l {
			if err := walk(v.Index(i), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(reflect.ValueOf(x), 0); err != nil {
		return nil, nil, 0, err
	}
	// Dimensions below an empty list take the declared size, so that the
	// shape sent over gRPC passes the same descriptor's check.
	for i := known; i < n.rank && n.opts.shapeSet; i++ {
		shape[i] = max(n.opts.shape[i], 0)
	}
	return vals, shape, known, nil
}

// appendRow appends the elements of an innermost slice.
func appendRow(vals *ndValues, row reflect.Value) {
	if row.Len() == 0 {
		return
	}
	switch r := row.Interface().(type) {
	case []float64:
		vals.f = append(vals.f, r...)
		return
	case []float32:
		for _, x := range r {
			vals.f = append(vals.f, float64(x))
		}
		return
	case []int64:
		vals.i = append(vals.i, r...)
		return
	case []int:
		for _, x := range r {
			vals.i = append(vals.i, int64(x))
		}
		return
	case []int32:
		for _, x := range r {
			vals.i = append(vals.i, int64(x))
		}
		return
	case []bool:
		vals.b = append(vals.b, r...)
		return
	}
	for i := range row.Len() {
		e := row.Index(i)
		switch vals.c {
		case cFloat:
			vals.f = append(vals.f, e.Float())
		case cInt:
			vals.i = append(vals.i, e.Int())
		case cUint:
			vals.u = append(vals.u, e.Uint())
		default:
			vals.b = append(vals.b, e.Bool())
		}
	}
}

// checkResult applies the declared shape and dtype to a result.
func (n *ndarrayIO[T]) checkResult(vals *ndValues, shape []int, known int) error {
	if err := n.checkShape(shape, known); err != nil {
		return fmt.Errorf("bento: NDArray result: %w", err)
	}
	if n.dtype != dInvalid && n.dtype != n.elem {
		for i := range vals.len() {
			s := vals.at(i)
			if _, err := convert(s, n.dtype); err != nil {
				return fmt.Errorf("bento: NDArray result: value %s is not representable as the declared dtype %s", s, n.dtype)
			}
		}
	}
	return nil
}

// ---- HTTP ---------------------------------------------------------------------

func (n *ndarrayIO[T]) DecodeHTTP(p iospec.Payload) (T, error) {
	var zero T
	if !codec.JSONMediaOK(p.ContentType) {
		return zero, codec.ErrNotJSONMedia(p.ContentType)
	}
	if n.err != nil {
		return zero, n.broken()
	}
	ps := ndParser{data: p.Body, n: n.rank, shape: make([]int, n.rank), vals: &ndValues{c: n.elem.class()}, maxItems: p.MaxItems}
	for i := range ps.shape {
		ps.shape[i] = -1
	}
	ps.vals.reserve(n.estimateValues(p))
	ps.add = func(s scalar) error { return n.add(ps.vals, s) }
	ps.needInt = n.elem.class() == cInt || n.elem.class() == cUint ||
		n.dtype.class() == cInt || n.dtype.class() == cUint
	ps.skipSpace()
	if ps.pos >= len(ps.data) {
		return zero, codec.BadInputf("Invalid NDArray input: the request body is empty; expected a JSON array")
	}
	if ps.data[ps.pos] != '[' {
		return zero, codec.BadInputf("Invalid NDArray input: expected a JSON array nested %d deep (a %d-dimensional array)", n.rank, n.rank)
	}
	if err := ps.array(0); err != nil {
		if errors.Is(err, codec.ErrTooManyItems) {
			return zero, codec.TooManyItems(p.MaxItems)
		}
		return zero, codec.BadInputf("Invalid NDArray input: %v", err)
	}
	ps.skipSpace()
	if ps.pos != len(ps.data) {
		return zero, codec.BadInputf("Invalid NDArray input: unexpected data after the JSON array at offset %d", ps.pos)
	}
	known := 0
	for known < n.rank && ps.shape[known] >= 0 {
		known++
	}
	for i := known; i < n.rank; i++ {
		ps.shape[i] = 0
	}
	if err := n.checkShape(ps.shape, known); err != nil {
		return zero, codec.BadInputf("Invalid NDArray input: %v", err)
	}
	return n.build(ps.vals, ps.shape), nil
}

// ndParser reads a JSON nested array of known depth without building an
// intermediate tree.
type ndParser struct {
	data  []byte
	pos   int
	n     int   // expected depth
	shape []int // discovered dimensions, -1 while unknown
	vals  *ndValues
	add   func(scalar) error
	// needInt is set when values may go to an integer type.
	needInt bool
	// maxItems, when > 0, stops the parse past that many top-level items.
	maxItems int
}

// itemCount returns the number of items (the first dimension) of x.
func (n *ndarrayIO[T]) ItemCount(x T) int { return reflect.ValueOf(x).Len() }

func (ps *ndParser) skipSpace() {
	for ps.pos < len(ps.data) {
		switch ps.data[ps.pos] {
		case ' ', '\t', '\n', '\r':
			ps.pos++
		default:
			return
		}
	}
}

// array reads a list at depth (0-based); ps.pos is at its '['.
func (ps *ndParser) array(depth int) error {
	ps.pos++ // '['
	count := 0
	ps.skipSpace()
	if ps.pos < len(ps.data) && ps.data[ps.pos] == ']' {
		ps.pos++
		return ps.setDim(depth, 0)
	}
	for {
		ps.skipSpace()
		if ps.pos >= len(ps.data) {
			return errors.New("unexpected end of input inside an array")
		}
		c := ps.data[ps.pos]
		if depth < ps.n-1 {
			if c != '[' {
				return fmt.Errorf("expected a list at depth %d (offset %d), got %s: the input must be a %d-dimensional array", depth+2, ps.pos, describeToken(c), ps.n)
			}
			if err := ps.array(depth + 1); err != nil {
				return err
			}
		} else {
			if c == '[' {
				return fmt.Errorf("found a list at depth %d (offset %d): the input must be a %d-dimensional array", depth+2, ps.pos, ps.n)
			}
			s, err := ps.scalar()
			if err != nil {
				return err
			}
			if err := ps.add(s); err != nil {
				return fmt.Errorf("at offset %d: %w", ps.pos, err)
			}
		}
		count++
		if depth == 0 && ps.maxItems > 0 && count > ps.maxItems {
			return codec.ErrTooManyItems
		}
		ps.skipSpace()
		if ps.pos >= len(ps.data) {
			return errors.New("unexpected end of input inside an array")
		}
		switch ps.data[ps.pos] {
		case ',':
			ps.pos++
		case ']':
			ps.pos++
			return ps.setDim(depth, count)
		default:
			return fmt.Errorf("expected ',' or ']' at offset %d, got %s", ps.pos, describeToken(ps.data[ps.pos]))
		}
	}
}

func (ps *ndParser) setDim(depth, count int) error {
	switch ps.shape[depth] {
	case -1:
		ps.shape[depth] = count
	case count:
	default:
		return fmt.Errorf("ragged array: lists at depth %d have %d and %d items; every list at the same depth must have the same length", depth+1, ps.shape[depth], count)
	}
	return nil
}

func describeToken(c byte) string {
	switch {
	case c == '[':
		return "a list"
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return strconv.QuoteRune(rune(c))
}

var (
	tokTrue  = []byte("true")
	tokFalse = []byte("false")
)

// scalar reads a number or boolean.
func (ps *ndParser) scalar() (scalar, error) {
	rest := ps.data[ps.pos:]
	switch {
	case bytes.HasPrefix(rest, tokTrue):
		ps.pos += len(tokTrue)
		return scalar{c: cBool, b: true}, nil
	case bytes.HasPrefix(rest, tokFalse):
		ps.pos += len(tokFalse)
		return scalar{c: cBool, b: false}, nil
	}
	start := ps.pos
	end, isInt := scanNumber(ps.data, start)
	if end == start {
		return scalar{}, fmt.Errorf("expected a number at offset %d, got %s", start, describeToken(ps.data[start]))
	}
	ps.pos = end
	return parseNumber(ps.data[start:end], isInt, ps.needInt)
}

// scanNumber returns the end of the JSON number starting at i (i itself
// when there is none) and whether it has no fraction or exponent.
func scanNumber(b []byte, i int) (end int, isInt bool) {
	start := i
	digits := func() int {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return start, false
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return start, false
		}
		isInt = false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return start, false
		}
		isInt = false
	}
	return i, isInt
}

// parseNumber reads a JSON number token. Integers, including ones written
// with a fraction or exponent such as 2.0 or 1e3, are kept exact; any other
// number is a float that no integer type can hold.
//
// needInt says whether the value may go to an integer type; when it does
// not, numbers written with a fraction or exponent are simply floats. (The
// string conversions below do not allocate: strconv does not keep them.)
func parseNumber(tok []byte, isInt, needInt bool) (scalar, error) {
	// The token is read in place: string(tok) would copy every number of
	// the array to the heap (strconv's errors keep it). The request body
	// outlives the parse and is never written.
	str := unsafe.String(unsafe.SliceData(tok), len(tok))
	if isInt {
		if v, err := strconv.ParseInt(str, 10, 64); err == nil {
			return scalar{c: cInt, i: v}, nil
		}
		if v, err := strconv.ParseUint(str, 10, 64); err == nil {
			return scalar{c: cUint, u: v}, nil
		}
	} else if needInt {
		if s, ok := tokenInteger(str); ok {
			return s, nil
		}
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return scalar{}, fmt.Errorf("number %s is out of range", codec.Truncate(string(tok), 40))
	}
	return scalar{c: cFloat, f: f, noInt: true}, nil
}

// tokenInteger reads a valid JSON number token that has a fraction or an
// exponent as an exact integer, if it is one within the int64 or uint64
// range.
func tokenInteger(tok string) (scalar, bool) {
	neg := tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	mant, exp := tok, 0
	if i := strings.IndexAny(tok, "eE"); i >= 0 {
		mant = tok[:i]
		e, err := strconv.Atoi(tok[i+1:])
		if err != nil || e > 1e6 || e < -1e6 {
			e = 1e6 // absurd exponent: huge, tiny or zero; only zero is an integer
		}
		exp = e
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	digits := intPart + frac
	point := len(intPart) + exp // the decimal point sits before digits[point]
	trimmed := strings.TrimLeft(digits, "0")
	point -= len(digits) - len(trimmed)
	digits = strings.TrimRight(trimmed, "0")
	switch {
	case digits == "":
		return scalar{c: cInt}, true
	case point < len(digits) || point > 20:
		return scalar{}, false // a fraction, or more than 20 digits
	}
	text := digits + strings.Repeat("0", point-len(digits))
	if neg {
		text = "-" + text
	}
	if v, err := strconv.ParseInt(text, 10, 64); err == nil {
		return scalar{c: cInt, i: v}, true
	}
	if v, err := strconv.ParseUint(text, 10, 64); err == nil {
		return scalar{c: cUint, u: v}, true
	}
	return scalar{}, false
}

func (n *ndarrayIO[T]) EncodeHTTP(x T) (iospec.Payload, error) {
	if n.err != nil {
		return iospec.Payload{}, n.broken()
	}
	vals, shape, known, err := n.flatten(x)
	if err != nil {
		return iospec.Payload{}, err
	}
	if err := n.checkResult(vals, shape, known); err != nil {
		return iospec.Payload{}, err
	}
	buf := make([]byte, 0, 2*n.rank+vals.len()*8)
	idx := 0
	var werr error
	var level func(depth int)
	level = func(depth int) {
		buf = append(buf, '[')
		for i := range shape[depth] {
			if i > 0 {
				buf = append(buf, ',')
			}
			if depth < n.rank-1 {
				level(depth + 1)
				continue
			}
			buf, err = appendJSONScalar(buf, vals.at(idx), n.elem)
			if err != nil && werr == nil {
				werr = err
			}
			idx++
		}
		buf = append(buf, ']')
	}
	level(0)
	if werr != nil {
		return iospec.Payload{}, werr
	}
	return iospec.Payload{ContentType: "application/json", Body: buf}, nil
}

// appendJSONScalar writes one value; floats use the shortest form for the
// element's width, as encoding/json does.
func appendJSONScalar(b []byte, s scalar, k dkind) ([]byte, error) {
	switch s.c {
	case cInt:
		return strconv.AppendInt(b, s.i, 10), nil
	case cUint:
		return strconv.AppendUint(b, s.u, 10), nil
	case cBool:
		return strconv.AppendBool(b, s.b), nil
	}
	f := s.f
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("bento: NDArray result contains %v, which JSON cannot represent", f)
	}
	bits := 64
	if k == dFloat32 {
		bits = 32
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		if bits == 64 && (a < 1e-6 || a >= 1e21) || bits == 32 && (float32(a) < 1e-6 || float32(a) >= 1e21) {
			format = 'e'
		}
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// Shorten exponents like e-07 to e-7.
		if n := len(b) - start; n >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
	}
	return b, nil
}

// ---- gRPC ---------------------------------------------------------------------

func (n *ndarrayIO[T]) DecodeProto(v codec.Value) (T, error) {
	var zero T
	if n.err != nil {
		return zero, n.broken()
	}
	a := v.NDArray
	vals := &ndValues{c: n.elem.class()}
	field, err := protoValuesField(a)
	if err != nil {
		return zero, err
	}
	// Read the values, converting each to the element type.
	add := func(i int, s scalar) error {
		// JSON cannot carry NaN or ±Inf, so neither can an HTTP request;
		// gRPC input is held to the same rule, so a model never sees them
		// from one protocol only (and results stay encodable).
		if s.c == cFloat && (math.IsNaN(s.f) || math.IsInf(s.f, 0)) {
			return codec.BadInputf("Invalid NDArray input: %s[%d] is %v; NaN and infinities are not accepted", field, i, s.f)
		}
		if err := n.add(vals, s); err != nil {
			return codec.BadInputf("Invalid NDArray input: %s[%d]: %v", field, i, err)
		}
		return nil
	}
	switch field {
	case "float_values":
		for i, x := range a.GetFloatValues() {
			if err := add(i, scalar{c: cFloat, f: float64(x)}); err != nil {
				return zero, err
			}
		}
	case "double_values":
		for i, x := range a.GetDoubleValues() {
			if err := add(i, scalar{c: cFloat, f: x}); err != nil {
				return zero, err
			}
		}
	case "int32_values":
		for i, x := range a.GetInt32Values() {
			if err := add(i, scalar{c: cInt, i: int64(x)}); err != nil {
				return zero, err
			}
		}
	case "int64_values":
		for i, x := range a.GetInt64Values() {
			if err := add(i, scalar{c: cInt, i: x}); err != nil {
				return zero, err
			}
		}
	case "uint32_values":
		for i, x := range a.GetUint32Values() {
			if err := add(i, scalar{c: cUint, u: uint64(x)}); err != nil {
				return zero, err
			}
		}
	case "uint64_values":
		for i, x := range a.GetUint64Values() {
			if err := add(i, scalar{c: cUint, u: x}); err != nil {
				return zero, err
			}
		}
	case "bool_values":
		for i, x := range a.GetBoolValues() {
			if err := add(i, scalar{c: cBool, b: x}); err != nil {
				return zero, err
			}
		}
	}
	shape, err := n.protoShape(a.GetShape(), vals.len())
	if err != nil {
		return zero, err
	}
	if err := n.checkShape(shape, n.rank); err != nil {
		return zero, codec.BadInputf("Invalid NDArray input: %v", err)
	}
	return n.build(vals, shape), nil
}

// protoValuesField picks the *_values field to read, following the dtype.
func protoValuesField(a *pb.NDArray) (string, error) {
	set := map[pb.NDArray_DType]int{}
	counts := []struct {
		dt pb.NDArray_DType
		n  int
	}{
		{pb.NDArray_DTYPE_FLOAT, len(a.GetFloatValues())},
		{pb.NDArray_DTYPE_DOUBLE, len(a.GetDoubleValues())},
		{pb.NDArray_DTYPE_BOOL, len(a.GetBoolValues())},
		{pb.NDArray_DTYPE_INT32, len(a.GetInt32Values())},
		{pb.NDArray_DTYPE_INT64, len(a.GetInt64Values())},
		{pb.NDArray_DTYPE_UINT32, len(a.GetUint32Values())},
		{pb.NDArray_DTYPE_UINT64, len(a.GetUint64Values())},
		{pb.NDArray_DTYPE_STRING, len(a.GetStringValues())},
	}
	for _, c := range counts {
		if c.n > 0 {
			set[c.dt] = c.n
		}
	}
	dt := a.GetDtype()
	switch {
	case dt == pb.NDArray_DTYPE_STRING || (dt == pb.NDArray_DTYPE_UNSPECIFIED && set[pb.NDArray_DTYPE_STRING] > 0):
		return "", codec.BadInputf("Invalid NDArray input: string arrays are not supported")
	case dt == pb.NDArray_DTYPE_UNSPECIFIED:
		if len(set) > 1 {
			return "", codec.BadInputf("Invalid NDArray input: dtype is DTYPE_UNSPECIFIED and %d *_values fields are set; set exactly one, or set dtype", len(set))
		}
		for d := range set {
			dt = d
		}
		if dt == pb.NDArray_DTYPE_UNSPECIFIED {
			return "", nil
		}
	default:
		if _, known := pb.NDArray_DType_name[int32(dt)]; !known {
			return "", codec.BadInputf("Invalid NDArray input: unknown dtype %d", int32(dt))
		}
		if _, ok := set[dt]; len(set) > 1 || (len(set) == 1 && !ok) {
			return "", codec.BadInputf("Invalid NDArray input: dtype is %s but other *_values fields are set; put the values in %s", dt, valuesFieldName(dt))
		}
	}
	return valuesFieldName(dt), nil
}

func valuesFieldName(dt pb.NDArray_DType) string {
	switch dt {
	case pb.NDArray_DTYPE_FLOAT:
		return "float_values"
	case pb.NDArray_DTYPE_DOUBLE:
		return "double_values"
	case pb.NDArray_DTYPE_BOOL:
		return "bool_values"
	case pb.NDArray_DTYPE_INT32:
		return "int32_values"
	case pb.NDArray_DTYPE_INT64:
		return "int64_values"
	case pb.NDArray_DTYPE_UINT32:
		return "uint32_values"
	case pb.NDArray_DTYPE_UINT64:
		return "uint64_values"
	}
	return ""
}

// protoShape checks a gRPC shape against the number of values and T's rank.
func (n *ndarrayIO[T]) protoShape(dims []int32, count int) ([]int, error) {
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

func fmtInt32Shape(dims []int32) string {
	s := make([]int, len(dims))
	for i, d := range dims {
		s[i] = int(d)
	}
	return fmtShape(s, len(s))
}

// productString is the product of dims, computed without overflow.
func productString(dims []int32) string {
	p := 1.0
	for _, d := range dims {
		p *= float64(d)
	}
	return strconv.FormatFloat(p, 'g', -1, 64)
}

func (n *ndarrayIO[T]) EncodeProto(x T) (codec.Value, error) {
	if n.err != nil {
		return codec.Value{}, n.broken()
	}
	vals, shape, known, err := n.flatten(x)
	if err != nil {
		return codec.Value{}, err
	}
	if err := n.checkResult(vals, shape, known); err != nil {
		return codec.Value{}, err
	}
	k := n.valueKind()
	a := &pb.NDArray{Dtype: protoDType(k), Shape: make([]int32, len(shape))}
	for i, d := range shape {
		if d > math.MaxInt32 {
			return codec.Value{}, fmt.Errorf("bento: NDArray result dimension %d is too large for gRPC (%d)", i, d)
		}
		a.Shape[i] = int32(d)
	}
	cnt := vals.len()
	for i := range cnt {
		s, err := convert(vals.at(i), k)
		if err != nil {
			return codec.Value{}, fmt.Errorf("bento: NDArray result: value %s is not representable as %s", vals.at(i), k)
		}
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
	return codec.Value{Field: "ndarray", NDArray: a}, nil
}

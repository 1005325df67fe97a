package bento

import "github.com/gobento/bento/internal/codec/ndarray"

type NDArrayOption func(*ndarrayOptions)

type ndarrayOptions = ndarray.Options

// Shape declares and enforces the array's shape: a request (or a result)
// whose shape differs is rejected with a 400 (a 500 for results). A
// dimension of -1 matches any size. The number of dimensions must equal the
// nesting depth of the descriptor's type, and every dimension must be
// positive or -1; mistakes are reported when the service starts.
func Shape(dims ...int) NDArrayOption {
	return func(o *ndarrayOptions) {
		o.Shape = append([]int(nil), dims...)
		o.ShapeSet = true
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
		o.DType = name
		o.DTypeSet = true
	}
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
	var o ndarrayOptions
	for _, opt := range opts {
		opt(&o)
	}
	return ioOf[T](ndarray.New[T](o))
}

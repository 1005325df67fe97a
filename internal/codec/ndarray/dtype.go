package ndarray

import (
	"errors"
	"math"
	"reflect"
	"strconv"

	"github.com/gobento/bento/internal/pb"
)

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

// floatOf returns a number as a float64 (rounded if need be); ok is false
// for a bool.
func floatOf(s scalar) (f float64, ok bool) {
	switch s.c {
	case cFloat:
		return s.f, true
	case cInt:
		return float64(s.i), true
	case cUint:
		return float64(s.u), true
	}
	return 0, false
}

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
		f, ok := floatOf(s)
		if !ok {
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

package ndarray

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/pb"
)

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
	bits := 64
	if k == dFloat32 {
		bits = 32
	}
	return appendJSONFloat(b, s.f, bits)
}

// appendJSONFloat writes a float of the given width (32 or 64 bits).
func appendJSONFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("bento: NDArray result contains %v, which JSON cannot represent", f)
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

// Package buckets builds and checks Prometheus histogram bucket bounds the
// way BentoML 1.x defines them. It is shared by the config package (duration
// buckets from YAML) and the public metrics package (custom histograms).
//
// Bounds handled here are always finite: the implicit +Inf bucket is added by
// the Prometheus client, so [Validate] strips a trailing +Inf and
// [Exponential] never returns one.
package buckets

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// MaxExponential is the largest number of generated values [Exponential]
// keeps before it appends the upper bound (BentoML's MAX_BUCKET_COUNT).
const MaxExponential = 100

// Default returns a fresh copy of BentoML's default duration buckets, in
// seconds: 0.005 … 10 (14 values, +Inf implied).
func Default() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
}

// Exponential returns bounds from min up to max exactly as BentoML's
// exponential_buckets(start, factor, end) does: starting with b = min, it
// appends b and multiplies b by factor (repeated multiplication, not
// min·factor^i, so the float values match BentoML's bit for bit) while
// b < max, keeps at most the first [MaxExponential] values, then appends
// max itself. The result has no +Inf.
//
// It returns an error unless 0 < min < max, factor > 1 and all three are
// finite, or if factor is so close to 1 that rounding produces a repeated
// value.
func Exponential(min, max, factor float64) ([]float64, error) {
	switch {
	case !finite(min) || !finite(max) || !finite(factor):
		return nil, fmt.Errorf("min, max and factor must be finite numbers (got %s, %s, %s)", fmtF(min), fmtF(max), fmtF(factor))
	case min <= 0:
		return nil, fmt.Errorf("min must be > 0 (got %s)", fmtF(min))
	case min >= max:
		return nil, fmt.Errorf("min (%s) must be < max (%s)", fmtF(min), fmtF(max))
	case factor <= 1:
		return nil, fmt.Errorf("factor must be > 1 (got %s)", fmtF(factor))
	}
	out := make([]float64, 0, 16)
	// Stopping at MaxExponential values gives the same result as generating
	// everything and keeping the first MaxExponential, and it bounds the loop
	// when factor is barely above 1.
	for b := min; b < max && len(out) < MaxExponential; b *= factor {
		if n := len(out); n > 0 && b <= out[n-1] {
			return nil, fmt.Errorf("factor %s is too close to 1: bucket %d repeats %s", fmtF(factor), n, fmtF(b))
		}
		out = append(out, b)
	}
	return append(out, max), nil
}

// Validate checks a list of bucket upper bounds and returns it without a
// trailing +Inf (a copy; the argument is not modified). The list must be
// non-empty, every bound finite (NaN and -Inf are rejected; +Inf only as the
// last element), and strictly increasing, so duplicates are errors too.
func Validate(b []float64) ([]float64, error) {
	if n := len(b); n > 0 && math.IsInf(b[n-1], 1) {
		b = b[:n-1]
	}
	if len(b) == 0 {
		return nil, errors.New("must contain at least one finite bound")
	}
	for i, v := range b {
		if !finite(v) {
			return nil, fmt.Errorf("bucket %d is %s: bounds must be finite (+Inf is implied and allowed only last)", i, fmtF(v))
		}
		if i > 0 && v <= b[i-1] {
			what := "is not greater than"
			if v == b[i-1] {
				what = "duplicates"
			}
			return nil, fmt.Errorf("bucket %d (%s) %s bucket %d (%s): bounds must be strictly increasing", i, fmtF(v), what, i-1, fmtF(b[i-1]))
		}
	}
	return append([]float64(nil), b...), nil
}

func finite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

func fmtF(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

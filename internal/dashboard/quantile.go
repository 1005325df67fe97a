package dashboard

import "math"

// quantile returns the q-quantile of a classic histogram given as upper
// bounds (ascending, the last one +Inf) and cumulative counts, with the
// semantics of PromQL's histogram_quantile: linear interpolation inside the
// bucket holding the rank, the lower bound of the first bucket taken as 0
// (when its upper bound is positive), and the upper bound of the last finite
// bucket when the rank falls in the +Inf bucket. It returns NaN when the
// histogram is empty or has fewer than two buckets.
func quantile(q float64, upper, cum []float64) float64 {
	n := len(upper)
	if n < 2 || len(cum) != n || !math.IsInf(upper[n-1], 1) {
		return math.NaN()
	}
	if q < 0 {
		return math.Inf(-1)
	}
	if q > 1 {
		return math.Inf(1)
	}
	total := cum[n-1]
	if total <= 0 || math.IsNaN(total) {
		return math.NaN()
	}
	rank := q * total
	b := 0
	for b < n-1 && cum[b] < rank {
		b++
	}
	switch {
	case b == n-1:
		return upper[n-2]
	case b == 0 && upper[0] <= 0:
		return upper[0]
	}
	start, end, count := 0.0, upper[b], cum[b]
	if b > 0 {
		start = upper[b-1]
		count -= cum[b-1]
		rank -= cum[b-1]
	}
	if count <= 0 {
		return end
	}
	return start + (end-start)*(rank/count)
}

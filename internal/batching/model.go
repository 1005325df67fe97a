package batching

import (
	"math"
	"time"
)

const (
	// modelWindow is how many successful batches the cost model remembers.
	modelWindow = 50
	// minPerItem is the smallest per-item cost the fit may report, in
	// nanoseconds, so that predicted cost always grows with the batch size.
	minPerItem = 1e-3
	// arrivalAlpha is the weight of the newest gap in the arrival EWMA.
	arrivalAlpha = 0.2
	// targetUtilization is the fraction of worker time the cork rule plans
	// to use; the rest is headroom that keeps queues short.
	targetUtilization = 0.8
)

// sample is one executed batch: n items took d nanoseconds.
type sample struct{ n, d float64 }

// costModel fits duration ≈ a·n + b, in nanoseconds, by ordinary least
// squares over the last modelWindow successful batches. Until the window
// holds two distinct batch sizes it uses the prior a = 0, b = mean duration,
// and with no sample at all it predicts 0, which never delays a dispatch.
type costModel struct {
	buf    [modelWindow]sample
	len    int // samples held
	next   int // slot the next sample goes to
	a, b   float64
	fitted bool // a and b come from a least-squares fit
}

// add records a successful batch of n items that ran for d, then refits.
// A refit is O(modelWindow), cheap next to any batch.
func (m *costModel) add(n int, d time.Duration) {
	m.buf[m.next] = sample{float64(n), float64(d)}
	m.next = (m.next + 1) % modelWindow
	if m.len < modelWindow {
		m.len++
	}
	m.refit()
}

func (m *costModel) refit() {
	s := m.buf[:m.len]
	k := float64(len(s))
	var mn, md float64
	distinct := false
	for _, x := range s {
		mn += x.n
		md += x.d
		if x.n != s[0].n {
			distinct = true
		}
	}
	mn /= k
	md /= k
	if !distinct {
		m.a, m.b, m.fitted = 0, md, false
		return
	}
	// Two-pass (centred) sums keep the fit accurate for large durations.
	var sxx, sxy, snn, snd float64
	for _, x := range s {
		dn := x.n - mn
		sxx += dn * dn
		sxy += dn * (x.d - md)
		snn += x.n * x.n
		snd += x.n * x.d
	}
	a := sxy / sxx
	b := md - a*mn
	if a < minPerItem { // flat or decreasing data: keep a tiny slope, refit b
		a = minPerItem
		b = md - a*mn
	}
	if b < 0 { // negative intercept: fit through the origin instead
		b = 0
		a = max(snd/snn, minPerItem)
	}
	m.a, m.b, m.fitted = a, b, true
}

// predict is the expected duration of a batch of n items, in nanoseconds.
func (m *costModel) predict(n int) int64 {
	return int64(math.Round(m.a*float64(n) + m.b))
}

// arrivals estimates the item arrival rate from the gaps between calls.
type arrivals struct {
	count   int     // calls seen
	last    int64   // time of the newest call
	lastGap float64 // gap before the newest call, ns
	gap     float64 // EWMA of gaps between calls, ns
	items   float64 // EWMA of items per call
}

// note records a call of k items at time now. Gaps are clamped to maxGap
// (when positive) so that one long idle period is forgotten after a few
// calls.
func (r *arrivals) note(now int64, k int, maxGap int64) {
	if r.count == 0 {
		r.items = float64(k)
	} else {
		g := now - r.last
		if maxGap > 0 && g > maxGap {
			g = maxGap
		}
		r.lastGap = float64(max(g, 0))
		if r.count == 1 {
			r.gap = r.lastGap
		} else {
			r.gap += arrivalAlpha * (r.lastGap - r.gap)
		}
		r.items += arrivalAlpha * (float64(k) - r.items)
	}
	r.count++
	r.last = now
}

// effGap is the gap the rate estimate uses at time now: the largest of the
// average gap, the gap before the newest call and the time since it, so
// that a quiet spell lowers the estimate at once.
func (r *arrivals) effGap(now int64) float64 {
	return max(r.gap, r.lastGap, float64(now-r.last))
}

// rate is the estimated arrival rate in items per nanosecond: 0 with no
// evidence of traffic (fewer than two calls), +Inf when calls arrive at
// the same instant.
func (r *arrivals) rate(now int64) float64 {
	if r.count < 2 {
		return 0
	}
	g := r.effGap(now)
	if g <= 0 {
		return math.Inf(1)
	}
	return r.items / g
}

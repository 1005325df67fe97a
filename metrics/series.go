package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// series caches the children of one vector by label values and enforces
// the series limit. M is the child type the vector returns.
//
// It also keeps every child in exposition order (by label values, taken in
// label-name order, as client_golang sorts them), so that collect can hand
// the registry an already sorted family: the registry's sort is then linear
// instead of O(n log n) over pointer-chasing comparisons, which halves the
// Gather time of a family with thousands of series.
type series[M any] struct {
	kind, name string
	help       string
	typ        dto.MetricType
	labels     []string
	perm       []int // indexes of labels in name order: the exposition sort key
	max        int
	err        error // construction error: every lookup is discarded

	get     func(lvs ...string) (M, error) // the vector's GetMetricWithLabelValues
	discard M                              // never registered: writes vanish

	overflows atomic.Uint64 // lookups folded into the overflow series
	misuses   atomic.Uint64 // lookups discarded as errors
	warned    atomic.Bool   // overflow warning logged
	errLogged atomic.Bool   // misuse error logged

	mu       sync.RWMutex
	children map[uint64][]entry[M] // by hash of label values; chained on collisions
	order    []entry[M]            // every child incl. the overflow one, in exposition order
	n        int                   // combinations kept, excluding the overflow series
	over     *M                    // overflow child, created on first overflow

	// curried is set once the vector was curried: children created through
	// a curried vector bypass this index, so collect falls back to the
	// vector's own (unordered) Collect from then on.
	curried atomic.Bool
}

type entry[M any] struct {
	lvs    []string
	child  M
	metric prometheus.Metric // child as a collectable metric
}

func newSeries[M any](kind, name, help string, typ dto.MetricType, labels []string, max int, err error, get func(...string) (M, error), discard M) *series[M] {
	s := &series[M]{
		kind: kind, name: name, help: help, typ: typ, labels: slices.Clone(labels), max: maxSeries(max), err: err,
		get: get, discard: discard,
		children: make(map[uint64][]entry[M]),
	}
	s.perm = make([]int, len(labels))
	for i := range s.perm {
		s.perm[i] = i
	}
	slices.SortStableFunc(s.perm, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	return s
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashValues is FNV-1a over the values, each followed by 0xff, a byte that
// cannot occur in UTF-8, so ("ab","c") and ("a","bc") differ.
func hashValues(lvs []string) uint64 {
	h := uint64(fnvOffset)
	for _, v := range lvs {
		for i := 0; i < len(v); i++ {
			h ^= uint64(v[i])
			h *= fnvPrime
		}
		h ^= 0xff
		h *= fnvPrime
	}
	return h
}

// countError describes a lookup with the wrong number of label values. It
// takes a copy so that lookup's argument does not escape.
func (s *series[M]) countError(lvs []string) error {
	return fmt.Errorf("metrics: %s %q: got %d label values %q, want %d for labels %q",
		s.kind, s.name, len(lvs), lvs, len(s.labels), s.labels)
}

// lookup returns the child for lvs, creating it if the limit allows, or the
// overflow child. On misuse it returns the discard metric and an error,
// which it also logs (once per metric) when logErr is set.
func (s *series[M]) lookup(lvs []string, logErr bool) (M, error) {
	if s.err != nil {
		return s.discard, s.err
	}
	if len(lvs) != len(s.labels) {
		return s.fail(s.countError(slices.Clone(lvs)), logErr)
	}
	h := hashValues(lvs)
	s.mu.RLock()
	for _, e := range s.children[h] {
		if slices.Equal(e.lvs, lvs) {
			s.mu.RUnlock()
			return e.child, nil
		}
	}
	s.mu.RUnlock()
	return s.create(h, lvs, logErr)
}

func (s *series[M]) create(h uint64, lvs []string, logErr bool) (M, error) {
	s.mu.Lock()
	for _, e := range s.children[h] {
		if slices.Equal(e.lvs, lvs) {
			s.mu.Unlock()
			return e.child, nil
		}
	}
	if s.n >= s.max {
		child, err := s.overflowLocked()
		s.mu.Unlock()
		if err != nil {
			return s.fail(err, logErr)
		}
		s.overflows.Add(1)
		if s.warned.CompareAndSwap(false, true) {
			slog.Warn("metrics: series limit reached; new label combinations are folded into the overflow series",
				"metric", s.name, "max_series", s.max, "overflow_value", OverflowValue)
		}
		return child, nil
	}
	own := slices.Clone(lvs)
	child, err := s.get(own...)
	if err != nil {
		s.mu.Unlock()
		return s.fail(fmt.Errorf("metrics: %s %q: %w", s.kind, s.name, err), logErr)
	}
	e := entry[M]{lvs: own, child: child}
	s.children[h] = append(s.children[h], e)
	s.insertOrderLocked(e)
	s.n++
	s.mu.Unlock()
	return child, nil
}

// compare orders label values as client_golang's exposition does: value by
// value, in label-name order.
func (s *series[M]) compare(a, b []string) int {
	for _, i := range s.perm {
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

func (s *series[M]) search(lvs []string) (int, bool) {
	return slices.BinarySearchFunc(s.order, lvs, func(e entry[M], t []string) int { return s.compare(e.lvs, t) })
}

// insertOrderLocked adds e to the exposition order. A child that is not a
// prometheus.Metric (never the case for client_golang's vectors) switches
// collect to the vector's own Collect. s.mu must be held.
func (s *series[M]) insertOrderLocked(e entry[M]) {
	m, ok := any(e.child).(prometheus.Metric)
	if !ok {
		s.curried.Store(true)
		return
	}
	e.metric = m
	if i, found := s.search(e.lvs); !found {
		s.order = slices.Insert(s.order, i, e)
	}
}

// removeOrderLocked drops the child with lvs from the exposition order.
func (s *series[M]) removeOrderLocked(lvs []string) {
	if i, found := s.search(lvs); found {
		s.order = slices.Delete(s.order, i, i+1)
	}
}

// collect sends every child to ch in exposition order, or, once the vector
// was curried, delegates to vec.Collect.
func (s *series[M]) collect(ch chan<- prometheus.Metric, vec prometheus.Collector) {
	if s.curried.Load() {
		vec.Collect(ch)
		return
	}
	ms := s.ordered()
	for _, m := range ms {
		ch <- m
	}
}

// ordered returns every child in exposition order, copied under the read
// lock so that a slow scrape never holds up a lookup that creates a series.
func (s *series[M]) ordered() []prometheus.Metric {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ms := make([]prometheus.Metric, len(s.order))
	for i, e := range s.order {
		ms[i] = e.metric
	}
	return ms
}

// selfCounts returns what the self-metrics export for this metric.
func (s *series[M]) selfCounts() (overflows, errors uint64) {
	return s.overflows.Load(), s.misuses.Load()
}

// direct reports whether family lists every child (see customreg.Direct):
// not once the vector was curried.
func (s *series[M]) direct() bool { return s.err == nil && !s.curried.Load() }

// family writes every child into one family, in exposition order, without
// the registry's per-series channel send, consistency check and sort (the
// children are client_golang's own, built from the vector's descriptor,
// and unique by construction).
func (s *series[M]) family() (*dto.MetricFamily, error) {
	ms := s.ordered()
	if len(ms) == 0 {
		return nil, nil
	}
	mf := &dto.MetricFamily{Name: &s.name, Help: &s.help, Type: s.typ.Enum(), Metric: make([]*dto.Metric, 0, len(ms))}
	buf := make([]dto.Metric, len(ms))
	var errs []error
	for i, m := range ms {
		if err := m.Write(&buf[i]); err != nil {
			errs = append(errs, fmt.Errorf("metrics: %s %q: %w", s.kind, s.name, err))
			continue
		}
		mf.Metric = append(mf.Metric, &buf[i])
	}
	return mf, errors.Join(errs...)
}

// markCurried records that the vector was curried (see series.curried)
// unless currying failed with err.
func (s *series[M]) markCurried(err error) {
	if err == nil {
		s.curried.Store(true)
	}
}

// overflowLocked returns the overflow child; s.mu must be held.
func (s *series[M]) overflowLocked() (M, error) {
	if s.over != nil {
		return *s.over, nil
	}
	vals := make([]string, len(s.labels))
	for i := range vals {
		vals[i] = OverflowValue
	}
	child, err := s.get(vals...)
	if err != nil {
		return child, err
	}
	s.over = &child
	s.insertOrderLocked(entry[M]{lvs: vals, child: child})
	return child, nil
}

func (s *series[M]) fail(err error, logErr bool) (M, error) {
	s.misuses.Add(1)
	if logErr && s.errLogged.CompareAndSwap(false, true) {
		slog.Error("metrics: bad label values; the write is discarded (logged once per metric)",
			"metric", s.name, "err", err)
	}
	return s.discard, err
}

// values orders labels by the metric's label names into buf. ok is false
// if a label is missing or extra.
func (s *series[M]) values(labels prometheus.Labels, buf []string) ([]string, bool) {
	if len(labels) != len(s.labels) {
		return nil, false
	}
	for _, n := range s.labels {
		v, ok := labels[n]
		if !ok {
			return nil, false
		}
		buf = append(buf, v)
	}
	return buf, true
}

func (s *series[M]) lookupLabels(labels prometheus.Labels, logErr bool) (M, error) {
	if s.err != nil {
		return s.discard, s.err
	}
	var buf [8]string
	lvs, ok := s.values(labels, buf[:0])
	if !ok {
		return s.fail(fmt.Errorf("metrics: %s %q: got labels %v, want exactly %q",
			s.kind, s.name, labelKeys(labels), s.labels), logErr)
	}
	return s.lookup(lvs, logErr)
}

func labelKeys(l prometheus.Labels) []string {
	k := make([]string, 0, len(l))
	for n := range l {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

// forget drops the cached child for lvs after del removed it from the
// vector; del runs under the lock so no lookup re-caches a stale child.
func (s *series[M]) forget(lvs []string, del func() bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := del()
	if len(lvs) != len(s.labels) {
		return ok
	}
	h := hashValues(lvs)
	es := s.children[h]
	for i, e := range es {
		if slices.Equal(e.lvs, lvs) {
			s.removeLocked(h, es, i)
			break
		}
	}
	if s.over != nil && allOverflow(lvs) {
		s.over = nil
	}
	s.removeOrderLocked(lvs)
	return ok
}

func allOverflow(lvs []string) bool {
	for _, v := range lvs {
		if v != OverflowValue {
			return false
		}
	}
	return true
}

func (s *series[M]) removeLocked(h uint64, es []entry[M], i int) {
	if len(es) == 1 {
		delete(s.children, h)
	} else {
		s.children[h] = slices.Delete(slices.Clone(es), i, i+1)
	}
	s.n--
}

func (s *series[M]) forgetLabels(labels prometheus.Labels, del func() bool) bool {
	var buf [8]string
	lvs, ok := s.values(labels, buf[:0])
	if !ok {
		return del()
	}
	return s.forget(lvs, del)
}

// forgetPartial drops every cached child whose labels include all of
// labels, after del removed them from the vector.
func (s *series[M]) forgetPartial(labels prometheus.Labels, del func() int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := del()
	idx := make(map[string]int, len(s.labels))
	for i, l := range s.labels {
		idx[l] = i
	}
	match := func(lvs []string) bool {
		for k, v := range labels {
			i, ok := idx[k]
			if !ok || lvs[i] != v {
				return false
			}
		}
		return true
	}
	for h, es := range s.children {
		for i := len(es) - 1; i >= 0; i-- {
			if match(es[i].lvs) {
				s.removeLocked(h, es, i)
				es = s.children[h]
			}
		}
	}
	if s.over != nil && len(s.labels) > 0 {
		vals := make([]string, len(s.labels))
		for i := range vals {
			vals[i] = OverflowValue
		}
		if match(vals) {
			s.over = nil
		}
	}
	s.order = slices.DeleteFunc(s.order, func(e entry[M]) bool { return match(e.lvs) })
	return n
}

// reset drops every cached child after reset cleared the vector.
func (s *series[M]) reset(reset func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reset()
	clear(s.children)
	s.order = nil
	s.n = 0
	s.over = nil
}

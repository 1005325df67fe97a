package metrics

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gobento/bento/internal/customreg"
)

// series caches the children of one vector by label values and enforces
// the series limit. M is the child type the vector returns.
type series[M any] struct {
	kind, name string
	labels     []string
	max        int
	err        error // construction error: every lookup is discarded

	get     func(lvs ...string) (M, error) // the vector's GetMetricWithLabelValues
	discard M                              // never registered: writes vanish

	overflowTotal prometheus.Counter
	errorsTotal   prometheus.Counter
	warned        atomic.Bool // overflow warning logged
	errLogged     atomic.Bool // misuse error logged

	mu       sync.RWMutex
	children map[uint64][]entry[M] // by hash of label values; chained on collisions
	n        int                   // combinations kept, excluding the overflow series
	over     *M                    // overflow child, created on first overflow
}

type entry[M any] struct {
	lvs   []string
	child M
}

func newSeries[M any](kind, name string, labels []string, max int, err error, get func(...string) (M, error), discard M) *series[M] {
	s := &series[M]{
		kind: kind, name: name, labels: slices.Clone(labels), max: maxSeries(max), err: err,
		get: get, discard: discard,
		children: make(map[uint64][]entry[M]),
	}
	if err == nil {
		s.overflowTotal = customreg.OverflowCounter(name)
		s.errorsTotal = customreg.ErrorCounter(name)
	}
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
		s.overflowTotal.Inc()
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
	s.children[h] = append(s.children[h], entry[M]{lvs: own, child: child})
	s.n++
	s.mu.Unlock()
	return child, nil
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
	return child, nil
}

func (s *series[M]) fail(err error, logErr bool) (M, error) {
	s.errorsTotal.Inc()
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
	return n
}

// reset drops every cached child after reset cleared the vector.
func (s *series[M]) reset(reset func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reset()
	clear(s.children)
	s.n = 0
	s.over = nil
}

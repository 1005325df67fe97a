// Package customreg keeps the custom metrics a program declares (usually as
// package-level variables built with the public metrics package) until a
// service registers them into its registry.
//
// # Lifecycle
//
// Every metrics.New* call adds its metric here with [Add]. When a service
// starts it calls [RegisterAll] with its registry: every declared metric and
// the self-metrics below are registered, and every construction error or
// name conflict is returned at once, so the service refuses to start. The
// registry then stays attached: a metric declared later is registered into it
// immediately (its errors can only be logged). [Detach] unregisters
// everything and forgets the registry, for service stop and tests. Several
// registries may be attached at once; each gets every metric.
//
// # Self-metrics
//
// gobento_metric_series_overflow_total{metric_name} counts label-value
// lookups folded into a metric's overflow series because it reached its
// series limit; gobento_metric_errors_total{metric_name} counts lookups that
// failed (wrong number of label values, invalid UTF-8) and were discarded.
// Both are registered into every attached registry.
//
// # Direct families
//
// A registry collects every series through a channel, checks each for
// consistency and sorts the family: about 1 µs a series, most of a scrape
// when a custom metric has thousands of them. A declared metric that
// implements [Direct] (every metric of the public metrics package does)
// skips that: it is registered through a guard that describes it, so
// conflicts are still found at registration, but collects nothing, and
// [Gatherer] asks the metric for its whole family instead, already in
// exposition order. A metric whose Direct method reports false (a curried
// vector, whose children the metric cannot list in order) is collected
// through the registry as usual.
//
// The declaration list is the one process-wide registry-like state gobento
// keeps; it exists because Go programs declare metrics as package-level
// variables, before any service exists. All functions are safe for
// concurrent use.
package customreg

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metric is a declared custom metric.
type Metric interface {
	// Name is the metric's family name.
	Name() string
	// Err is the problem found when the metric was constructed, or nil.
	Err() error
	// Collector is what gets registered; it is not used when Err is non-nil.
	Collector() prometheus.Collector
}

// Direct is a declared metric that writes its own family (see the package
// doc).
type Direct interface {
	Metric
	// Direct reports whether WriteFamily lists every series; when false the
	// metric is collected through its Collector.
	Direct() bool
	// WriteFamily returns the family with every series in exposition order
	// (sorted by label values, in label-name order), or nil when the
	// metric has no series. Series that fail to write are left out and
	// reported in err.
	WriteFamily() (mf *dto.MetricFamily, err error)
}

// attachment is a registry that gets every declared metric, with the Direct
// metrics registered into it (so Gatherer can list their families).
type attachment struct {
	reg    prometheus.Registerer
	direct []Direct
}

var (
	mu       sync.Mutex
	declared []Metric
	attached []*attachment

	overflowVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gobento_metric_series_overflow_total",
		Help: "Label-value lookups of a custom metric folded into its overflow series because it reached its series limit",
	}, []string{"metric_name"})
	errorsVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gobento_metric_errors_total",
		Help: "Label-value lookups of a custom metric that failed and were discarded",
	}, []string{"metric_name"})
)

// SelfMetricNames are the names of the self-metrics; custom metrics may not
// use them.
var SelfMetricNames = []string{"gobento_metric_series_overflow_total", "gobento_metric_errors_total"}

// OverflowCounter returns the gobento_metric_series_overflow_total child for
// metricName. Resolve it once, when the metric is built.
func OverflowCounter(metricName string) prometheus.Counter {
	return overflowVec.WithLabelValues(metricName)
}

// ErrorCounter returns the gobento_metric_errors_total child for metricName.
func ErrorCounter(metricName string) prometheus.Counter {
	return errorsVec.WithLabelValues(metricName)
}

// Add declares m. If registries are attached, m is registered into each of
// them now; since no caller could act on a failure at that point, a
// construction error or conflict is logged with slog at error level.
func Add(m Metric) {
	mu.Lock()
	defer mu.Unlock()
	declared = append(declared, m)
	for _, a := range attached {
		if err := a.register(m); err != nil {
			slog.Error("customreg: metric declared after the service started cannot be registered", "metric", m.Name(), "err", err)
		}
	}
}

// Remove forgets a declared metric and unregisters it from every attached
// registry. It is meant for tests and for code that declares metrics
// dynamically; it reports whether m was declared.
func Remove(m Metric) bool {
	mu.Lock()
	defer mu.Unlock()
	i := slices.Index(declared, m)
	if i < 0 {
		return false
	}
	declared = slices.Delete(declared, i, i+1)
	if m.Err() == nil {
		for _, a := range attached {
			a.unregister(m)
		}
	}
	return true
}

// collector is what gets registered for m: a guard for a Direct metric,
// its Collector otherwise. Unregistering works with either value, since a
// registry identifies a collector by its descriptors.
func collector(m Metric) prometheus.Collector {
	if d, ok := m.(Direct); ok {
		return guard{d}
	}
	return m.Collector()
}

// guard describes a Direct metric to the registry and collects it only
// while the metric cannot write its family itself.
type guard struct{ d Direct }

func (g guard) Describe(ch chan<- *prometheus.Desc) { g.d.Collector().Describe(ch) }

func (g guard) Collect(ch chan<- prometheus.Metric) {
	if !g.d.Direct() {
		g.d.Collector().Collect(ch)
	}
}

func (a *attachment) register(m Metric) error {
	if err := m.Err(); err != nil {
		return err
	}
	if err := a.reg.Register(collector(m)); err != nil {
		return fmt.Errorf("metrics: registering %q: %w", m.Name(), err)
	}
	if d, ok := m.(Direct); ok {
		a.direct = append(a.direct, d)
	}
	return nil
}

func (a *attachment) unregister(m Metric) {
	a.reg.Unregister(collector(m))
	if d, ok := m.(Direct); ok {
		a.direct = slices.DeleteFunc(a.direct, func(x Direct) bool { return x == d })
	}
}

func find(reg prometheus.Registerer) int {
	return slices.IndexFunc(attached, func(a *attachment) bool { return a.reg == reg })
}

// RegisterAll registers the self-metrics and every declared metric into reg
// and attaches reg, so later declarations are registered into it too. It
// returns the errors.Join of every construction error and every registration
// conflict (for example two metrics with one name, or a name a default
// family already uses in reg), each naming its metric; reg is then left as
// it was and not attached. Calling RegisterAll again for an attached reg does
// nothing.
func RegisterAll(reg prometheus.Registerer) error {
	mu.Lock()
	defer mu.Unlock()
	if find(reg) >= 0 {
		return nil
	}
	var (
		errs []error
		done []prometheus.Collector
	)
	for _, c := range []prometheus.Collector{overflowVec, errorsVec} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, fmt.Errorf("metrics: registering self-metrics: %w", err))
			continue
		}
		done = append(done, c)
	}
	count := make(map[string]int, len(declared))
	for _, m := range declared {
		count[m.Name()]++
	}
	reported := make(map[string]bool)
	a := &attachment{reg: reg}
	for _, m := range declared {
		name := m.Name()
		if count[name] > 1 {
			if !reported[name] {
				reported[name] = true
				errs = append(errs, fmt.Errorf("metrics: %q is declared %d times; metric names must be unique", name, count[name]))
			}
			continue
		}
		if err := a.register(m); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, collector(m))
	}
	if len(errs) > 0 {
		for _, c := range done {
			reg.Unregister(c)
		}
		return errors.Join(errs...)
	}
	attached = append(attached, a)
	return nil
}

// Detach unregisters every declared metric and the self-metrics from reg and
// stops registering new declarations into it. Detaching a registry that is
// not attached does nothing.
func Detach(reg prometheus.Registerer) {
	mu.Lock()
	defer mu.Unlock()
	i := find(reg)
	if i < 0 {
		return
	}
	attached = slices.Delete(attached, i, i+1)
	for _, m := range declared {
		if m.Err() == nil {
			reg.Unregister(collector(m))
		}
	}
	reg.Unregister(overflowVec)
	reg.Unregister(errorsVec)
}

// Gatherer returns what a service serves for reg: reg's own families
// merged with the families of the Direct metrics registered into it,
// sorted by name. Where reg holds a family of the same name (a metric
// that stopped being Direct between the two steps), reg's is kept.
func Gatherer(reg *prometheus.Registry) prometheus.Gatherer { return gatherer{reg} }

type gatherer struct{ reg *prometheus.Registry }

func (g gatherer) Gather() ([]*dto.MetricFamily, error) {
	mu.Lock()
	var ds []Direct
	if i := find(g.reg); i >= 0 {
		ds = slices.Clone(attached[i].direct)
	}
	mu.Unlock()
	// The direct families first: a metric curried in between is then
	// collected by the registry, never missed.
	var (
		direct []*dto.MetricFamily
		errs   []error
	)
	for _, d := range ds {
		if !d.Direct() {
			continue
		}
		mf, err := d.WriteFamily()
		if err != nil {
			errs = append(errs, err)
		}
		if mf != nil && len(mf.Metric) > 0 {
			direct = append(direct, mf)
		}
	}
	mfs, err := g.reg.Gather()
	if err != nil {
		errs = append(errs, err)
	}
	if len(direct) == 0 {
		return mfs, errors.Join(errs...)
	}
	slices.SortFunc(direct, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return merge(mfs, direct), errors.Join(errs...)
}

// merge merges two families lists sorted by name; on equal names a's
// family is kept.
func merge(a, b []*dto.MetricFamily) []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch c := strings.Compare(a[0].GetName(), b[0].GetName()); {
		case c < 0:
			out, a = append(out, a[0]), a[1:]
		case c > 0:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
}

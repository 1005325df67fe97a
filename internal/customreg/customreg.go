// Package customreg keeps the custom metrics a program declares (usually as
// package-level variables built with the public metrics package) and
// attaches them to a service's registry while that service runs.
//
// # Lifecycle
//
// Every metrics.New* call declares its metric here with [Declare]; gobento's
// own process-wide families (the ONNX model metrics) use [Add]. The
// declaration list is the one process-wide state this package keeps: Go
// programs declare metrics as package-level variables, before any service
// exists. Registries are never global: a service calls [Attach] with its own
// registry and the metrics it owns, and gets an [Attachment] that it releases
// with one deferred [Attachment.Close]. Every construction error or name
// conflict is returned by Attach at once, so the service refuses to start.
//
// An attachment made without an explicit list takes every declared metric,
// including those declared after it (they are registered at the next
// gather; their errors can only be logged). An attachment with a list takes
// those metrics and gobento's own families, nothing else, so two services in
// one process export only their own custom metrics.
//
// # Self-metrics
//
// gobento_metric_series_overflow_total{metric_name} counts label-value
// lookups folded into a metric's overflow series because it reached its
// series limit; gobento_metric_errors_total{metric_name} counts lookups that
// failed (wrong number of label values, invalid UTF-8) and were discarded.
// Each attachment exports them for its own metrics (those implementing
// [Counted]), every metric's series from the start.
//
// # Direct families
//
// A registry collects every series through a channel, checks each for
// consistency and sorts the family: about 1 µs a series, most of a scrape
// when a custom metric has thousands of them. A declared metric that
// implements [Direct] (every metric of the public metrics package does)
// skips that: it is registered through a guard that describes it, so
// conflicts are still found at registration, but collects nothing, and the
// attachment's Gather asks the metric for its whole family instead, already
// in exposition order. A metric whose Direct method reports false (a curried
// vector, whose children the metric cannot list in order) is collected
// through the registry as usual.
//
// All functions and methods are safe for concurrent use.
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

// Metric is a declared custom metric, as the registry sees it.
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

// Counted is a declared metric that counts its own misuse, exported as the
// self-metrics.
type Counted interface {
	Metric
	// SelfCounts returns the lookups folded into the overflow series and
	// the lookups discarded as errors, since the metric was declared.
	SelfCounts() (overflows, errors uint64)
}

// declaration is one declared metric. key is what a service names it by
// (the public value); builtin marks gobento's own families, which every
// attachment takes.
type declaration struct {
	key     any
	m       Metric
	builtin bool
}

var (
	mu       sync.Mutex
	declared []declaration
	gen      uint64 // bumped by every change to declared
)

// Self-metric names; custom metrics may not use them.
const (
	OverflowName = "gobento_metric_series_overflow_total"
	ErrorsName   = "gobento_metric_errors_total"
)

// SelfMetricNames are the names of the self-metrics; custom metrics may not
// use them.
var SelfMetricNames = []string{OverflowName, ErrorsName}

var (
	overflowDesc = prometheus.NewDesc(OverflowName,
		"Label-value lookups of a custom metric folded into its overflow series because it reached its series limit",
		[]string{"metric_name"}, nil)
	errorsDesc = prometheus.NewDesc(ErrorsName,
		"Label-value lookups of a custom metric that failed and were discarded",
		[]string{"metric_name"}, nil)
)

// Declare declares m, a user's custom metric that services name by key (the
// public metric value).
func Declare(key any, m Metric) { addDeclaration(declaration{key: key, m: m}) }

// Add declares one of gobento's own families; every attachment takes it.
func Add(m Metric) { addDeclaration(declaration{key: m, m: m, builtin: true}) }

func addDeclaration(d declaration) {
	mu.Lock()
	defer mu.Unlock()
	declared = append(declared, d)
	gen++
}

// Remove forgets the declaration made with key (a metric given to [Add],
// or the key given to [Declare]); attachments unregister it at their next
// gather. It is meant for tests and for code that declares metrics
// dynamically; it reports whether key was declared.
func Remove(key any) bool {
	mu.Lock()
	defer mu.Unlock()
	i := slices.IndexFunc(declared, func(d declaration) bool { return d.key == key })
	if i < 0 {
		return false
	}
	declared = slices.Delete(declared, i, i+1)
	gen++
	return true
}

// Lookup returns the metric declared with key.
func Lookup(key any) (Metric, bool) {
	mu.Lock()
	defer mu.Unlock()
	for _, d := range declared {
		if d.key == key {
			return d.m, true
		}
	}
	return nil, false
}

// currentGen returns the generation of the declaration list.
func currentGen() uint64 {
	mu.Lock()
	defer mu.Unlock()
	return gen
}

// snapshot returns the declarations an attachment with only (nil: all)
// takes, and the generation they belong to.
func snapshot(only []any) ([]Metric, uint64) {
	mu.Lock()
	defer mu.Unlock()
	var ms []Metric
	for _, d := range declared {
		if only == nil || d.builtin || slices.Contains(only, d.key) {
			ms = append(ms, d.m)
		}
	}
	return ms, gen
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

// Attachment is a service's registry with its custom metrics registered
// into it. It is a [prometheus.Gatherer] serving what /metrics serves.
// Release it with [Attachment.Close].
type Attachment struct {
	reg  *prometheus.Registry
	only []any // nil: every declaration, also later ones

	mu      sync.Mutex
	metrics []Metric // registered, in declaration order
	gen     uint64   // declaration generation metrics reflects
	self    bool     // the self-metrics collector is registered
	closed  bool
}

// Attach registers the self-metrics and the declared metrics named by only
// (their keys; nil means every declared metric, now and later) into reg. It
// returns the errors.Join of every construction error and every
// registration conflict (for example two metrics with one name, or a name a
// default family already uses in reg), each naming its metric; reg is then
// left as it was.
func Attach(reg *prometheus.Registry, only []any) (*Attachment, error) {
	a := &Attachment{reg: reg, only: only}
	if only != nil {
		a.only = slices.Clone(only)
	}
	ms, g := snapshot(a.only)
	var errs []error
	for _, key := range a.only {
		if _, ok := Lookup(key); !ok {
			errs = append(errs, fmt.Errorf("metrics: %s was not declared with the metrics package (or was removed)", describe(key)))
		}
	}
	if err := reg.Register(selfCollector{a}); err != nil {
		errs = append(errs, fmt.Errorf("metrics: registering self-metrics: %w", err))
	} else {
		a.self = true
	}
	count := make(map[string]int, len(ms))
	for _, m := range ms {
		count[m.Name()]++
	}
	reported := make(map[string]bool)
	for _, m := range ms {
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
		}
	}
	a.gen = g
	if len(errs) > 0 {
		a.Close()
		return nil, errors.Join(errs...)
	}
	return a, nil
}

func (a *Attachment) register(m Metric) error {
	if err := m.Err(); err != nil {
		return err
	}
	if err := a.reg.Register(collector(m)); err != nil {
		return fmt.Errorf("metrics: registering %q: %w", m.Name(), err)
	}
	a.metrics = append(a.metrics, m)
	return nil
}

// syncLocked registers declarations made since the last sync and
// unregisters removed ones; a.mu must be held.
func (a *Attachment) syncLocked() {
	if a.closed || currentGen() == a.gen {
		return
	}
	ms, g := snapshot(a.only)
	a.gen = g
	a.metrics = slices.DeleteFunc(a.metrics, func(m Metric) bool {
		if slices.Contains(ms, m) {
			return false
		}
		a.reg.Unregister(collector(m))
		return true
	})
	for _, m := range ms {
		if slices.Contains(a.metrics, m) {
			continue
		}
		if err := a.register(m); err != nil {
			slog.Error("customreg: metric declared after the service started cannot be registered", "metric", m.Name(), "err", err)
		}
	}
}

// registered returns the attached metrics after a sync.
func (a *Attachment) registered() []Metric {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.syncLocked()
	return slices.Clone(a.metrics)
}

// Close unregisters every attached metric and the self-metrics from the
// registry and stops taking later declarations. Closing twice does nothing.
func (a *Attachment) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.closed = true
	for _, m := range a.metrics {
		a.reg.Unregister(collector(m))
	}
	a.metrics = nil
	if a.self {
		// A registry tells collectors apart by their descriptors, so only
		// the attachment that registered the self-metrics removes them.
		a.reg.Unregister(selfCollector{a})
	}
}

// describe names a key in an error: by its metric name when it has one.
func describe(key any) string {
	if n, ok := key.(interface{ Name() string }); ok {
		return fmt.Sprintf("%q", n.Name())
	}
	return fmt.Sprintf("%T", key)
}

// selfCollector exports the self-metrics of an attachment's metrics.
type selfCollector struct{ a *Attachment }

func (s selfCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- overflowDesc
	ch <- errorsDesc
}

func (s selfCollector) Collect(ch chan<- prometheus.Metric) {
	s.a.mu.Lock()
	ms := slices.Clone(s.a.metrics)
	s.a.mu.Unlock()
	for _, m := range ms {
		c, ok := m.(Counted)
		if !ok {
			continue
		}
		over, bad := c.SelfCounts()
		ch <- prometheus.MustNewConstMetric(overflowDesc, prometheus.CounterValue, float64(over), m.Name())
		ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, float64(bad), m.Name())
	}
}

// Gather returns the registry's families merged with the families of the
// Direct metrics attached to it, sorted by name. Where the registry holds a
// family of the same name (a metric that stopped being Direct between the
// two steps), the registry's is kept.
func (a *Attachment) Gather() ([]*dto.MetricFamily, error) {
	ms := a.registered()
	// The direct families first: a metric curried in between is then
	// collected by the registry, never missed.
	var (
		direct []*dto.MetricFamily
		errs   []error
	)
	for _, m := range ms {
		d, ok := m.(Direct)
		if !ok || !d.Direct() {
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
	mfs, err := a.reg.Gather()
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

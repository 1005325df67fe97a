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
	"sync"

	"github.com/prometheus/client_golang/prometheus"
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

var (
	mu       sync.Mutex
	declared []Metric
	attached []prometheus.Registerer

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
	for _, reg := range attached {
		if err := registerOne(reg, m); err != nil {
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
		for _, reg := range attached {
			reg.Unregister(m.Collector())
		}
	}
	return true
}

func registerOne(reg prometheus.Registerer, m Metric) error {
	if err := m.Err(); err != nil {
		return err
	}
	if err := reg.Register(m.Collector()); err != nil {
		return fmt.Errorf("metrics: registering %q: %w", m.Name(), err)
	}
	return nil
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
	if slices.Contains(attached, reg) {
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
	for _, m := range declared {
		name := m.Name()
		if count[name] > 1 {
			if !reported[name] {
				reported[name] = true
				errs = append(errs, fmt.Errorf("metrics: %q is declared %d times; metric names must be unique", name, count[name]))
			}
			continue
		}
		if err := registerOne(reg, m); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, m.Collector())
	}
	if len(errs) > 0 {
		for _, c := range done {
			reg.Unregister(c)
		}
		return errors.Join(errs...)
	}
	attached = append(attached, reg)
	return nil
}

// Detach unregisters every declared metric and the self-metrics from reg and
// stops registering new declarations into it. Detaching a registry that is
// not attached does nothing.
func Detach(reg prometheus.Registerer) {
	mu.Lock()
	defer mu.Unlock()
	i := slices.Index(attached, reg)
	if i < 0 {
		return
	}
	attached = slices.Delete(attached, i, i+1)
	for _, m := range declared {
		if m.Err() == nil {
			reg.Unregister(m.Collector())
		}
	}
	reg.Unregister(overflowVec)
	reg.Unregister(errorsVec)
}

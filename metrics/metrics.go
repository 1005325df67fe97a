package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gobento/bento/internal/customreg"
)

// Placeholder vectors stand in for a metric whose options are invalid, so
// the methods never dereference nil. They are never registered.
const placeholderName = "gobento_invalid_metric"

const placeholderHelp = "Placeholder for a custom metric with invalid options; never registered."

// Metric is any metric this package declares: a [*Counter], [*Gauge],
// [*Histogram] or [*Summary]. A service takes a list of them to own (see
// bento.Metrics); no other type implements it.
type Metric interface {
	// Name returns the metric's name.
	Name() string
	// Err returns the problems found in the options, or nil.
	Err() error
	sealed()
}

// vecOf is the part of a metric that does not depend on its child type.
type vecOf struct {
	name string
	err  error
}

func (v *vecOf) sealed() {}

// Name returns the metric's name.
func (v *vecOf) Name() string { return v.name }

// Err returns the problems found in the options, or nil. A service refuses
// to start with a metric whose Err is not nil.
func (v *vecOf) Err() error { return v.err }

// vector is the client_golang vector a metric wraps: C is its child type
// (prometheus.Counter, prometheus.Gauge or prometheus.Observer) and V what
// CurryWith returns.
type vector[C, V any] interface {
	prometheus.Collector
	GetMetricWithLabelValues(lvs ...string) (C, error)
	CurryWith(labels prometheus.Labels) (V, error)
	DeleteLabelValues(lvs ...string) bool
	Delete(labels prometheus.Labels) bool
	DeletePartialMatch(labels prometheus.Labels) int
	Reset()
}

// family is the one implementation behind the four metric types: the
// wrapped vector and its capped, ordered series index.
type family[C, V any] struct {
	vecOf
	v vector[C, V]
	s *series[C]
}

// kind describes one metric type for newFamily.
type kind[C, V any] struct {
	name string // "counter", …
	typ  dto.MetricType
	// placeholder builds a vector without labels that is never
	// registered: it stands in for a metric with invalid options, and its
	// one child is the series that discards misused writes.
	placeholder func() vector[C, V]
}

// newFamily builds a metric from checked options (err is the check's
// result) and declares it; pub is the public value services name it by.
// The series of a metric without labels exists from the start, at 0.
func newFamily[C, V any](pub Metric, k kind[C, V], name, help string, labels []string, max int, err error, build func() vector[C, V]) *family[C, V] {
	f := &family[C, V]{vecOf: vecOf{name: name, err: err}}
	placeholder := k.placeholder()
	discard, _ := placeholder.GetMetricWithLabelValues()
	if err == nil {
		f.v = build()
	} else {
		f.v = placeholder
	}
	f.s = newSeries(k.name, name, help, k.typ, labels, max, err, f.v.GetMetricWithLabelValues, discard)
	if err == nil && len(labels) == 0 {
		f.s.lookup(nil, true)
	}
	customreg.Declare(pub, exporter[C, V]{f})
	return f
}

// newPlain declares a counter or a gauge, whose options are the same:
// vec builds the client_golang vector from plain Opts.
func newPlain[C, V any](pub Metric, kindName string, typ dto.MetricType, o CounterOpts, vec func(prometheus.Opts, []string) vector[C, V]) *family[C, V] {
	c := &checker{kind: kindName, name: o.Name}
	c.common(o.Help, o.LabelNames, o.MaxSeries, "")
	k := kind[C, V]{kindName, typ, func() vector[C, V] {
		return vec(prometheus.Opts{Name: placeholderName, Help: placeholderHelp}, nil)
	}}
	return newFamily(pub, k, o.Name, o.Help, o.LabelNames, o.MaxSeries, c.err(), func() vector[C, V] {
		return vec(prometheus.Opts{Name: o.Name, Help: o.Help}, o.LabelNames)
	})
}

// Describe implements [prometheus.Collector].
func (f *family[C, V]) Describe(ch chan<- *prometheus.Desc) { f.v.Describe(ch) }

// Collect implements [prometheus.Collector]. It sends the series ordered
// as the exposition lists them, which makes a scrape of a metric with many
// series much cheaper.
func (f *family[C, V]) Collect(ch chan<- prometheus.Metric) { f.s.collect(ch, f.v) }

// CurryWith returns a vector with some labels fixed, as the client_golang
// vector's CurryWith does. Series created through it share this metric's
// series but are not capped by MaxSeries.
func (f *family[C, V]) CurryWith(labels prometheus.Labels) (V, error) {
	v, err := f.v.CurryWith(labels)
	f.s.markCurried(err)
	return v, err
}

// MustCurryWith is CurryWith that panics on error, like its client_golang
// counterpart.
func (f *family[C, V]) MustCurryWith(labels prometheus.Labels) V {
	v, err := f.CurryWith(labels)
	if err != nil {
		panic(err)
	}
	return v
}

// WithLabelValues returns the series for the label values, in LabelNames
// order, creating it if needed. Beyond MaxSeries it returns the overflow
// series; with the wrong number of values it returns a series that
// discards writes (see the package doc). A histogram's series also
// implements [prometheus.ExemplarObserver].
func (f *family[C, V]) WithLabelValues(lvs ...string) C {
	c, _ := f.s.lookup(lvs, true)
	return c
}

// With is WithLabelValues with the labels given by name.
func (f *family[C, V]) With(labels prometheus.Labels) C {
	c, _ := f.s.lookupLabels(labels, true)
	return c
}

// GetMetricWithLabelValues is WithLabelValues that returns misuse as an
// error (with a discarding series) instead of logging it.
func (f *family[C, V]) GetMetricWithLabelValues(lvs ...string) (C, error) {
	return f.s.lookup(lvs, false)
}

// GetMetricWith is With that returns misuse as an error.
func (f *family[C, V]) GetMetricWith(labels prometheus.Labels) (C, error) {
	return f.s.lookupLabels(labels, false)
}

// DeleteLabelValues removes the series with these label values; it reports
// whether one existed. The series no longer counts towards MaxSeries.
func (f *family[C, V]) DeleteLabelValues(lvs ...string) bool {
	return f.s.forget(lvs, func() bool { return f.v.DeleteLabelValues(lvs...) })
}

// Delete is DeleteLabelValues with the labels given by name.
func (f *family[C, V]) Delete(labels prometheus.Labels) bool {
	return f.s.forgetLabels(labels, func() bool { return f.v.Delete(labels) })
}

// DeletePartialMatch removes every series whose labels include labels and
// returns how many it removed.
func (f *family[C, V]) DeletePartialMatch(labels prometheus.Labels) int {
	return f.s.forgetPartial(labels, func() int { return f.v.DeletePartialMatch(labels) })
}

// Reset removes every series.
func (f *family[C, V]) Reset() { f.s.reset(f.v.Reset) }

// exporter is what a service registers for a metric: the plumbing the
// public types do not show (see internal/customreg).
type exporter[C, V any] struct{ f *family[C, V] }

func (e exporter[C, V]) Name() string { return e.f.name }
func (e exporter[C, V]) Err() error   { return e.f.err }

func (e exporter[C, V]) Collector() prometheus.Collector {
	if e.f.err != nil {
		return nil
	}
	return e.f
}

func (e exporter[C, V]) Direct() bool                            { return e.f.s.direct() }
func (e exporter[C, V]) WriteFamily() (*dto.MetricFamily, error) { return e.f.s.family() }
func (e exporter[C, V]) SelfCounts() (overflows, errors uint64)  { return e.f.s.selfCounts() }

var (
	_ customreg.Direct  = exporter[prometheus.Counter, *prometheus.CounterVec]{}
	_ customreg.Counted = exporter[prometheus.Counter, *prometheus.CounterVec]{}
)

// Counter is a counter with labels: a wrapped [prometheus.CounterVec] whose
// lookups are capped at MaxSeries and never panic. Declare it with
// [NewCounter]. Its methods come from one implementation shared by the four
// metric types: there C, a series, is a [prometheus.Counter], and V, what
// CurryWith returns, is a [*prometheus.CounterVec].
type Counter struct {
	*family[prometheus.Counter, *prometheus.CounterVec]
}

// NewCounter declares a counter. It never panics: invalid options are kept
// and returned by [Counter.Err], and the service refuses to start with them.
func NewCounter(o CounterOpts) *Counter {
	m := &Counter{}
	m.family = newPlain(m, "counter", dto.MetricType_COUNTER, o,
		func(po prometheus.Opts, labels []string) vector[prometheus.Counter, *prometheus.CounterVec] {
			return prometheus.NewCounterVec(prometheus.CounterOpts(po), labels)
		})
	return m
}

// Inc increments a counter declared without LabelNames.
func (m *Counter) Inc() { m.WithLabelValues().Inc() }

// Add adds v (which must be >= 0) to a counter declared without LabelNames.
func (m *Counter) Add(v float64) { m.WithLabelValues().Add(v) }

// Gauge is a gauge with labels: a wrapped [prometheus.GaugeVec] whose
// lookups are capped at MaxSeries and never panic. Declare it with
// [NewGauge]. In its methods (see [Counter]) C is a [prometheus.Gauge] and
// V a [*prometheus.GaugeVec].
type Gauge struct {
	*family[prometheus.Gauge, *prometheus.GaugeVec]
}

// NewGauge declares a gauge. It never panics: invalid options are kept and
// returned by [Gauge.Err], and the service refuses to start with them.
func NewGauge(o GaugeOpts) *Gauge {
	m := &Gauge{}
	m.family = newPlain(m, "gauge", dto.MetricType_GAUGE, CounterOpts(o),
		func(po prometheus.Opts, labels []string) vector[prometheus.Gauge, *prometheus.GaugeVec] {
			return prometheus.NewGaugeVec(prometheus.GaugeOpts(po), labels)
		})
	return m
}

// Set sets a gauge declared without LabelNames.
func (m *Gauge) Set(v float64) { m.WithLabelValues().Set(v) }

// Inc adds 1 to a gauge declared without LabelNames.
func (m *Gauge) Inc() { m.WithLabelValues().Inc() }

// Dec subtracts 1 from a gauge declared without LabelNames.
func (m *Gauge) Dec() { m.WithLabelValues().Dec() }

// Add adds v to a gauge declared without LabelNames.
func (m *Gauge) Add(v float64) { m.WithLabelValues().Add(v) }

// Sub subtracts v from a gauge declared without LabelNames.
func (m *Gauge) Sub(v float64) { m.WithLabelValues().Sub(v) }

// Histogram is a histogram with labels: a wrapped [prometheus.HistogramVec]
// whose lookups are capped at MaxSeries and never panic, and whose buckets
// are checked at declaration rather than at the first observation. Declare
// it with [NewHistogram]. In its methods (see [Counter]) C is a
// [prometheus.Observer] (also a [prometheus.ExemplarObserver]) and V a
// [prometheus.ObserverVec].
type Histogram struct {
	*family[prometheus.Observer, prometheus.ObserverVec]
}

var histogramKind = kind[prometheus.Observer, prometheus.ObserverVec]{"histogram", dto.MetricType_HISTOGRAM,
	func() vector[prometheus.Observer, prometheus.ObserverVec] {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: placeholderName, Help: placeholderHelp, Buckets: []float64{1}}, nil)
	}}

// NewHistogram declares a histogram. It never panics: invalid options are
// kept and returned by [Histogram.Err], and the service refuses to start
// with them.
func NewHistogram(o HistogramOpts) *Histogram {
	b, err := checkHistogram(&o)
	m := &Histogram{}
	m.family = newFamily(m, histogramKind, o.Name, o.Help, o.LabelNames, o.MaxSeries, err,
		func() vector[prometheus.Observer, prometheus.ObserverVec] {
			po := prometheus.HistogramOpts{Name: o.Name, Help: o.Help, Buckets: b}
			if o.NativeHistogramBucketFactor > 1 {
				po.NativeHistogramBucketFactor = o.NativeHistogramBucketFactor
				po.NativeHistogramMaxBucketNumber = 160
				po.NativeHistogramMinResetDuration = time.Hour
			}
			return prometheus.NewHistogramVec(po, o.LabelNames)
		})
	return m
}

// Observe records v in a histogram declared without LabelNames.
func (m *Histogram) Observe(v float64) { m.WithLabelValues().Observe(v) }

// Summary is a summary with labels: a wrapped [prometheus.SummaryVec] whose
// lookups are capped at MaxSeries and never panic. Declare it with
// [NewSummary]. In its methods (see [Counter]) C is a [prometheus.Observer]
// and V a [prometheus.ObserverVec].
type Summary struct {
	*family[prometheus.Observer, prometheus.ObserverVec]
}

var summaryKind = kind[prometheus.Observer, prometheus.ObserverVec]{"summary", dto.MetricType_SUMMARY,
	func() vector[prometheus.Observer, prometheus.ObserverVec] {
		return prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: placeholderName, Help: placeholderHelp}, nil)
	}}

// NewSummary declares a summary. It never panics: invalid options are kept
// and returned by [Summary.Err], and the service refuses to start with
// them.
func NewSummary(o SummaryOpts) *Summary {
	err := checkSummary(&o)
	m := &Summary{}
	m.family = newFamily(m, summaryKind, o.Name, o.Help, o.LabelNames, o.MaxSeries, err,
		func() vector[prometheus.Observer, prometheus.ObserverVec] {
			obj := make(map[float64]float64, len(o.Objectives))
			for q, e := range o.Objectives {
				obj[q] = e
			}
			return prometheus.NewSummaryVec(prometheus.SummaryOpts{
				Name: o.Name, Help: o.Help, Objectives: obj, MaxAge: o.MaxAge,
			}, o.LabelNames)
		})
	return m
}

// Observe records v in a summary declared without LabelNames.
func (m *Summary) Observe(v float64) { m.WithLabelValues().Observe(v) }

// Interface guards: every metric is a Metric and a collector.
var (
	_ Metric               = (*Counter)(nil)
	_ Metric               = (*Gauge)(nil)
	_ Metric               = (*Histogram)(nil)
	_ Metric               = (*Summary)(nil)
	_ prometheus.Collector = (*Counter)(nil)
	_ prometheus.Collector = (*Gauge)(nil)
	_ prometheus.Collector = (*Histogram)(nil)
	_ prometheus.Collector = (*Summary)(nil)
)

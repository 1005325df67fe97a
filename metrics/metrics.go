package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gobento/bento/internal/customreg"
)

// Placeholder vectors stand in for a metric whose options are invalid, so
// the embedded methods never dereference nil. They are never registered.
const placeholderName = "gobento_invalid_metric"

const placeholderHelp = "Placeholder for a custom metric with invalid options; never registered."

// Counter is a counter with labels: a wrapped [prometheus.CounterVec] whose lookups
// are capped at MaxSeries and never panic. Declare it with [NewCounter].
type Counter struct {
	vec  *prometheus.CounterVec
	name string
	err  error
	s    *series[prometheus.Counter]
}

// NewCounter declares a counter. It never panics: invalid options are kept
// and returned by [Counter.Err], and the service refuses to start with them.
func NewCounter(o CounterOpts) *Counter {
	c := &checker{kind: "counter", name: o.Name}
	c.common(o.Help, o.LabelNames, o.MaxSeries, "")
	m := &Counter{name: o.Name, err: c.err()}
	if m.err == nil {
		m.vec = prometheus.NewCounterVec(prometheus.CounterOpts{Name: o.Name, Help: o.Help}, o.LabelNames)
	} else {
		m.vec = prometheus.NewCounterVec(prometheus.CounterOpts{Name: placeholderName, Help: placeholderHelp}, nil)
	}
	discard := prometheus.NewCounter(prometheus.CounterOpts{Name: placeholderName, Help: placeholderHelp})
	m.s = newSeries("counter", o.Name, o.Help, dto.MetricType_COUNTER, o.LabelNames, o.MaxSeries, m.err, m.vec.GetMetricWithLabelValues, discard)
	customreg.Add(m)
	return m
}

// Name returns the metric's name.
func (m *Counter) Name() string { return m.name }

// Err returns the problems found in the options, or nil.
func (m *Counter) Err() error { return m.err }

// Collector returns what the service registers: the metric itself, or nil
// if Err is not nil.
func (m *Counter) Collector() prometheus.Collector {
	if m.err != nil {
		return nil
	}
	return m
}

// Direct reports whether [Counter.WriteFamily] lists every series: true
// unless the options were invalid or the metric was curried.
func (m *Counter) Direct() bool { return m.s.direct() }

// WriteFamily returns the whole family, its series in exposition order, or
// nil when it has none. A service's /metrics writes the metric this way,
// skipping the registry's per-series channel send, check and sort, while
// [Direct] holds; most programs never call it.
func (m *Counter) WriteFamily() (*dto.MetricFamily, error) { return m.s.family() }

// Describe implements [prometheus.Collector].
func (m *Counter) Describe(ch chan<- *prometheus.Desc) { m.vec.Describe(ch) }

// Collect implements [prometheus.Collector]. It sends the series ordered
// as the exposition lists them, which makes a scrape of a metric with many
// series much cheaper.
func (m *Counter) Collect(ch chan<- prometheus.Metric) { m.s.collect(ch, m.vec) }

// CurryWith returns a vector with some labels fixed, as the client_golang
// vector's CurryWith does. Series created through it share this metric's
// series but are not capped by MaxSeries.
func (m *Counter) CurryWith(labels prometheus.Labels) (*prometheus.CounterVec, error) {
	v, err := m.vec.CurryWith(labels)
	m.s.markCurried(err)
	return v, err
}

// MustCurryWith is [Counter.CurryWith] that panics on error, like its
// client_golang counterpart.
func (m *Counter) MustCurryWith(labels prometheus.Labels) *prometheus.CounterVec {
	v, err := m.CurryWith(labels)
	if err != nil {
		panic(err)
	}
	return v
}

// WithLabelValues returns the counter for the label values, in LabelNames
// order, creating it if needed. Beyond MaxSeries it returns the overflow
// series; with the wrong number of values it returns a counter that
// discards writes (see the package doc).
func (m *Counter) WithLabelValues(lvs ...string) prometheus.Counter {
	c, _ := m.s.lookup(lvs, true)
	return c
}

// With is [Counter.WithLabelValues] with the labels given by name.
func (m *Counter) With(labels prometheus.Labels) prometheus.Counter {
	c, _ := m.s.lookupLabels(labels, true)
	return c
}

// GetMetricWithLabelValues is [Counter.WithLabelValues] that returns misuse
// as an error (with a discarding counter) instead of logging it.
func (m *Counter) GetMetricWithLabelValues(lvs ...string) (prometheus.Counter, error) {
	return m.s.lookup(lvs, false)
}

// GetMetricWith is [Counter.With] that returns misuse as an error.
func (m *Counter) GetMetricWith(labels prometheus.Labels) (prometheus.Counter, error) {
	return m.s.lookupLabels(labels, false)
}

// Inc increments a counter declared without LabelNames.
func (m *Counter) Inc() { m.WithLabelValues().Inc() }

// Add adds v (which must be >= 0) to a counter declared without LabelNames.
func (m *Counter) Add(v float64) { m.WithLabelValues().Add(v) }

// DeleteLabelValues removes the series with these label values; it reports
// whether one existed. The series no longer counts towards MaxSeries.
func (m *Counter) DeleteLabelValues(lvs ...string) bool {
	return m.s.forget(lvs, func() bool { return m.vec.DeleteLabelValues(lvs...) })
}

// Delete is [Counter.DeleteLabelValues] with the labels given by name.
func (m *Counter) Delete(labels prometheus.Labels) bool {
	return m.s.forgetLabels(labels, func() bool { return m.vec.Delete(labels) })
}

// DeletePartialMatch removes every series whose labels include labels and
// returns how many it removed.
func (m *Counter) DeletePartialMatch(labels prometheus.Labels) int {
	return m.s.forgetPartial(labels, func() int { return m.vec.DeletePartialMatch(labels) })
}

// Reset removes every series.
func (m *Counter) Reset() { m.s.reset(m.vec.Reset) }

// Gauge is a gauge with labels: a wrapped [prometheus.GaugeVec] whose lookups are
// capped at MaxSeries and never panic. Declare it with [NewGauge].
type Gauge struct {
	vec  *prometheus.GaugeVec
	name string
	err  error
	s    *series[prometheus.Gauge]
}

// NewGauge declares a gauge. It never panics: invalid options are kept and
// returned by [Gauge.Err], and the service refuses to start with them.
func NewGauge(o GaugeOpts) *Gauge {
	c := &checker{kind: "gauge", name: o.Name}
	c.common(o.Help, o.LabelNames, o.MaxSeries, "")
	m := &Gauge{name: o.Name, err: c.err()}
	if m.err == nil {
		m.vec = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: o.Name, Help: o.Help}, o.LabelNames)
	} else {
		m.vec = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: placeholderName, Help: placeholderHelp}, nil)
	}
	discard := prometheus.NewGauge(prometheus.GaugeOpts{Name: placeholderName, Help: placeholderHelp})
	m.s = newSeries("gauge", o.Name, o.Help, dto.MetricType_GAUGE, o.LabelNames, o.MaxSeries, m.err, m.vec.GetMetricWithLabelValues, discard)
	customreg.Add(m)
	return m
}

// Name returns the metric's name.
func (m *Gauge) Name() string { return m.name }

// Err returns the problems found in the options, or nil.
func (m *Gauge) Err() error { return m.err }

// Collector returns what the service registers: the metric itself, or nil
// if Err is not nil.
func (m *Gauge) Collector() prometheus.Collector {
	if m.err != nil {
		return nil
	}
	return m
}

// Direct reports whether [Gauge.WriteFamily] lists every series: true
// unless the options were invalid or the metric was curried.
func (m *Gauge) Direct() bool { return m.s.direct() }

// WriteFamily returns the whole family, its series in exposition order, or
// nil when it has none. A service's /metrics writes the metric this way,
// skipping the registry's per-series channel send, check and sort, while
// [Direct] holds; most programs never call it.
func (m *Gauge) WriteFamily() (*dto.MetricFamily, error) { return m.s.family() }

// Describe implements [prometheus.Collector].
func (m *Gauge) Describe(ch chan<- *prometheus.Desc) { m.vec.Describe(ch) }

// Collect implements [prometheus.Collector]. It sends the series ordered
// as the exposition lists them, which makes a scrape of a metric with many
// series much cheaper.
func (m *Gauge) Collect(ch chan<- prometheus.Metric) { m.s.collect(ch, m.vec) }

// CurryWith returns a vector with some labels fixed, as the client_golang
// vector's CurryWith does. Series created through it share this metric's
// series but are not capped by MaxSeries.
func (m *Gauge) CurryWith(labels prometheus.Labels) (*prometheus.GaugeVec, error) {
	v, err := m.vec.CurryWith(labels)
	m.s.markCurried(err)
	return v, err
}

// MustCurryWith is [Gauge.CurryWith] that panics on error, like its
// client_golang counterpart.
func (m *Gauge) MustCurryWith(labels prometheus.Labels) *prometheus.GaugeVec {
	v, err := m.CurryWith(labels)
	if err != nil {
		panic(err)
	}
	return v
}

// WithLabelValues returns the gauge for the label values, creating it if
// needed; see [Counter.WithLabelValues] for limits and misuse.
func (m *Gauge) WithLabelValues(lvs ...string) prometheus.Gauge {
	g, _ := m.s.lookup(lvs, true)
	return g
}

// With is [Gauge.WithLabelValues] with the labels given by name.
func (m *Gauge) With(labels prometheus.Labels) prometheus.Gauge {
	g, _ := m.s.lookupLabels(labels, true)
	return g
}

// GetMetricWithLabelValues is [Gauge.WithLabelValues] that returns misuse
// as an error instead of logging it.
func (m *Gauge) GetMetricWithLabelValues(lvs ...string) (prometheus.Gauge, error) {
	return m.s.lookup(lvs, false)
}

// GetMetricWith is [Gauge.With] that returns misuse as an error.
func (m *Gauge) GetMetricWith(labels prometheus.Labels) (prometheus.Gauge, error) {
	return m.s.lookupLabels(labels, false)
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

// DeleteLabelValues removes the series with these label values; it reports
// whether one existed.
func (m *Gauge) DeleteLabelValues(lvs ...string) bool {
	return m.s.forget(lvs, func() bool { return m.vec.DeleteLabelValues(lvs...) })
}

// Delete is [Gauge.DeleteLabelValues] with the labels given by name.
func (m *Gauge) Delete(labels prometheus.Labels) bool {
	return m.s.forgetLabels(labels, func() bool { return m.vec.Delete(labels) })
}

// DeletePartialMatch removes every series whose labels include labels.
func (m *Gauge) DeletePartialMatch(labels prometheus.Labels) int {
	return m.s.forgetPartial(labels, func() int { return m.vec.DeletePartialMatch(labels) })
}

// Reset removes every series.
func (m *Gauge) Reset() { m.s.reset(m.vec.Reset) }

// Histogram is a histogram with labels: a wrapped [prometheus.HistogramVec] whose
// lookups are capped at MaxSeries and never panic, and whose buckets are
// checked at declaration rather than at the first observation. Declare it
// with [NewHistogram].
type Histogram struct {
	vec  *prometheus.HistogramVec
	name string
	err  error
	s    *series[prometheus.Observer]
}

// NewHistogram declares a histogram. It never panics: invalid options are
// kept and returned by [Histogram.Err], and the service refuses to start
// with them.
func NewHistogram(o HistogramOpts) *Histogram {
	b, err := checkHistogram(&o)
	m := &Histogram{name: o.Name, err: err}
	if err == nil {
		po := prometheus.HistogramOpts{Name: o.Name, Help: o.Help, Buckets: b}
		if o.NativeHistogramBucketFactor > 1 {
			po.NativeHistogramBucketFactor = o.NativeHistogramBucketFactor
			po.NativeHistogramMaxBucketNumber = 160
			po.NativeHistogramMinResetDuration = time.Hour
		}
		m.vec = prometheus.NewHistogramVec(po, o.LabelNames)
	} else {
		m.vec = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: placeholderName, Help: placeholderHelp}, nil)
	}
	discard := prometheus.NewHistogram(prometheus.HistogramOpts{Name: placeholderName, Help: placeholderHelp, Buckets: []float64{1}})
	m.s = newSeries("histogram", o.Name, o.Help, dto.MetricType_HISTOGRAM, o.LabelNames, o.MaxSeries, m.err, m.vec.GetMetricWithLabelValues, prometheus.Observer(discard))
	customreg.Add(m)
	return m
}

// Name returns the metric's name.
func (m *Histogram) Name() string { return m.name }

// Err returns the problems found in the options, or nil.
func (m *Histogram) Err() error { return m.err }

// Collector returns what the service registers: the metric itself, or nil
// if Err is not nil.
func (m *Histogram) Collector() prometheus.Collector {
	if m.err != nil {
		return nil
	}
	return m
}

// Direct reports whether [Histogram.WriteFamily] lists every series: true
// unless the options were invalid or the metric was curried.
func (m *Histogram) Direct() bool { return m.s.direct() }

// WriteFamily returns the whole family, its series in exposition order, or
// nil when it has none. A service's /metrics writes the metric this way,
// skipping the registry's per-series channel send, check and sort, while
// [Direct] holds; most programs never call it.
func (m *Histogram) WriteFamily() (*dto.MetricFamily, error) { return m.s.family() }

// Describe implements [prometheus.Collector].
func (m *Histogram) Describe(ch chan<- *prometheus.Desc) { m.vec.Describe(ch) }

// Collect implements [prometheus.Collector]. It sends the series ordered
// as the exposition lists them, which makes a scrape of a metric with many
// series much cheaper.
func (m *Histogram) Collect(ch chan<- prometheus.Metric) { m.s.collect(ch, m.vec) }

// CurryWith returns a vector with some labels fixed, as the client_golang
// vector's CurryWith does. Series created through it share this metric's
// series but are not capped by MaxSeries.
func (m *Histogram) CurryWith(labels prometheus.Labels) (prometheus.ObserverVec, error) {
	v, err := m.vec.CurryWith(labels)
	m.s.markCurried(err)
	return v, err
}

// MustCurryWith is [Histogram.CurryWith] that panics on error, like its
// client_golang counterpart.
func (m *Histogram) MustCurryWith(labels prometheus.Labels) prometheus.ObserverVec {
	v, err := m.CurryWith(labels)
	if err != nil {
		panic(err)
	}
	return v
}

// WithLabelValues returns the histogram for the label values, creating it
// if needed; see [Counter.WithLabelValues] for limits and misuse. The
// result also implements [prometheus.ExemplarObserver].
func (m *Histogram) WithLabelValues(lvs ...string) prometheus.Observer {
	o, _ := m.s.lookup(lvs, true)
	return o
}

// With is [Histogram.WithLabelValues] with the labels given by name.
func (m *Histogram) With(labels prometheus.Labels) prometheus.Observer {
	o, _ := m.s.lookupLabels(labels, true)
	return o
}

// GetMetricWithLabelValues is [Histogram.WithLabelValues] that returns
// misuse as an error instead of logging it.
func (m *Histogram) GetMetricWithLabelValues(lvs ...string) (prometheus.Observer, error) {
	return m.s.lookup(lvs, false)
}

// GetMetricWith is [Histogram.With] that returns misuse as an error.
func (m *Histogram) GetMetricWith(labels prometheus.Labels) (prometheus.Observer, error) {
	return m.s.lookupLabels(labels, false)
}

// Observe records v in a histogram declared without LabelNames.
func (m *Histogram) Observe(v float64) { m.WithLabelValues().Observe(v) }

// DeleteLabelValues removes the series with these label values; it reports
// whether one existed.
func (m *Histogram) DeleteLabelValues(lvs ...string) bool {
	return m.s.forget(lvs, func() bool { return m.vec.DeleteLabelValues(lvs...) })
}

// Delete is [Histogram.DeleteLabelValues] with the labels given by name.
func (m *Histogram) Delete(labels prometheus.Labels) bool {
	return m.s.forgetLabels(labels, func() bool { return m.vec.Delete(labels) })
}

// DeletePartialMatch removes every series whose labels include labels.
func (m *Histogram) DeletePartialMatch(labels prometheus.Labels) int {
	return m.s.forgetPartial(labels, func() int { return m.vec.DeletePartialMatch(labels) })
}

// Reset removes every series.
func (m *Histogram) Reset() { m.s.reset(m.vec.Reset) }

// Summary is a summary with labels: a wrapped [prometheus.SummaryVec] whose lookups
// are capped at MaxSeries and never panic. Declare it with [NewSummary].
type Summary struct {
	vec  *prometheus.SummaryVec
	name string
	err  error
	s    *series[prometheus.Observer]
}

// NewSummary declares a summary. It never panics: invalid options are kept
// and returned by [Summary.Err], and the service refuses to start with
// them.
func NewSummary(o SummaryOpts) *Summary {
	err := checkSummary(&o)
	m := &Summary{name: o.Name, err: err}
	if err == nil {
		obj := make(map[float64]float64, len(o.Objectives))
		for q, e := range o.Objectives {
			obj[q] = e
		}
		m.vec = prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name: o.Name, Help: o.Help, Objectives: obj, MaxAge: o.MaxAge,
		}, o.LabelNames)
	} else {
		m.vec = prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: placeholderName, Help: placeholderHelp}, nil)
	}
	discard := prometheus.NewSummary(prometheus.SummaryOpts{Name: placeholderName, Help: placeholderHelp})
	m.s = newSeries("summary", o.Name, o.Help, dto.MetricType_SUMMARY, o.LabelNames, o.MaxSeries, m.err, m.vec.GetMetricWithLabelValues, prometheus.Observer(discard))
	customreg.Add(m)
	return m
}

// Name returns the metric's name.
func (m *Summary) Name() string { return m.name }

// Err returns the problems found in the options, or nil.
func (m *Summary) Err() error { return m.err }

// Collector returns what the service registers: the metric itself, or nil
// if Err is not nil.
func (m *Summary) Collector() prometheus.Collector {
	if m.err != nil {
		return nil
	}
	return m
}

// Direct reports whether [Summary.WriteFamily] lists every series: true
// unless the options were invalid or the metric was curried.
func (m *Summary) Direct() bool { return m.s.direct() }

// WriteFamily returns the whole family, its series in exposition order, or
// nil when it has none. A service's /metrics writes the metric this way,
// skipping the registry's per-series channel send, check and sort, while
// [Direct] holds; most programs never call it.
func (m *Summary) WriteFamily() (*dto.MetricFamily, error) { return m.s.family() }

// Describe implements [prometheus.Collector].
func (m *Summary) Describe(ch chan<- *prometheus.Desc) { m.vec.Describe(ch) }

// Collect implements [prometheus.Collector]. It sends the series ordered
// as the exposition lists them, which makes a scrape of a metric with many
// series much cheaper.
func (m *Summary) Collect(ch chan<- prometheus.Metric) { m.s.collect(ch, m.vec) }

// CurryWith returns a vector with some labels fixed, as the client_golang
// vector's CurryWith does. Series created through it share this metric's
// series but are not capped by MaxSeries.
func (m *Summary) CurryWith(labels prometheus.Labels) (prometheus.ObserverVec, error) {
	v, err := m.vec.CurryWith(labels)
	m.s.markCurried(err)
	return v, err
}

// MustCurryWith is [Summary.CurryWith] that panics on error, like its
// client_golang counterpart.
func (m *Summary) MustCurryWith(labels prometheus.Labels) prometheus.ObserverVec {
	v, err := m.CurryWith(labels)
	if err != nil {
		panic(err)
	}
	return v
}

// WithLabelValues returns the summary for the label values, creating it if
// needed; see [Counter.WithLabelValues] for limits and misuse.
func (m *Summary) WithLabelValues(lvs ...string) prometheus.Observer {
	o, _ := m.s.lookup(lvs, true)
	return o
}

// With is [Summary.WithLabelValues] with the labels given by name.
func (m *Summary) With(labels prometheus.Labels) prometheus.Observer {
	o, _ := m.s.lookupLabels(labels, true)
	return o
}

// GetMetricWithLabelValues is [Summary.WithLabelValues] that returns misuse
// as an error instead of logging it.
func (m *Summary) GetMetricWithLabelValues(lvs ...string) (prometheus.Observer, error) {
	return m.s.lookup(lvs, false)
}

// GetMetricWith is [Summary.With] that returns misuse as an error.
func (m *Summary) GetMetricWith(labels prometheus.Labels) (prometheus.Observer, error) {
	return m.s.lookupLabels(labels, false)
}

// Observe records v in a summary declared without LabelNames.
func (m *Summary) Observe(v float64) { m.WithLabelValues().Observe(v) }

// DeleteLabelValues removes the series with these label values; it reports
// whether one existed.
func (m *Summary) DeleteLabelValues(lvs ...string) bool {
	return m.s.forget(lvs, func() bool { return m.vec.DeleteLabelValues(lvs...) })
}

// Delete is [Summary.DeleteLabelValues] with the labels given by name.
func (m *Summary) Delete(labels prometheus.Labels) bool {
	return m.s.forgetLabels(labels, func() bool { return m.vec.Delete(labels) })
}

// DeletePartialMatch removes every series whose labels include labels.
func (m *Summary) DeletePartialMatch(labels prometheus.Labels) int {
	return m.s.forgetPartial(labels, func() int { return m.vec.DeletePartialMatch(labels) })
}

// Reset removes every series.
func (m *Summary) Reset() { m.s.reset(m.vec.Reset) }

// Interface guards: every metric is a declared custom metric and a
// collector.
var (
	_ customreg.Metric     = (*Counter)(nil)
	_ customreg.Metric     = (*Gauge)(nil)
	_ customreg.Metric     = (*Histogram)(nil)
	_ customreg.Metric     = (*Summary)(nil)
	_ prometheus.Collector = (*Counter)(nil)
	_ prometheus.Collector = (*Gauge)(nil)
	_ prometheus.Collector = (*Histogram)(nil)
	_ prometheus.Collector = (*Summary)(nil)
)

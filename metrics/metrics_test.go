package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gobento/bento/internal/customreg"
	"github.com/gobento/bento/internal/instrument"
	"github.com/gobento/bento/metrics"
)

// forget removes m from the process-wide declarations when the test ends, so
// later tests' attachments do not see it.
func forget[M metrics.Metric](t *testing.T, m M) M {
	t.Helper()
	t.Cleanup(func() { customreg.Remove(m) })
	return m
}

// served is a registry as a service holds it: registering into it works as
// usual, and Gather returns what the service's /metrics serves.
type served struct {
	*prometheus.Registry
	g prometheus.Gatherer
}

func (s served) Gather() ([]*dto.MetricFamily, error) { return s.g.Gather() }

// start registers every declared metric into a fresh registry, as a service
// start does, and closes the attachment when the test ends.
func start(t *testing.T) served {
	t.Helper()
	reg := prometheus.NewRegistry()
	a, err := customreg.Attach(reg, nil)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	t.Cleanup(a.Close)
	return served{reg, a}
}

// plumbing returns what a service registers for m.
func plumbing(m metrics.Metric) customreg.Metric {
	p, _ := customreg.Lookup(m)
	return p
}

// isDirect reports whether a service's /metrics writes m's family itself.
func isDirect(m metrics.Metric) bool {
	d, ok := plumbing(m).(customreg.Direct)
	return ok && d.Direct()
}

// scrape renders reg as text, as /metrics does, and parses it back.
func scrape(t *testing.T, reg prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func metricWith(t *testing.T, mf *dto.MetricFamily, want map[string]string) *dto.Metric {
	t.Helper()
	for _, m := range mf.GetMetric() {
		l := labelsOf(m)
		ok := true
		for k, v := range want {
			ok = ok && l[k] == v
		}
		if ok {
			return m
		}
	}
	t.Fatalf("%s: no series with %v", mf.GetName(), want)
	return nil
}

// logCapture is a slog.Handler that keeps records, to count log lines.
type logCapture struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCapture) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *logCapture) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logCapture) WithGroup(string) slog.Handler      { return h }

func (h *logCapture) count(level slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if r.Level == level {
			n++
		}
	}
	return n
}

func captureLogs(t *testing.T) *logCapture {
	h := &logCapture{}
	old := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(old) })
	return h
}

var guideBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, math.Inf(1)}

func TestGuideMetrics(t *testing.T) {
	inferenceDuration := forget(t, metrics.NewHistogram(metrics.HistogramOpts{
		Name:       "inference_duration",
		Help:       "Duration of inference",
		LabelNames: []string{"nltk_version", "sentiment_cls"},
		Buckets:    guideBuckets,
	}))
	polarity := forget(t, metrics.NewCounter(metrics.CounterOpts{
		Name:       "polarity_total",
		Help:       "Count total number of analysis by polarity scores",
		LabelNames: []string{"polarity"},
	}))
	if err := errors.Join(inferenceDuration.Err(), polarity.Err()); err != nil {
		t.Fatal(err)
	}
	reg := start(t)
	if _, err := instrument.New(reg, instrument.Options{ServiceName: "sentiment_analyzer", APIEnabled: true}); err != nil {
		t.Fatal(err) // default families and custom metrics share the registry
	}

	for _, d := range []float64{0.003, 0.02, 0.02, 4} {
		inferenceDuration.WithLabelValues("3.8", "SentimentIntensityAnalyzer").Observe(d)
	}
	polarity.WithLabelValues("true").Inc()
	polarity.WithLabelValues("true").Inc()
	polarity.With(prometheus.Labels{"polarity": "false"}).Inc()

	fams := scrape(t, reg)
	h := fams["inference_duration"]
	if h.GetType() != dto.MetricType_HISTOGRAM || h.GetHelp() != "Duration of inference" {
		t.Fatalf("inference_duration: type %v help %q", h.GetType(), h.GetHelp())
	}
	m := metricWith(t, h, map[string]string{"nltk_version": "3.8", "sentiment_cls": "SentimentIntensityAnalyzer"})
	var bounds []float64
	cum := map[float64]uint64{}
	for _, b := range m.GetHistogram().GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
		cum[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	if !slices.Equal(bounds[:len(bounds)-1], guideBuckets[:len(guideBuckets)-1]) || !math.IsInf(bounds[len(bounds)-1], 1) {
		t.Errorf("buckets %v, want the guide's (one +Inf)", bounds)
	}
	if m.GetHistogram().GetSampleCount() != 4 || cum[0.005] != 1 || cum[0.025] != 3 || cum[5] != 4 {
		t.Errorf("histogram count %d, cumulative %v", m.GetHistogram().GetSampleCount(), cum)
	}
	c := fams["polarity_total"]
	if c.GetType() != dto.MetricType_COUNTER || c.GetHelp() != "Count total number of analysis by polarity scores" {
		t.Fatalf("polarity_total: type %v help %q", c.GetType(), c.GetHelp())
	}
	if v := metricWith(t, c, map[string]string{"polarity": "true"}).GetCounter().GetValue(); v != 2 {
		t.Errorf("polarity{true} = %v, want 2", v)
	}
	if v := metricWith(t, c, map[string]string{"polarity": "false"}).GetCounter().GetValue(); v != 1 {
		t.Errorf("polarity{false} = %v, want 1", v)
	}
	for _, self := range customreg.SelfMetricNames {
		if _, ok := fams[self]; !ok {
			t.Errorf("self-metric %s not registered", self)
		}
	}
	if v := metricWith(t, fams["gobento_metric_series_overflow_total"], map[string]string{"metric_name": "polarity_total"}).GetCounter().GetValue(); v != 0 {
		t.Errorf("overflow for polarity_total = %v, want 0", v)
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestAllTypesAndFeatures(t *testing.T) {
	g := forget(t, metrics.NewGauge(metrics.GaugeOpts{Name: "queue_depth", Help: "Items waiting.", LabelNames: []string{"queue"}}))
	s := forget(t, metrics.NewSummary(metrics.SummaryOpts{
		Name: "payload_bytes", Help: "Request payload size.", LabelNames: []string{"api"},
		Objectives: map[float64]float64{0.5: 0.05, 0.99: 0.001},
	}))
	plain := forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "started_total", Help: "Starts."}))
	native := forget(t, metrics.NewHistogram(metrics.HistogramOpts{
		Name: "latency_seconds", Help: "Latency.", NativeHistogramBucketFactor: 1.1,
	}))
	nolabel := forget(t, metrics.NewGauge(metrics.GaugeOpts{Name: "temperature_celsius", Help: "Temperature."}))
	sumNoLabel := forget(t, metrics.NewSummary(metrics.SummaryOpts{Name: "size_bytes", Help: "Sizes."}))
	reg := start(t)

	g.WithLabelValues("a").Set(5)
	g.With(prometheus.Labels{"queue": "a"}).Dec()
	for i := range 100 {
		s.WithLabelValues("classify").Observe(float64(i))
	}
	plain.Inc()
	plain.Add(2)
	native.Observe(0.3)
	nolabel.Set(20)
	nolabel.Inc()
	nolabel.Sub(0.5)
	nolabel.Add(1)
	nolabel.Dec()
	sumNoLabel.Observe(3)

	// Exemplars through the client_golang interfaces.
	eo, ok := native.WithLabelValues().(prometheus.ExemplarObserver)
	if !ok {
		t.Fatal("histogram child is not an ExemplarObserver")
	}
	eo.ObserveWithExemplar(0.2, prometheus.Labels{"trace_id": "t1"})
	ea, ok := plain.WithLabelValues().(prometheus.ExemplarAdder)
	if !ok {
		t.Fatal("counter child is not an ExemplarAdder")
	}
	ea.AddWithExemplar(1, prometheus.Labels{"trace_id": "t2"})

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	if v := byName["queue_depth"].GetMetric()[0].GetGauge().GetValue(); v != 4 {
		t.Errorf("gauge %v, want 4", v)
	}
	sm := byName["payload_bytes"].GetMetric()[0].GetSummary()
	if sm.GetSampleCount() != 100 || len(sm.GetQuantile()) != 2 || sm.GetQuantile()[0].GetQuantile() != 0.5 {
		t.Errorf("summary %v", sm)
	}
	pc := byName["started_total"].GetMetric()[0].GetCounter()
	if pc.GetValue() != 4 || pc.GetExemplar().GetLabel()[0].GetValue() != "t2" {
		t.Errorf("counter %v", pc)
	}
	nh := byName["latency_seconds"].GetMetric()[0].GetHistogram()
	if nh.GetSchema() == 0 && len(nh.GetPositiveSpan()) == 0 || nh.GetSampleCount() != 2 {
		t.Errorf("native histogram missing: %v", nh)
	}
	if len(nh.GetBucket()) != len(metrics.DefaultBuckets) { // classic buckets kept too (+Inf is implicit in dto)
		t.Errorf("classic buckets %d, want %d", len(nh.GetBucket()), len(metrics.DefaultBuckets))
	}
	var sawExemplar bool
	for _, b := range nh.GetBucket() {
		sawExemplar = sawExemplar || b.GetExemplar() != nil
	}
	if !sawExemplar && len(nh.GetExemplars()) == 0 {
		t.Error("histogram exemplar missing")
	}
	if v := byName["temperature_celsius"].GetMetric()[0].GetGauge().GetValue(); v != 20.5 {
		t.Errorf("unlabelled gauge %v, want 20.5", v)
	}
	if n := byName["size_bytes"].GetMetric()[0].GetSummary().GetSampleCount(); n != 1 {
		t.Errorf("unlabelled summary count %d", n)
	}
	// Curried vectors of the embedded type work too.
	cv := g.MustCurryWith(prometheus.Labels{"queue": "b"})
	cv.WithLabelValues().Set(7)
	if v := testutil.ToFloat64(g.WithLabelValues("b")); v != 7 {
		t.Errorf("curried write not visible: %v", v)
	}
}

func TestInvalidOptions(t *testing.T) {
	type ctor func() metrics.Metric
	counter := func(o metrics.CounterOpts) ctor { return func() metrics.Metric { return metrics.NewCounter(o) } }
	hist := func(o metrics.HistogramOpts) ctor { return func() metrics.Metric { return metrics.NewHistogram(o) } }
	summary := func(o metrics.SummaryOpts) ctor { return func() metrics.Metric { return metrics.NewSummary(o) } }
	gauge := func(o metrics.GaugeOpts) ctor { return func() metrics.Metric { return metrics.NewGauge(o) } }
	tests := []struct {
		name string
		new  ctor
		want string
	}{
		{"empty name", counter(metrics.CounterOpts{Help: "h"}), "Name is required"},
		{"bad name", counter(metrics.CounterOpts{Name: "bad-name", Help: "h"}), "Name must match"},
		{"leading digit", gauge(metrics.GaugeOpts{Name: "1x", Help: "h"}), "Name must match"},
		{"gobento prefix", counter(metrics.CounterOpts{Name: "gobento_things_total", Help: "h"}), "reserved"},
		{"default family", counter(metrics.CounterOpts{Name: "bentoml_api_server_request_total", Help: "h"}), "bentoml_api_server_request_total"},
		{"default family series", counter(metrics.CounterOpts{Name: "bentoml_runner_request_duration_seconds_count", Help: "h"}), "default metric family"},
		{"default family without _total", counter(metrics.CounterOpts{Name: "bentoml_runner_shed", Help: "h"}), "default metric family"},
		{"empty help", counter(metrics.CounterOpts{Name: "x_total"}), "Help is required"},
		{"bad label", counter(metrics.CounterOpts{Name: "x_total", Help: "h", LabelNames: []string{"a-b"}}), `"a-b" must match`},
		{"empty label", counter(metrics.CounterOpts{Name: "x_total", Help: "h", LabelNames: []string{""}}), "must match"},
		{"dunder label", gauge(metrics.GaugeOpts{Name: "x", Help: "h", LabelNames: []string{"__name"}}), "reserved"},
		{"duplicate label", counter(metrics.CounterOpts{Name: "x_total", Help: "h", LabelNames: []string{"a", "b", "a"}}), `LabelNames[2] "a" is a duplicate`},
		{"le on histogram", hist(metrics.HistogramOpts{Name: "x", Help: "h", LabelNames: []string{"le"}}), `"le" is reserved`},
		{"quantile on summary", summary(metrics.SummaryOpts{Name: "x", Help: "h", LabelNames: []string{"quantile"}}), `"quantile" is reserved`},
		{"negative MaxSeries", counter(metrics.CounterOpts{Name: "x_total", Help: "h", MaxSeries: -1}), "MaxSeries"},
		{"unsorted buckets", hist(metrics.HistogramOpts{Name: "x", Help: "h", Buckets: []float64{1, 0.5}}), "Buckets"},
		{"duplicate buckets", hist(metrics.HistogramOpts{Name: "x", Help: "h", Buckets: []float64{1, 1}}), "duplicates"},
		{"NaN bucket", hist(metrics.HistogramOpts{Name: "x", Help: "h", Buckets: []float64{math.NaN()}}), "Buckets"},
		{"Inf not last", hist(metrics.HistogramOpts{Name: "x", Help: "h", Buckets: []float64{math.Inf(1), 1}}), "Buckets"},
		{"empty buckets", hist(metrics.HistogramOpts{Name: "x", Help: "h", Buckets: []float64{}}), "Buckets"},
		{"native factor 1", hist(metrics.HistogramOpts{Name: "x", Help: "h", NativeHistogramBucketFactor: 1}), "NativeHistogramBucketFactor"},
		{"native factor negative", hist(metrics.HistogramOpts{Name: "x", Help: "h", NativeHistogramBucketFactor: -2}), "NativeHistogramBucketFactor"},
		{"quantile 1", summary(metrics.SummaryOpts{Name: "x", Help: "h", Objectives: map[float64]float64{1: 0.01}}), "quantile 1"},
		{"quantile 0", summary(metrics.SummaryOpts{Name: "x", Help: "h", Objectives: map[float64]float64{0: 0.01}}), "quantile 0"},
		{"objective error 1", summary(metrics.SummaryOpts{Name: "x", Help: "h", Objectives: map[float64]float64{0.5: 1}}), "error 1"},
		{"objective error negative", summary(metrics.SummaryOpts{Name: "x", Help: "h", Objectives: map[float64]float64{0.5: -0.1}}), "error -0.1"},
		{"negative MaxAge", summary(metrics.SummaryOpts{Name: "x", Help: "h", MaxAge: -1}), "MaxAge"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := forget(t, tc.new())
			err := m.Err()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Err() = %v, want it to mention %q", err, tc.want)
			}
			if !errors.Is(err, metrics.ErrInvalidOptions) {
				t.Errorf("error does not wrap ErrInvalidOptions: %v", err)
			}
			if plumbing(m).Collector() != nil {
				t.Error("Collector() of an invalid metric is not nil")
			}
			// Using an invalid metric discards writes without panicking.
			switch v := m.(type) {
			case *metrics.Counter:
				v.WithLabelValues("a", "b").Inc()
				v.DeleteLabelValues("a")
				v.Reset()
			case *metrics.Histogram:
				v.WithLabelValues("a").Observe(1)
				v.With(prometheus.Labels{"le": "1"}).Observe(1)
			case *metrics.Summary:
				v.WithLabelValues().Observe(1)
			case *metrics.Gauge:
				v.WithLabelValues().Set(1)
			}
			reg := prometheus.NewRegistry()
			_, err = customreg.Attach(reg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Attach = %v, want it to report %q", err, tc.want)
			}
			if mfs, _ := reg.Gather(); len(mfs) != 0 {
				t.Errorf("failed Attach left %d families registered", len(mfs))
			}
		})
	}

	t.Run("all problems at once", func(t *testing.T) {
		m := forget(t, metrics.NewHistogram(metrics.HistogramOpts{Name: "bad name", LabelNames: []string{"le"}, Buckets: []float64{2, 1}}))
		if n := strings.Count(m.Err().Error(), "\n") + 1; n != 4 {
			t.Errorf("got %d problems, want 4:\n%v", n, m.Err())
		}
	})
}

func TestSeriesCap(t *testing.T) {
	logs := captureLogs(t)
	c := forget(t, metrics.NewCounter(metrics.CounterOpts{
		Name: "cap_test_total", Help: "Cap test.", LabelNames: []string{"user", "kind"}, MaxSeries: 3,
	}))
	reg := start(t)
	for i := range 10 {
		c.WithLabelValues(fmt.Sprint("u", i), "k").Inc()
	}
	c.WithLabelValues("u0", "k").Inc() // kept series still work after the cap
	c.With(prometheus.Labels{"user": "u1", "kind": "k"}).Add(2)

	fams := scrape(t, reg)
	mf := fams["cap_test_total"]
	if n := len(mf.GetMetric()); n != 4 {
		t.Fatalf("%d series, want 3 + overflow", n)
	}
	for user, v := range map[string]float64{"u0": 2, "u1": 3, "u2": 1, metrics.OverflowValue: 7} {
		if got := metricWith(t, mf, map[string]string{"user": user}).GetCounter().GetValue(); got != v {
			t.Errorf("user %s = %v, want %v", user, got, v)
		}
	}
	if got := labelsOf(metricWith(t, mf, map[string]string{"user": metrics.OverflowValue}))["kind"]; got != metrics.OverflowValue {
		t.Errorf("overflow kind label %q", got)
	}
	if v := metricWith(t, fams["gobento_metric_series_overflow_total"], map[string]string{"metric_name": "cap_test_total"}).GetCounter().GetValue(); v != 7 {
		t.Errorf("overflow counter %v, want 7", v)
	}
	if n := logs.count(slog.LevelWarn); n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}

	// Deleting a series frees a slot.
	if !c.DeleteLabelValues("u2", "k") {
		t.Fatal("DeleteLabelValues found nothing")
	}
	c.WithLabelValues("u9", "k").Inc()
	if v := testutil.ToFloat64(c.WithLabelValues("u9", "k")); v != 1 {
		t.Errorf("after delete, new series = %v, want its own series at 1", v)
	}
	if n := c.DeletePartialMatch(prometheus.Labels{"kind": "k"}); n != 3 {
		t.Errorf("DeletePartialMatch removed %d, want 3 (the overflow series has kind=%s)", n, metrics.OverflowValue)
	}
	for i := range 3 {
		c.WithLabelValues(fmt.Sprint("v", i), "k").Inc()
	}
	if n := testutil.CollectAndCount(c); n != 4 {
		t.Errorf("after partial delete: %d series, want 3 new + the overflow series", n)
	}
	c.Reset()
	for i := range 3 {
		c.With(prometheus.Labels{"user": fmt.Sprint("w", i), "kind": "k"}).Inc()
	}
	if !c.Delete(prometheus.Labels{"user": "w0", "kind": "k"}) {
		t.Error("Delete found nothing")
	}
	c.WithLabelValues("w3", "k").Inc()
	if n := testutil.CollectAndCount(c); n != 3 {
		t.Errorf("after reset and delete: %d series, want 3 (no overflow)", n)
	}
	if n := logs.count(slog.LevelWarn); n != 1 {
		t.Errorf("%d warnings in total, want 1 per metric", n)
	}
}

func TestLabelMisuse(t *testing.T) {
	logs := captureLogs(t)
	h := forget(t, metrics.NewHistogram(metrics.HistogramOpts{Name: "misuse_seconds", Help: "Misuse.", LabelNames: []string{"a"}}))
	reg := start(t)

	h.WithLabelValues().Observe(1)         // too few
	h.WithLabelValues("x", "y").Observe(1) // too many
	h.With(prometheus.Labels{"b": "x"}).Observe(1)
	h.WithLabelValues("\xff").Observe(1) // invalid UTF-8: client_golang would panic
	if _, err := h.GetMetricWithLabelValues("x", "y"); err == nil || !strings.Contains(err.Error(), "want 1") {
		t.Errorf("GetMetricWithLabelValues err = %v", err)
	}
	if _, err := h.GetMetricWith(prometheus.Labels{}); err == nil {
		t.Error("GetMetricWith with missing label: no error")
	}
	if o, err := h.GetMetricWith(prometheus.Labels{"a": "ok"}); err != nil || o == nil {
		t.Errorf("GetMetricWith valid: %v", err)
	}
	fams := scrape(t, reg)
	if v := metricWith(t, fams["gobento_metric_errors_total"], map[string]string{"metric_name": "misuse_seconds"}).GetCounter().GetValue(); v != 6 {
		t.Errorf("errors counter %v, want 6", v)
	}
	if n := len(fams["misuse_seconds"].GetMetric()); n != 1 {
		t.Errorf("%d series, want only the valid one", n)
	}
	if n := logs.count(slog.LevelError); n != 1 {
		t.Errorf("%d error logs, want 1", n)
	}
}

func TestDeclaredAfterStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg2 := prometheus.NewRegistry()
	a, err := customreg.Attach(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := customreg.Attach(reg2, nil)
	if err != nil {
		t.Fatal(err)
	}
	late := forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "late_total", Help: "Declared late."}))
	late.Inc()
	for i, g := range []prometheus.Gatherer{a, a2} {
		if n, err := testutil.GatherAndCount(g, "late_total"); err != nil || n != 1 {
			t.Errorf("registry %d: late metric series %d, %v", i, n, err)
		}
	}
	a.Close()
	if n, _ := testutil.GatherAndCount(a, "late_total"); n != 0 {
		t.Error("Close left the metric registered")
	}
	if mfs, _ := a.Gather(); len(mfs) != 0 {
		t.Errorf("Close left %d families", len(mfs))
	}
	after := forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "after_detach_total", Help: "h"}))
	after.Inc()
	if n, _ := testutil.GatherAndCount(a, "after_detach_total"); n != 0 {
		t.Error("a closed attachment received a new declaration")
	}
	if n, _ := testutil.GatherAndCount(a2, "after_detach_total"); n != 1 {
		t.Error("an open attachment missed a new declaration")
	}
	a2.Close()
}

func TestDuplicateNames(t *testing.T) {
	forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "dup_total", Help: "one"}))
	forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "dup_total", Help: "two", LabelNames: []string{"x"}}))
	forget(t, metrics.NewGauge(metrics.GaugeOpts{Name: "acme_request_total", Help: "Collides with a renamed default family."}))
	reg := prometheus.NewRegistry()
	if _, err := instrument.New(reg, instrument.Options{APIEnabled: true, APINamespace: "acme"}); err != nil {
		t.Fatal(err)
	}
	_, err := customreg.Attach(reg, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"dup_total" is declared 2 times`, `"acme_request_total"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestConcurrentCap(t *testing.T) {
	captureLogs(t)
	c := forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "race_total", Help: "h", LabelNames: []string{"k"}, MaxSeries: 50}))
	reg := start(t)
	const workers, per = 8, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				c.WithLabelValues(fmt.Sprint((w*per + i) % 100)).Inc()
			}
		})
	}
	wg.Wait()
	fams := scrape(t, reg)
	var total float64
	for _, m := range fams["race_total"].GetMetric() {
		total += m.GetCounter().GetValue()
	}
	if n := len(fams["race_total"].GetMetric()); n != 51 {
		t.Errorf("%d series, want 50 + overflow", n)
	}
	if total != workers*per {
		t.Errorf("sum %v, want %d", total, workers*per)
	}
	over := metricWith(t, fams["race_total"], map[string]string{"k": metrics.OverflowValue}).GetCounter().GetValue()
	if v := metricWith(t, fams["gobento_metric_series_overflow_total"], map[string]string{"metric_name": "race_total"}).GetCounter().GetValue(); v != over {
		t.Errorf("overflow counter %v, overflow series %v", v, over)
	}
}

func TestExponentialBuckets(t *testing.T) {
	if got := metrics.ExponentialBuckets(0.1, 5, 2); !slices.Equal(got, []float64{0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5}) {
		t.Errorf("got %v", got)
	}
	for _, args := range [][3]float64{{0, 1, 2}, {2, 1, 2}, {1, 2, 1}} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			metrics.ExponentialBuckets(args[0], args[1], args[2])
		})
	}
}

func TestNoAllocsOnExistingSeries(t *testing.T) {
	c := forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "alloc_total", Help: "h", LabelNames: []string{"a", "b"}}))
	h := forget(t, metrics.NewHistogram(metrics.HistogramOpts{Name: "alloc_seconds", Help: "h", LabelNames: []string{"a"}}))
	c.WithLabelValues("x", "y").Inc()
	h.WithLabelValues("x").Observe(1)
	labels := prometheus.Labels{"a": "x", "b": "y"}
	tests := map[string]func(){
		"Counter.WithLabelValues": func() { c.WithLabelValues("x", "y").Inc() },
		"Counter.With":            func() { c.With(labels).Inc() },
		"Histogram":               func() { h.WithLabelValues("x").Observe(0.5) },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, f); n != 0 {
				t.Errorf("%v allocs, want 0", n)
			}
		})
	}
}

func BenchmarkCounterWithLabelValues(b *testing.B) {
	c := metrics.NewCounter(metrics.CounterOpts{Name: "bench_total", Help: "h", LabelNames: []string{"polarity", "model"}})
	defer customreg.Remove(c)
	raw := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bench_raw_total", Help: "h"}, []string{"polarity", "model"})
	c.WithLabelValues("true", "vader").Inc()
	raw.WithLabelValues("true", "vader").Inc()
	b.Run("gobento", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.WithLabelValues("true", "vader").Inc()
		}
	})
	b.Run("client_golang", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw.WithLabelValues("true", "vader").Inc()
		}
	})
	b.Run("gobento-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.WithLabelValues("true", "vader").Inc()
			}
		})
	})
	b.Run("client_golang-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				raw.WithLabelValues("true", "vader").Inc()
			}
		})
	})
}

// TestUnlabelledAtZero checks that a metric without labels is on /metrics
// at 0 before its first use, as client_golang's plain metrics are, and
// stays one series once used.
func TestUnlabelledAtZero(t *testing.T) {
	c := forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "zero_requests_total", Help: "h"}))
	forget(t, metrics.NewGauge(metrics.GaugeOpts{Name: "zero_queue", Help: "h"}))
	forget(t, metrics.NewHistogram(metrics.HistogramOpts{Name: "zero_seconds", Help: "h"}))
	forget(t, metrics.NewSummary(metrics.SummaryOpts{Name: "zero_summary_seconds", Help: "h"}))
	forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "zero_labelled_total", Help: "h", LabelNames: []string{"x"}}))
	fams := scrape(t, start(t))
	for _, name := range []string{"zero_requests_total", "zero_queue", "zero_seconds", "zero_summary_seconds"} {
		mf := fams[name]
		if n := len(mf.GetMetric()); n != 1 {
			t.Fatalf("%s: %d series before first use, want 1", name, n)
		}
		m := mf.GetMetric()[0]
		if v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount()) + float64(m.GetSummary().GetSampleCount()); v != 0 {
			t.Errorf("%s starts at %v, want 0", name, v)
		}
	}
	if _, ok := fams["zero_labelled_total"]; ok {
		t.Error("a labelled metric has a series before first use")
	}
	c.Inc()
	if mf := scrape(t, start(t))["zero_requests_total"]; len(mf.GetMetric()) != 1 || mf.GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Errorf("after Inc: %v", mf)
	}
}

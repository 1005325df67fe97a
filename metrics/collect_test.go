package metrics_test

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/gobento/bento/metrics"
)

// collected returns the label values (in label-name order, as the
// exposition sorts them) of every metric m.Collect sends, in send order.
func collected(t *testing.T, c prometheus.Collector) [][]string {
	t.Helper()
	ch := make(chan prometheus.Metric)
	go func() { c.Collect(ch); close(ch) }()
	var out [][]string
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		var lvs []string
		for _, lp := range d.GetLabel() {
			lvs = append(lvs, lp.GetValue())
		}
		out = append(out, lvs)
	}
	return out
}

func compareValues(a, b []string) int { return slices.Compare(a, b) }

// TestCollectOrderMatchesPlainVector drives a gobento counter and a plain
// client_golang vector through the same random creations, deletions,
// overflows and resets, and checks after each step that the gobento metric
// sends its series already in exposition order and that both expose
// exactly the same text.
func TestCollectOrderMatchesPlainVector(t *testing.T) {
	// Label names deliberately out of alphabetical order: the exposition
	// sorts by "alpha" first.
	labels := []string{"zeta", "alpha"}
	m := forget(t, metrics.NewCounter(metrics.CounterOpts{
		Name: "collect_order_total", Help: "h", LabelNames: labels, MaxSeries: 60,
	}))
	if err := m.Err(); err != nil {
		t.Fatal(err)
	}
	plain := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "collect_order_total", Help: "h"}, labels)
	ours, want := prometheus.NewPedanticRegistry(), prometheus.NewPedanticRegistry()
	ours.MustRegister(m)
	want.MustRegister(plain)
	srv := start(t) // as a service serves it: the family written directly

	rng := rand.New(rand.NewPCG(1, 2))
	value := func() string { return strconv.Itoa(rng.IntN(12)) }
	check := func(step string) {
		t.Helper()
		got := collected(t, m)
		if !slices.IsSortedFunc(got, compareValues) {
			t.Fatalf("%s: Collect order is not the exposition order: %v", step, got)
		}
		if len(got) != len(slices.CompactFunc(slices.Clone(got), func(a, b []string) bool { return compareValues(a, b) == 0 })) {
			t.Fatalf("%s: a series was sent twice: %v", step, got)
		}
		if got, want := expose(t, ours), expose(t, want); got != want {
			t.Fatalf("%s: exposition differs from a plain vector's\ngot:\n%s\nwant:\n%s", step, got, want)
		}
		if got, want := family(t, srv, "collect_order_total"), family(t, want, "collect_order_total"); got != want {
			t.Fatalf("%s: the direct family differs from a plain vector's\ngot:\n%s\nwant:\n%s", step, got, want)
		}
	}
	for i := range 400 {
		z, a := value(), value()
		switch op := rng.IntN(10); {
		case op < 6:
			m.WithLabelValues(z, a).Inc()
			if n := testutil.CollectAndCount(m); n > 61 {
				t.Fatalf("step %d: %d series, over the cap of 60 plus the overflow series", i, n)
			}
			// Mirror where the lookup landed: its own series, or the
			// overflow series once the cap is reached.
			if exists(collected(t, m), z, a) {
				plain.WithLabelValues(z, a).Inc()
			} else {
				plain.WithLabelValues(metrics.OverflowValue, metrics.OverflowValue).Inc()
			}
		case op < 8:
			m.DeleteLabelValues(z, a)
			plain.DeleteLabelValues(z, a)
		case op < 9:
			m.DeletePartialMatch(prometheus.Labels{"alpha": a})
			plain.DeletePartialMatch(prometheus.Labels{"alpha": a})
		default:
			if rng.IntN(8) == 0 {
				m.Reset()
				plain.Reset()
			} else {
				m.DeleteLabelValues(metrics.OverflowValue, metrics.OverflowValue)
				plain.DeleteLabelValues(metrics.OverflowValue, metrics.OverflowValue)
			}
		}
		check("step " + strconv.Itoa(i))
	}
}

// expose renders every series of reg as "name=value,... count" lines.
func expose(t *testing.T, reg prometheus.Gatherer) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, d := range mf.GetMetric() {
			var lv []string
			for _, lp := range d.GetLabel() {
				lv = append(lv, lp.GetName()+"="+lp.GetValue())
			}
			b.WriteString(strings.Join(lv, ",") + " " + strconv.FormatFloat(d.GetCounter().GetValue(), 'g', -1, 64) + "\n")
		}
	}
	return b.String()
}

// family renders the family called name from g in the OpenMetrics text
// format (with exemplars), or "" if g has no such family.
func family(t *testing.T, g prometheus.Gatherer, name string) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		if _, err := expfmt.MetricFamilyToOpenMetrics(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestDirectFamilyMatchesCollector checks, for every metric type, that the
// family a service's /metrics writes directly is exactly what a registry
// collecting the same metric exposes: HELP, TYPE, every series in order,
// values, exemplars; and that after currying, when the metric falls back
// to being collected, series created through the curried vector are there
// and nothing is exposed twice.
func TestDirectFamilyMatchesCollector(t *testing.T) {
	labels := []string{"zeta", "alpha"}
	ex := prometheus.Labels{"trace_id": "abc"}
	type direct interface {
		prometheus.Collector
		metrics.Metric
	}
	for _, tc := range []struct {
		name  string
		fam   string
		make  func() direct
		fill  func(m direct, z, a string, v float64)
		curry func(m direct)
	}{
		{"counter", "direct_c_total", func() direct {
			return forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "direct_c_total", Help: "A counter.", LabelNames: labels}))
		}, func(m direct, z, a string, v float64) {
			m.(*metrics.Counter).WithLabelValues(z, a).(prometheus.ExemplarAdder).AddWithExemplar(v, ex)
		}, func(m direct) {
			m.(*metrics.Counter).MustCurryWith(prometheus.Labels{"zeta": "c"}).WithLabelValues("x").Inc()
		}},
		{"gauge", "direct_g", func() direct {
			return forget(t, metrics.NewGauge(metrics.GaugeOpts{Name: "direct_g", Help: "A gauge.", LabelNames: labels}))
		}, func(m direct, z, a string, v float64) {
			m.(*metrics.Gauge).WithLabelValues(z, a).Set(v)
		}, func(m direct) {
			m.(*metrics.Gauge).MustCurryWith(prometheus.Labels{"zeta": "c"}).WithLabelValues("x").Set(3)
		}},
		{"histogram", "direct_h_seconds", func() direct {
			return forget(t, metrics.NewHistogram(metrics.HistogramOpts{Name: "direct_h_seconds", Help: "A histogram.", LabelNames: labels,
				Buckets: []float64{0.5, 1, 5}, NativeHistogramBucketFactor: 1.1}))
		}, func(m direct, z, a string, v float64) {
			m.(*metrics.Histogram).WithLabelValues(z, a).(prometheus.ExemplarObserver).ObserveWithExemplar(v, ex)
		}, func(m direct) {
			m.(*metrics.Histogram).MustCurryWith(prometheus.Labels{"zeta": "c"}).WithLabelValues("x").Observe(2)
		}},
		{"summary", "direct_s_seconds", func() direct {
			return forget(t, metrics.NewSummary(metrics.SummaryOpts{Name: "direct_s_seconds", Help: "A summary.", LabelNames: labels,
				Objectives: map[float64]float64{0.5: 0.05, 0.99: 0.001}}))
		}, func(m direct, z, a string, v float64) {
			m.(*metrics.Summary).WithLabelValues(z, a).Observe(v)
		}, func(m direct) {
			m.(*metrics.Summary).MustCurryWith(prometheus.Labels{"zeta": "c"}).WithLabelValues("x").Observe(2)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.make()
			srv := start(t)
			coll := prometheus.NewPedanticRegistry()
			coll.MustRegister(m)
			if n := testutil.CollectAndCount(m); n != 0 {
				t.Fatalf("fresh metric: %d series", n)
			}
			if got := family(t, srv, tc.fam); got != "" {
				t.Fatalf("a metric with no series is exposed:\n%s", got)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			for range 200 {
				tc.fill(m, strconv.Itoa(rng.IntN(9)), strconv.Itoa(rng.IntN(9)), float64(rng.IntN(60))/10)
			}
			mfs, err := coll.Gather()
			if err != nil || len(mfs) != 1 {
				t.Fatalf("collected %d families, %v", len(mfs), err)
			}
			name := mfs[0].GetName()
			if name != tc.fam {
				t.Fatalf("family %q, want %q", name, tc.fam)
			}
			want := family(t, coll, name)
			if !isDirect(m) {
				t.Fatal("a fresh metric is not Direct")
			}
			if got := family(t, srv, name); got != want {
				t.Fatalf("direct family differs from the collected one\ngot:\n%s\nwant:\n%s", got, want)
			}
			tc.curry(m)
			if isDirect(m) {
				t.Fatal("a curried metric still reports Direct")
			}
			want = family(t, coll, name)
			if !strings.Contains(want, `zeta="c"`) {
				t.Fatalf("the collected family lacks the curried series:\n%s", want)
			}
			if got := family(t, srv, name); got != want {
				t.Fatalf("after currying, served family differs from the collected one\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// exists reports whether the collected series include zeta=z, alpha=a
// (collected values are in label-name order: alpha, zeta).
func exists(got [][]string, z, a string) bool {
	return slices.ContainsFunc(got, func(lv []string) bool { return lv[0] == a && lv[1] == z })
}

// TestCollectAfterCurry checks that series created through a curried
// vector, which the ordered index cannot see, are still exposed.
func TestCollectAfterCurry(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func() (prometheus.Collector, func())
	}{
		{"counter", func() (prometheus.Collector, func()) {
			m := forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "curry_c_total", Help: "h", LabelNames: []string{"a", "b"}}))
			m.WithLabelValues("1", "x").Inc()
			return m, func() { m.MustCurryWith(prometheus.Labels{"a": "2"}).WithLabelValues("y").Inc() }
		}},
		{"gauge", func() (prometheus.Collector, func()) {
			m := forget(t, metrics.NewGauge(metrics.GaugeOpts{Name: "curry_g", Help: "h", LabelNames: []string{"a", "b"}}))
			m.WithLabelValues("1", "x").Set(1)
			return m, func() { m.MustCurryWith(prometheus.Labels{"a": "2"}).WithLabelValues("y").Set(2) }
		}},
		{"histogram", func() (prometheus.Collector, func()) {
			m := forget(t, metrics.NewHistogram(metrics.HistogramOpts{Name: "curry_h", Help: "h", LabelNames: []string{"a", "b"}}))
			m.WithLabelValues("1", "x").Observe(1)
			return m, func() { m.MustCurryWith(prometheus.Labels{"a": "2"}).WithLabelValues("y").Observe(2) }
		}},
		{"summary", func() (prometheus.Collector, func()) {
			m := forget(t, metrics.NewSummary(metrics.SummaryOpts{Name: "curry_s", Help: "h", LabelNames: []string{"a", "b"}}))
			m.WithLabelValues("1", "x").Observe(1)
			return m, func() { m.MustCurryWith(prometheus.Labels{"a": "2"}).WithLabelValues("y").Observe(2) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, viaCurry := tc.make()
			if n := testutil.CollectAndCount(c); n != 1 {
				t.Fatalf("before currying: %d series, want 1", n)
			}
			viaCurry()
			if n := testutil.CollectAndCount(c); n != 2 {
				t.Fatalf("after a series created through the curried vector: %d series, want 2", n)
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(c)
			if _, err := reg.Gather(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCurryWithBadLabels checks that a failed CurryWith reports its error
// and leaves the ordered collection in place.
func TestCurryWithBadLabels(t *testing.T) {
	m := forget(t, metrics.NewCounter(metrics.CounterOpts{Name: "curry_bad_total", Help: "h", LabelNames: []string{"a"}}))
	if _, err := m.CurryWith(prometheus.Labels{"nope": "1"}); err == nil {
		t.Fatal("CurryWith with an unknown label: no error")
	}
	for _, v := range []string{"c", "a", "b"} {
		m.WithLabelValues(v).Inc()
	}
	got := collected(t, m)
	if !slices.IsSortedFunc(got, compareValues) || len(got) != 3 {
		t.Fatalf("collected %v, want 3 series in order", got)
	}
}

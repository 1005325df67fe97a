package customreg

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// metric is a minimal declared metric around a real client_golang counter.
type metric struct {
	name string
	err  error
	c    prometheus.Counter
}

func (m *metric) Name() string                    { return m.name }
func (m *metric) Err() error                      { return m.err }
func (m *metric) Collector() prometheus.Collector { return m.c }

// counted is a metric that counts its misuse, as the public metrics
// package's do.
type counted struct {
	metric
	overflows, errors uint64
}

func (c *counted) SelfCounts() (uint64, uint64) { return c.overflows, c.errors }

// attach attaches reg to every declared metric and closes the attachment
// when the test ends.
func attach(t *testing.T, reg *prometheus.Registry) *Attachment {
	t.Helper()
	a, err := Attach(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func declare(t *testing.T, name string, err error) *metric {
	t.Helper()
	m := &metric{name: name, err: err, c: prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: "Test metric " + name + "."})}
	Declare(m, m)
	t.Cleanup(func() { Remove(m) })
	return m
}

func names(t *testing.T, reg prometheus.Gatherer) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, mf := range mfs {
		n = append(n, mf.GetName())
	}
	return n
}

func TestAttach(t *testing.T) {
	a := declare(t, "a_total", nil)
	declare(t, "b_total", nil)
	c := &counted{metric: metric{name: "c_total", c: prometheus.NewCounter(prometheus.CounterOpts{Name: "c_total", Help: "h"})}}
	Declare(c, c)
	t.Cleanup(func() { Remove(c) })
	reg := prometheus.NewRegistry()
	attach(t, reg)
	a.c.Inc()
	got := names(t, reg)
	if !slices.Contains(got, "a_total") || !slices.Contains(got, "b_total") {
		t.Errorf("families %q", got)
	}
	c.overflows, c.errors = 1, 2
	if n, err := testutil.GatherAndCount(reg, SelfMetricNames...); err != nil || n != 2 {
		t.Errorf("self-metrics: %d series, %v", n, err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`# HELP gobento_metric_errors_total Label-value lookups of a custom metric that failed and were discarded
# TYPE gobento_metric_errors_total counter
gobento_metric_errors_total{metric_name="c_total"} 2
`), ErrorsName); err != nil {
		t.Error(err)
	}
}

func TestAttachOnly(t *testing.T) {
	mine := declare(t, "mine_total", nil)
	declare(t, "theirs_total", nil)
	b := &metric{name: "builtin_total", c: prometheus.NewCounter(prometheus.CounterOpts{Name: "builtin_total", Help: "h"})}
	Add(b)
	t.Cleanup(func() { Remove(b) })
	reg := prometheus.NewRegistry()
	a, err := Attach(reg, []any{mine})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	mine.c.Inc()
	b.c.Inc()
	late := declare(t, "late_theirs_total", nil)
	late.c.Inc()
	got := names(t, a)
	for _, want := range []string{"mine_total", "builtin_total"} {
		if !slices.Contains(got, want) {
			t.Errorf("families %v lack %s", got, want)
		}
	}
	for _, not := range []string{"theirs_total", "late_theirs_total"} {
		if slices.Contains(got, not) {
			t.Errorf("families %v include another service's %s", got, not)
		}
	}
	stranger := &metric{name: "stranger_total"}
	if _, err := Attach(prometheus.NewRegistry(), []any{stranger}); err == nil || !strings.Contains(err.Error(), `"stranger_total" was not declared`) {
		t.Errorf("Attach with an undeclared metric: %v", err)
	}
}

func TestRegisterAllReportsEverything(t *testing.T) {
	errBad := errors.New("metrics: counter \"bad\": Help is required")
	declare(t, "ok_total", nil)
	declare(t, "bad", errBad)
	declare(t, "twice_total", nil)
	declare(t, "twice_total", nil)
	reg := prometheus.NewRegistry()
	// A family of the same name already in the registry, with other labels.
	taken := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "taken_total", Help: "Already here."}, []string{"x"})
	reg.MustRegister(taken)
	declare(t, "taken_total", nil)

	a, err := Attach(reg, nil)
	if err == nil || a != nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, errBad) {
		t.Errorf("construction error not joined: %v", err)
	}
	for _, want := range []string{`"twice_total" is declared 2 times`, `registering "taken_total"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// Nothing stays registered and no attachment exists.
	if !reg.Unregister(taken) {
		t.Fatal("pre-existing collector lost")
	}
	if n := names(t, reg); len(n) != 0 {
		t.Errorf("left behind: %v", n)
	}
	late := &metric{name: "late_total", c: prometheus.NewCounter(prometheus.CounterOpts{Name: "late_total", Help: "h"})}
	Declare(late, late)
	defer Remove(late)
	late.c.Inc()
	if n := names(t, reg); len(n) != 0 {
		t.Errorf("a registry whose Attach failed received %v", n)
	}
}

func TestLateDeclarations(t *testing.T) {
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(old)

	reg := attach(t, prometheus.NewRegistry())
	good := declare(t, "late_good_total", nil)
	good.c.Inc()
	declare(t, "late_bad", errors.New("bad options"))
	if n, _ := testutil.GatherAndCount(reg, "late_good_total"); n != 1 {
		t.Error("late metric not registered")
	}
	if !strings.Contains(logs.String(), "late_bad") || !strings.Contains(logs.String(), "bad options") {
		t.Errorf("late construction error not logged: %q", logs.String())
	}
	if !Remove(good) {
		t.Fatal("Remove: not declared")
	}
	if Remove(good) {
		t.Error("second Remove reported success")
	}
	if n, _ := testutil.GatherAndCount(reg, "late_good_total"); n != 0 {
		t.Error("Remove left the metric registered")
	}
}

func TestSeveralRegistries(t *testing.T) {
	m := declare(t, "shared_total", nil)
	r1, r2 := prometheus.NewRegistry(), prometheus.NewRegistry()
	a1, a2 := attach(t, r1), attach(t, r2)
	// A registry holds one attachment: a second one reports the conflict
	// and leaves the first in place.
	if a, err := Attach(r1, nil); err == nil || a != nil {
		t.Errorf("second Attach of one registry: %v", err)
	}
	m.c.Add(3)
	c := &counted{metric: metric{name: "shared_counted_total", c: prometheus.NewCounter(prometheus.CounterOpts{Name: "shared_counted_total", Help: "h"})}}
	Declare(c, c)
	t.Cleanup(func() { Remove(c) })
	if n := names(t, a1); !slices.Contains(n, "shared_total") || !slices.Contains(n, OverflowName) {
		t.Errorf("the failed second Attach removed the first one's metrics: %v", n)
	}
	for _, a := range []*Attachment{a1, a2} {
		if v, err := testutil.GatherAndCount(a, "shared_total"); err != nil || v != 1 {
			t.Errorf("count %d, %v", v, err)
		}
	}
	a1.Close()
	a1.Close() // second Close does nothing
	if n := names(t, r1); len(n) != 0 {
		t.Errorf("closed attachment's registry still has %v", n)
	}
	if n, _ := testutil.GatherAndCount(a2, "shared_total"); n != 1 {
		t.Error("closing a1 affected a2")
	}
}

// direct is a declared metric that writes its own family, as the public
// metrics package's do; whether it may is switched by on.
type direct struct {
	counted
	on     atomic.Bool
	writes atomic.Int64
}

func (d *direct) Direct() bool { return d.on.Load() }

func (d *direct) WriteFamily() (*dto.MetricFamily, error) {
	d.writes.Add(1)
	var m dto.Metric
	if err := d.c.Write(&m); err != nil {
		return nil, err
	}
	return &dto.MetricFamily{Name: proto.String(d.name), Help: proto.String("Test metric " + d.name + "."),
		Type: dto.MetricType_COUNTER.Enum(), Metric: []*dto.Metric{&m}}, nil
}

func TestGathererMergesDirectFamilies(t *testing.T) {
	d := &direct{counted: counted{metric: metric{name: "m_direct_total", c: prometheus.NewCounter(prometheus.CounterOpts{Name: "m_direct_total", Help: "Test metric m_direct_total."})}}}
	d.on.Store(true)
	d.c.Add(3)
	Declare(d, d)
	t.Cleanup(func() { Remove(d) })
	declare(t, "a_first_total", nil)
	declare(t, "z_last_total", nil)

	reg := prometheus.NewRegistry()
	g := attach(t, reg)
	want := []string{"a_first_total", "gobento_metric_errors_total", "gobento_metric_series_overflow_total", "m_direct_total", "z_last_total"}
	if got := names(t, g); !slices.Equal(got, want) {
		t.Errorf("Gatherer families %v, want %v (sorted, each once)", got, want)
	}
	if got := names(t, reg); slices.Contains(got, "m_direct_total") {
		t.Errorf("the registry itself collected the direct metric: %v", got)
	}
	if d.writes.Load() != 1 {
		t.Errorf("WriteFamily called %d times for one Gather, want 1", d.writes.Load())
	}
	if err := testutil.GatherAndCompare(g, strings.NewReader(`# HELP m_direct_total Test metric m_direct_total.
# TYPE m_direct_total counter
m_direct_total 3
`), "m_direct_total"); err != nil {
		t.Error(err)
	}

	// No longer direct: the registry collects it, still exactly once.
	d.on.Store(false)
	if got := names(t, g); !slices.Equal(got, want) {
		t.Errorf("after Direct turned false: families %v, want %v", got, want)
	}
	if got := names(t, reg); !slices.Contains(got, "m_direct_total") {
		t.Errorf("after Direct turned false the registry does not collect it: %v", got)
	}

	// A name clash is still found at registration, through the guard.
	clash := prometheus.NewCounter(prometheus.CounterOpts{Name: "m_direct_total", Help: "Test metric m_direct_total."})
	if err := reg.Register(clash); err == nil {
		t.Error("registering a second m_direct_total succeeded")
	}

	g.Close()
	if got := names(t, g); len(got) != 0 {
		t.Errorf("after Close: %v", got)
	}
}

func TestMergeFamilies(t *testing.T) {
	mf := func(n string) *dto.MetricFamily { return &dto.MetricFamily{Name: proto.String(n)} }
	list := func(ns ...string) []*dto.MetricFamily {
		var out []*dto.MetricFamily
		for _, n := range ns {
			out = append(out, mf(n))
		}
		return out
	}
	for _, tc := range []struct {
		a, b []string
		want []string
	}{
		{nil, nil, nil},
		{[]string{"a"}, nil, []string{"a"}},
		{nil, []string{"a"}, []string{"a"}},
		{[]string{"a", "c", "e"}, []string{"b", "d", "f"}, []string{"a", "b", "c", "d", "e", "f"}},
		{[]string{"b"}, []string{"a", "b", "c"}, []string{"a", "b", "c"}},
	} {
		a := list(tc.a...)
		got := merge(a, list(tc.b...))
		var names []string
		for _, m := range got {
			names = append(names, m.GetName())
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("merge(%v, %v) = %v, want %v", tc.a, tc.b, names, tc.want)
		}
		for _, m := range got { // on equal names a's family is kept
			if i := slices.IndexFunc(a, func(x *dto.MetricFamily) bool { return x.GetName() == m.GetName() }); i >= 0 && a[i] != m {
				t.Errorf("merge kept b's %q over a's", m.GetName())
			}
		}
	}
}

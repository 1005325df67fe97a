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

func declare(t *testing.T, name string, err error) *metric {
	t.Helper()
	m := &metric{name: name, err: err, c: prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: "Test metric " + name + "."})}
	Add(m)
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

func TestRegisterAll(t *testing.T) {
	a := declare(t, "a_total", nil)
	declare(t, "b_total", nil)
	reg := prometheus.NewRegistry()
	if err := RegisterAll(reg); err != nil {
		t.Fatal(err)
	}
	defer Detach(reg)
	a.c.Inc()
	got := names(t, reg)
	if !slices.Contains(got, "a_total") || !slices.Contains(got, "b_total") {
		t.Errorf("families %q", got)
	}
	OverflowCounter("a_total").Inc()
	ErrorCounter("a_total").Inc()
	if n, err := testutil.GatherAndCount(reg, SelfMetricNames...); err != nil || n != 2 {
		t.Errorf("self-metrics: %d series, %v", n, err)
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

	err := RegisterAll(reg)
	if err == nil {
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
	// Nothing stays registered and reg is not attached.
	if !reg.Unregister(taken) {
		t.Fatal("pre-existing collector lost")
	}
	if n := names(t, reg); len(n) != 0 {
		t.Errorf("left behind: %v", n)
	}
	late := &metric{name: "late_total", c: prometheus.NewCounter(prometheus.CounterOpts{Name: "late_total", Help: "h"})}
	Add(late)
	defer Remove(late)
	late.c.Inc()
	if n := names(t, reg); len(n) != 0 {
		t.Errorf("a registry whose RegisterAll failed received %v", n)
	}
}

func TestLateDeclarations(t *testing.T) {
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(old)

	reg := prometheus.NewRegistry()
	if err := RegisterAll(reg); err != nil {
		t.Fatal(err)
	}
	defer Detach(reg)
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
	for _, r := range []*prometheus.Registry{r1, r2} {
		if err := RegisterAll(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := RegisterAll(r1); err != nil {
		t.Errorf("RegisterAll on an attached registry: %v", err)
	}
	m.c.Add(3)
	for _, r := range []*prometheus.Registry{r1, r2} {
		if v, err := testutil.GatherAndCount(r, "shared_total"); err != nil || v != 1 {
			t.Errorf("count %d, %v", v, err)
		}
	}
	Detach(r1)
	Detach(r1) // second Detach does nothing
	if n := names(t, r1); len(n) != 0 {
		t.Errorf("detached registry still has %v", n)
	}
	if n, _ := testutil.GatherAndCount(r2, "shared_total"); n != 1 {
		t.Error("detaching r1 affected r2")
	}
	Detach(r2)
}

// direct is a declared metric that writes its own family, as the public
// metrics package's do; whether it may is switched by on.
type direct struct {
	metric
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
	d := &direct{metric: metric{name: "m_direct_total", c: prometheus.NewCounter(prometheus.CounterOpts{Name: "m_direct_total", Help: "Test metric m_direct_total."})}}
	d.on.Store(true)
	d.c.Add(3)
	Add(d)
	t.Cleanup(func() { Remove(d) })
	declare(t, "a_first_total", nil)
	declare(t, "z_last_total", nil)

	reg := prometheus.NewRegistry()
	if err := RegisterAll(reg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Detach(reg) })
	g := Gatherer(reg)
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

	Detach(reg)
	if got := names(t, g); len(got) != 0 {
		t.Errorf("after Detach: %v", got)
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

package customreg

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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

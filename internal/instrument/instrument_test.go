package instrument

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gobento/bento/internal/buckets"
	"github.com/gobento/bento/internal/connlimit"
)

// scrape renders reg in the text format, as /metrics does, and parses it back.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatalf("Encode: %v", err)
		}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	out, err := p.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, buf.String())
	}
	return out
}

func labelsOf(m *dto.Metric) map[string]string {
	l := make(map[string]string, len(m.GetLabel()))
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func labelNames(m *dto.Metric) []string {
	var n []string
	for _, p := range m.GetLabel() {
		n = append(n, p.GetName())
	}
	slices.Sort(n)
	return n
}

// find returns the one metric of family name whose labels include want.
func find(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	mf, ok := fams[name]
	if !ok {
		t.Fatalf("family %s missing", name)
	}
	var found *dto.Metric
	for _, m := range mf.GetMetric() {
		l := labelsOf(m)
		match := true
		for k, v := range want {
			if l[k] != v {
				match = false
				break
			}
		}
		if match {
			if found != nil {
				t.Fatalf("family %s: more than one metric matches %v", name, want)
			}
			found = m
		}
	}
	if found == nil {
		t.Fatalf("family %s: no metric with labels %v", name, want)
	}
	return found
}

func bounds(m *dto.Metric) []float64 {
	var b []float64
	for _, bk := range m.GetHistogram().GetBucket() {
		b = append(b, bk.GetUpperBound())
	}
	return b
}

func allOn(o Options) Options {
	o.APIEnabled, o.RunnerEnabled = true, true
	return o
}

func TestFamiliesHTTP(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(reg, allOn(Options{ServiceName: "iris_classifier"}))
	if err != nil {
		t.Fatal(err)
	}
	r := s.API("/classify")
	if s.API("/classify") != r {
		t.Fatal("API does not cache routes")
	}
	codes := []int{200, 200, 200, 400, 418, 503}
	for _, c := range codes {
		r.Done(r.Start(), c)
	}
	u := s.Unmatched()
	u.Done(u.Start(), 404)
	inflight := r.Start() // one request still running at scrape time

	rm := s.RunnerMethod("iris_clf", "__call__")
	rm.Done(rm.Start(), 200)
	rp := s.RunnerMethod("iris_clf", "predict_proba")
	rp.Done(rp.Start(), 500)

	fams := scrape(t, reg)

	api := map[string]struct {
		typ    dto.MetricType
		help   string
		labels []string
	}{
		"bentoml_api_server_request_in_progress":      {dto.MetricType_GAUGE, "Total number of HTTP requests in progress now", []string{"endpoint", "service_name", "service_version"}},
		"bentoml_api_server_request_total":            {dto.MetricType_COUNTER, "Total number of HTTP requests", []string{"endpoint", "http_response_code", "service_name", "service_version"}},
		"bentoml_api_server_request_duration_seconds": {dto.MetricType_HISTOGRAM, "API HTTP request duration in seconds", []string{"endpoint", "http_response_code", "service_name", "service_version"}},
		"bentoml_runner_request_in_progress":          {dto.MetricType_GAUGE, "Total number of runner RPC in progress now", []string{"endpoint", "runner_name", "service_name", "service_version"}},
		"bentoml_runner_request_total":                {dto.MetricType_COUNTER, "Total number of runner RPC", []string{"endpoint", "http_response_code", "runner_name", "service_name", "service_version"}},
		"bentoml_runner_request_duration_seconds":     {dto.MetricType_HISTOGRAM, "runner RPC duration in seconds", []string{"endpoint", "http_response_code", "runner_name", "service_name", "service_version"}},
		"gobento_build_info":                          {dto.MetricType_GAUGE, "A metric with a constant '1' value labeled by the gobento version and the Go version it was built with", []string{"goversion", "version"}},
	}
	for name, w := range api {
		t.Run(name, func(t *testing.T) {
			mf, ok := fams[name]
			if !ok {
				t.Fatalf("missing")
			}
			if mf.GetType() != w.typ {
				t.Errorf("type %v, want %v", mf.GetType(), w.typ)
			}
			if mf.GetHelp() != w.help {
				t.Errorf("help %q, want %q", mf.GetHelp(), w.help)
			}
			for _, m := range mf.GetMetric() {
				if got := labelNames(m); !slices.Equal(got, w.labels) {
					t.Errorf("labels %v, want %v", got, w.labels)
				}
				if l := labelsOf(m); l["service_name"] != "" && l["service_name"] != "iris_classifier" || l["service_version"] != "" && l["service_version"] != NotAvailable {
					t.Errorf("service labels %v", l)
				}
			}
		})
	}

	want := map[string]float64{"200": 3, "400": 1, "418": 1, "503": 1, "500": 0} // request_total{500} exists before use, like 200
	for code, n := range want {
		lbl := map[string]string{"endpoint": "/classify", "http_response_code": code}
		if got := find(t, fams, "bentoml_api_server_request_total", lbl).GetCounter().GetValue(); got != n {
			t.Errorf("total{%s} = %v, want %v", code, got, n)
		}
		if n == 0 {
			// no histogram child for a code that never happened (see
			// TestNoZeroHistogramChildren)
			continue
		}
		h := find(t, fams, "bentoml_api_server_request_duration_seconds", lbl).GetHistogram()
		if float64(h.GetSampleCount()) != n {
			t.Errorf("duration_count{%s} = %v, want %v", code, h.GetSampleCount(), n)
		}
		if got := bounds(&dto.Metric{Histogram: h}); !slices.Equal(got[:len(got)-1], buckets.Default()) || !math.IsInf(got[len(got)-1], 1) {
			t.Errorf("buckets %v, want buckets.Default() then +Inf", got)
		}
	}
	// /classify: 200 and 500 from the start, plus 400, 418, 503 as used;
	// <unmatched>: 404 only.
	if n := len(fams["bentoml_api_server_request_total"].GetMetric()); n != 6 {
		t.Errorf("request_total has %d series, want 6", n)
	}
	if got := find(t, fams, "bentoml_api_server_request_total", map[string]string{"endpoint": Unmatched, "http_response_code": "404"}).GetCounter().GetValue(); got != 1 {
		t.Errorf("unmatched 404 = %v, want 1", got)
	}
	if got := find(t, fams, "bentoml_api_server_request_in_progress", map[string]string{"endpoint": "/classify"}).GetGauge().GetValue(); got != 1 {
		t.Errorf("in_progress during a request = %v, want 1", got)
	}
	if got := find(t, fams, "bentoml_runner_request_total", map[string]string{"endpoint": "/", "runner_name": "iris_clf", "http_response_code": "200"}).GetCounter().GetValue(); got != 1 {
		t.Errorf("runner __call__ total = %v, want 1", got)
	}
	if got := find(t, fams, "bentoml_runner_request_total", map[string]string{"endpoint": "/predict_proba", "runner_name": "iris_clf", "http_response_code": "500"}).GetCounter().GetValue(); got != 1 {
		t.Errorf("runner predict_proba total = %v, want 1", got)
	}
	bi := find(t, fams, "gobento_build_info", nil)
	if bi.GetGauge().GetValue() != 1 || labelsOf(bi)["goversion"] != runtime.Version() || labelsOf(bi)["version"] == "" {
		t.Errorf("build info %v", labelsOf(bi))
	}

	r.Done(inflight, 200)
	fams = scrape(t, reg)
	for _, name := range []string{"bentoml_api_server_request_in_progress", "bentoml_runner_request_in_progress"} {
		for _, m := range fams[name].GetMetric() {
			if v := m.GetGauge().GetValue(); v != 0 {
				t.Errorf("%s%v = %v after all requests, want 0", name, labelsOf(m), v)
			}
		}
	}
}

// TestNoZeroHistogramChildren checks what a declared route exposes before
// any request: request_total children for 200 and 500 (the unmatched route:
// its one code) at 0, and no duration histogram child at all. A zero
// histogram child made the guide's histogram_quantile query answer a NaN
// series for http_response_code="500" beside the real one (issue 13).
func TestNoZeroHistogramChildren(t *testing.T) {
	cases := []struct {
		name            string
		protocol        Protocol
		declare         func(s *Set)
		total, duration string
		wantTotal       map[string]float64 // http_response_code → value
	}{
		{"http api", HTTP, func(s *Set) { s.API("/classify") }, "bentoml_api_server_request_total", "bentoml_api_server_request_duration_seconds", map[string]float64{"200": 0, "500": 0}},
		{"http unmatched", HTTP, func(s *Set) { s.Unmatched() }, "bentoml_api_server_request_total", "bentoml_api_server_request_duration_seconds", map[string]float64{"404": 0}},
		{"grpc api", GRPC, func(s *Set) { s.API("classify") }, "bentoml_api_server_request_total", "bentoml_api_server_request_duration_seconds", map[string]float64{"200": 0, "500": 0}},
		{"grpc unmatched", GRPC, func(s *Set) { s.Unmatched() }, "bentoml_api_server_request_total", "bentoml_api_server_request_duration_seconds", map[string]float64{"400": 0}},
		{"runner method", HTTP, func(s *Set) { s.RunnerMethod("iris_clf", "classify") }, "bentoml_runner_request_total", "bentoml_runner_request_duration_seconds", map[string]float64{"200": 0, "500": 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			s, err := New(reg, allOn(Options{Protocol: c.protocol, ServiceName: "iris_classifier"}))
			if err != nil {
				t.Fatal(err)
			}
			c.declare(s)
			fams := scrape(t, reg)
			got := map[string]float64{}
			for _, m := range fams[c.total].GetMetric() {
				got[labelsOf(m)["http_response_code"]] = m.GetCounter().GetValue()
			}
			if fmt.Sprint(got) != fmt.Sprint(c.wantTotal) {
				t.Errorf("%s before any request = %v, want %v", c.total, got, c.wantTotal)
			}
			if n := len(fams[c.duration].GetMetric()); n != 0 {
				t.Errorf("%s has %d children before any request, want 0", c.duration, n)
			}
		})
	}
}

func TestGRPCAndNamespaces(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(reg, allOn(Options{
		Protocol: GRPC, ServiceName: "svc", ServiceVersion: "v7",
		APINamespace: "acme_api", RunnerNamespace: "acme_runner",
		APIBuckets:    []float64{0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5, math.Inf(1)},
		RunnerBuckets: []float64{1, 2},
	}))
	if err != nil {
		t.Fatal(err)
	}
	r := s.API("classify")
	r.Done(r.Start(), 200)
	rm := s.RunnerMethod("clf", "run")
	rm.Done(rm.Start(), 200)
	s.Batch("clf", "run", 8).BatchSize(1, 3)
	s.Runner("clf", 2, func() int { return 1 })
	s.Queue("clf", "run", func() int { return 5 })
	s.Listener("api", func() connlimit.Stats { return connlimit.Stats{Open: 1, Max: 10} })
	fams := scrape(t, reg)
	for _, c := range []struct {
		name  string
		value float64
	}{{"acme_runner_workers", 2}, {"acme_runner_workers_busy", 1}, {"acme_runner_queued_items", 5}} {
		if mf := fams[c.name]; mf == nil || mf.GetMetric()[0].GetGauge().GetValue() != c.value {
			t.Errorf("%s = %v, want %v", c.name, mf, c.value)
		}
	}

	for name := range fams {
		if strings.HasPrefix(name, "bentoml_") {
			t.Errorf("family %s kept the default namespace", name)
		}
	}
	for _, name := range FamilyNames("acme_api", "acme_runner") {
		if _, ok := fams[name]; !ok {
			t.Errorf("family %s missing", name)
		}
	}
	mf := fams["acme_api_request_total"]
	if mf.GetHelp() != "Total number of GRPC requests" {
		t.Errorf("help %q", mf.GetHelp())
	}
	if fams["acme_api_request_in_progress"].GetHelp() != "Total number of GRPC requests in progress now" ||
		fams["acme_api_request_duration_seconds"].GetHelp() != "API GRPC request duration in seconds" {
		t.Error("gRPC HELP texts wrong")
	}
	m := find(t, fams, "acme_api_request_duration_seconds", map[string]string{"api_name": "classify", "http_response_code": "200", "service_version": "v7"})
	if got := labelNames(m); !slices.Equal(got, []string{"api_name", "http_response_code", "service_name", "service_version"}) {
		t.Errorf("gRPC labels %v", got)
	}
	if got := bounds(m); !slices.Equal(got[:len(got)-1], []float64{0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5}) {
		t.Errorf("api buckets %v", got)
	}
	rd := find(t, fams, "acme_runner_request_duration_seconds", map[string]string{"endpoint": "/run", "http_response_code": "200"})
	if got := bounds(rd); !slices.Equal(got[:len(got)-1], []float64{1, 2}) {
		t.Errorf("runner buckets %v", got)
	}
}

func TestDisabled(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(reg, Options{ServiceName: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	r := s.API("/x")
	if r != nil || s.Unmatched() != nil || s.RunnerMethod("a", "b") != nil {
		t.Fatal("disabled families gave non-nil routes")
	}
	r.Done(r.Start(), 200) // nil receiver: must not panic
	r.DoneWithExemplar(r.Start(), 200, prometheus.Labels{"request_id": "1"})
	b := s.Batch("r", "m", 4)
	b.BatchSize(1, 2)
	fams := scrape(t, reg)
	for name := range fams {
		if strings.Contains(name, "request_") {
			t.Errorf("disabled family %s present", name)
		}
	}
	if _, ok := fams["bentoml_runner_adaptive_batch_size"]; !ok {
		t.Error("batch families must stay when runner request metrics are disabled")
	}

	var ns *Set
	if ns.API("/x") != nil || ns.RunnerMethod("a", "b") != nil || ns.Batch("a", "b", 1) != nil {
		t.Error("nil Set gave non-nil values")
	}
	ns.DeclareRunner("a", 3)
	var nb *Batch
	nb.BatchSize(1, 1)
	nb.QueueWait(time.Millisecond)
	nb.Executed(time.Millisecond)
	nb.Dispatch(ReasonFull)
	nb.Shed(1)
}

func TestBatchFamilies(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(reg, Options{ServiceName: "svc", ServiceVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	// Runner a: methods with 100 and 10; runner b: 32; runner c: 1.
	s.DeclareRunner("a", 10)
	s.DeclareRunner("a", 100)
	ba := s.Batch("a", "predict", 10)
	if s.Batch("a", "predict", 10) != ba {
		t.Fatal("Batch does not cache")
	}
	bb := s.Batch("b", "__call__", 32)
	bc := s.Batch("c", "embed", 1)
	ba.BatchSize(1, 7)
	ba.BatchSize(2, 100)
	ba.BatchSize(2, 64)
	ba.BatchSize(5000, 1) // beyond the cached range: still recorded
	bb.BatchSize(1, 32)
	bc.BatchSize(1, 1)
	ba.QueueWait(3 * time.Millisecond)
	ba.QueueWait(40 * time.Microsecond)
	ba.Executed(2 * time.Millisecond)
	ba.Dispatch(ReasonFull)
	ba.Dispatch(ReasonFull)
	ba.Dispatch(ReasonDeadline)
	ba.Dispatch("other")
	ba.Shed(3)
	ba.Shed(0)

	fams := scrape(t, reg)
	mf := fams["bentoml_runner_adaptive_batch_size"]
	if mf.GetType() != dto.MetricType_HISTOGRAM || mf.GetHelp() != "Runner adaptive batch size" {
		t.Fatalf("adaptive_batch_size type %v help %q", mf.GetType(), mf.GetHelp())
	}
	tests := []struct {
		runner, method, worker string
		bounds                 []float64
		count                  uint64
	}{
		{"a", "predict", "1", []float64{1, 2, 4, 8, 16, 32, 64, 100}, 1},
		{"a", "predict", "2", []float64{1, 2, 4, 8, 16, 32, 64, 100}, 2},
		{"a", "predict", "5000", []float64{1, 2, 4, 8, 16, 32, 64, 100}, 1},
		{"b", "__call__", "1", []float64{1, 2, 4, 8, 16, 32}, 1},
		{"c", "embed", "1", []float64{1}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.runner+"/"+tc.worker, func(t *testing.T) {
			m := find(t, fams, "bentoml_runner_adaptive_batch_size", map[string]string{"runner_name": tc.runner, "worker_index": tc.worker})
			if got := labelNames(m); !slices.Equal(got, []string{"method_name", "runner_name", "service_name", "service_version", "worker_index"}) {
				t.Errorf("labels %v", got)
			}
			if l := labelsOf(m); l["method_name"] != tc.method || l["service_name"] != "svc" || l["service_version"] != "1.0" {
				t.Errorf("label values %v", l)
			}
			b := bounds(m)
			if !slices.Equal(b[:len(b)-1], tc.bounds) || !math.IsInf(b[len(b)-1], 1) {
				t.Errorf("buckets %v, want %v then +Inf", b, tc.bounds)
			}
			if m.GetHistogram().GetSampleCount() != tc.count {
				t.Errorf("count %d, want %d", m.GetHistogram().GetSampleCount(), tc.count)
			}
		})
	}

	lbl := map[string]string{"runner_name": "a", "method_name": "predict"}
	for name, help := range map[string]string{
		"bentoml_runner_queue_wait_seconds":     "Time requests wait in the runner queue before their batch is dispatched",
		"bentoml_runner_batch_duration_seconds": "Model execution time per dispatched batch",
		"bentoml_runner_shed_total":             "Requests shed because they could not meet max_latency",
	} {
		if got := fams[name].GetHelp(); got != help {
			t.Errorf("%s help %q", name, got)
		}
		m := find(t, fams, name, lbl)
		if got := labelNames(m); !slices.Equal(got, []string{"method_name", "runner_name", "service_name", "service_version"}) {
			t.Errorf("%s labels %v", name, got)
		}
	}
	qw := find(t, fams, "bentoml_runner_queue_wait_seconds", lbl)
	if got := bounds(qw); !slices.Equal(got[:len(got)-1], batchTimeBuckets) || qw.GetHistogram().GetSampleCount() != 2 {
		t.Errorf("queue wait buckets %v count %d", got, qw.GetHistogram().GetSampleCount())
	}
	if c := find(t, fams, "bentoml_runner_batch_duration_seconds", lbl).GetHistogram().GetSampleCount(); c != 1 {
		t.Errorf("batch duration count %d", c)
	}
	if v := find(t, fams, "bentoml_runner_shed_total", lbl).GetCounter().GetValue(); v != 3 {
		t.Errorf("shed %v, want 3", v)
	}
	for reason, n := range map[string]float64{ReasonFull: 2, ReasonCost: 0, ReasonDeadline: 1, ReasonDrain: 0, "other": 1} {
		m := find(t, fams, "bentoml_runner_batch_dispatch_total", map[string]string{"runner_name": "a", "method_name": "predict", "reason": reason})
		if v := m.GetCounter().GetValue(); v != n {
			t.Errorf("dispatch{%s} = %v, want %v", reason, v, n)
		}
	}
	// b and c pre-created their four reasons too.
	if n := len(fams["bentoml_runner_batch_dispatch_total"].GetMetric()); n != 13 {
		t.Errorf("dispatch series %d, want 13", n)
	}
}

// captureLog sends slog.Default output to a buffer for the test's duration.
func captureLog(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}

func TestLateDeclareWarns(t *testing.T) {
	logs := captureLog(t)
	s, err := New(prometheus.NewRegistry(), Options{ServiceName: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	s.Batch("a", "m1", 8)
	s.DeclareRunner("a", 64)
	s.Batch("a", "m2", 128)
	if n := strings.Count(logs.String(), "DeclareRunner before Batch"); n != 1 {
		t.Errorf("got %d warnings, want 1:\n%s", n, logs)
	}
}

func TestStatusCodeEdges(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, _ := New(reg, allOn(Options{ServiceName: "svc"}))
	r := s.API("/x")
	for _, c := range []int{0, 99, 1000, -1, 999, 101} {
		r.Done(r.Start(), c)
	}
	fams := scrape(t, reg)
	for code, n := range map[string]float64{"200": 1, "500": 3, "999": 1, "101": 1} {
		if v := find(t, fams, "bentoml_api_server_request_total", map[string]string{"http_response_code": code}).GetCounter().GetValue(); v != n {
			t.Errorf("code %s = %v, want %v", code, v, n)
		}
	}
}

func TestExemplar(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, _ := New(reg, allOn(Options{ServiceName: "svc"}))
	r := s.API("/x")
	r.DoneWithExemplar(r.Start(), 200, prometheus.Labels{"request_id": "abc"})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sawCounter, sawBucket bool
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if labelsOf(m)["http_response_code"] != "200" {
				continue
			}
			if e := m.GetCounter().GetExemplar(); e != nil && e.GetLabel()[0].GetValue() == "abc" {
				sawCounter = true
			}
			for _, b := range m.GetHistogram().GetBucket() {
				if e := b.GetExemplar(); e != nil && e.GetLabel()[0].GetValue() == "abc" {
					sawBucket = true
				}
			}
		}
	}
	if !sawCounter || !sawBucket {
		t.Errorf("exemplar on counter %v, on bucket %v", sawCounter, sawBucket)
	}
	// Invalid exemplars (client_golang panics on them) are dropped; the
	// request is still counted.
	for _, ex := range []prometheus.Labels{
		{"request_id": strings.Repeat("x", 200)},
		{"bad-name": "1"},
		{"id": "\xff"},
	} {
		r.DoneWithExemplar(r.Start(), 200, ex)
	}
	if v := testutil.ToFloat64(s.apiTotal.WithLabelValues("/x", "svc", NotAvailable, "200")); v != 4 {
		t.Errorf("total = %v, want 4", v)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"bad api namespace", Options{APINamespace: "bento-ml"}, "APINamespace"},
		{"bad runner namespace", Options{RunnerNamespace: "1x"}, "RunnerNamespace"},
		{"unsorted api buckets", Options{APIBuckets: []float64{1, 0.5}}, "APIBuckets"},
		{"duplicate runner buckets", Options{RunnerBuckets: []float64{1, 1}}, "RunnerBuckets"},
		{"NaN bucket", Options{APIBuckets: []float64{math.NaN()}}, "APIBuckets"},
		{"empty buckets", Options{APIBuckets: []float64{}}, "APIBuckets"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(prometheus.NewRegistry(), allOn(tc.o))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %s", err, tc.want)
			}
		})
	}

	t.Run("second set on one registry", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		if _, err := New(reg, allOn(Options{ServiceName: "a"})); err != nil {
			t.Fatal(err)
		}
		before, _ := reg.Gather()
		_, err := New(reg, allOn(Options{ServiceName: "b"}))
		if err == nil || !strings.Contains(err.Error(), "bentoml_api_server_request_total") {
			t.Fatalf("err = %v, want a conflict naming the family", err)
		}
		after, _ := reg.Gather()
		if len(before) != len(after) {
			t.Errorf("failed New left families behind: %d → %d", len(before), len(after))
		}
	})
}

func TestLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, _ := New(reg, allOn(Options{ServiceName: "svc"}))
	s.API("/x").Done(time.Now(), 200)
	s.RunnerMethod("r", "m").Done(time.Now(), 200)
	b := s.Batch("r", "m", 4)
	b.BatchSize(1, 1)
	b.QueueWait(time.Millisecond)
	b.Executed(time.Millisecond)
	b.Shed(1)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestConcurrentExactTotals(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, _ := New(reg, allOn(Options{ServiceName: "svc"}))
	const workers, per = 8, 2000
	codes := []int{200, 404, 418, 500} // 418 is created lazily by racing goroutines
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := s.API(fmt.Sprintf("/r%d", w%2)) // racing API() calls too
			b := s.Batch("run", "m", 16)
			for i := range per {
				st := r.Start()
				r.Done(st, codes[i%len(codes)])
				b.BatchSize(1+w%3, 1)
				b.Dispatch(ReasonCost)
			}
		})
	}
	wg.Wait()
	fams := scrape(t, reg)
	for _, ep := range []string{"/r0", "/r1"} {
		for _, c := range codes {
			lbl := map[string]string{"endpoint": ep, "http_response_code": fmt.Sprint(c)}
			want := float64(workers / 2 * per / len(codes))
			if v := find(t, fams, "bentoml_api_server_request_total", lbl).GetCounter().GetValue(); v != want {
				t.Errorf("%v total = %v, want %v", lbl, v, want)
			}
			if n := find(t, fams, "bentoml_api_server_request_duration_seconds", lbl).GetHistogram().GetSampleCount(); float64(n) != want {
				t.Errorf("%v count = %v, want %v", lbl, n, want)
			}
		}
		if v := find(t, fams, "bentoml_api_server_request_in_progress", map[string]string{"endpoint": ep}).GetGauge().GetValue(); v != 0 {
			t.Errorf("%s in progress %v", ep, v)
		}
	}
	var sizes uint64
	for _, m := range fams["bentoml_runner_adaptive_batch_size"].GetMetric() {
		sizes += m.GetHistogram().GetSampleCount()
	}
	if sizes != workers*per {
		t.Errorf("batch size observations %d, want %d", sizes, workers*per)
	}
	if v := find(t, fams, "bentoml_runner_batch_dispatch_total", map[string]string{"reason": ReasonCost}).GetCounter().GetValue(); v != workers*per {
		t.Errorf("dispatch cost %v", v)
	}
}

func TestZeroAllocs(t *testing.T) {
	s, _ := New(prometheus.NewRegistry(), allOn(Options{ServiceName: "svc"}))
	r := s.API("/x")
	rm := s.RunnerMethod("r", "m")
	b := s.Batch("r", "m", 8)
	r.Done(r.Start(), 418) // first use of a lazy code allocates once
	b.BatchSize(1, 1)
	tests := []struct {
		name string
		f    func()
	}{
		{"api", func() { r.Done(r.Start(), 200) }},
		{"api lazy code", func() { r.Done(r.Start(), 418) }},
		{"runner", func() { rm.Done(rm.Start(), 503) }},
		{"batch", func() {
			b.BatchSize(1, 3)
			b.QueueWait(time.Millisecond)
			b.Executed(time.Millisecond)
			b.Dispatch(ReasonDeadline)
			b.Shed(1)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.f); n != 0 {
				t.Errorf("%v allocs per call, want 0", n)
			}
		})
	}
}

func BenchmarkRoute(b *testing.B) {
	s, _ := New(prometheus.NewRegistry(), allOn(Options{ServiceName: "svc"}))
	r := s.API("/classify")
	b.Run("StartDone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.Done(r.Start(), 200)
		}
	})
	b.Run("StartDoneParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.Done(r.Start(), 200)
			}
		})
	})
	var nilRoute *Route
	b.Run("NilRoute", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nilRoute.Done(nilRoute.Start(), 200)
		}
	})
}

func BenchmarkBatch(b *testing.B) {
	s, _ := New(prometheus.NewRegistry(), Options{ServiceName: "svc"})
	bt := s.Batch("r", "m", 100)
	b.ReportAllocs()
	for b.Loop() {
		bt.BatchSize(1, 17)
		bt.QueueWait(time.Millisecond)
		bt.Executed(time.Millisecond)
		bt.Dispatch(ReasonCost)
	}
}

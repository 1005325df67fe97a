package bento_test

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestDefaultMetrics drives a known sequence of requests and checks every
// default family against it.
func TestDefaultMetrics(t *testing.T) {
	cfg := testConfig(t)
	cfg.APIServer.Traffic.Timeout = 0.3
	min, max, factor := 0.1, 5.0, 2.0
	cfg.APIServer.Metrics.Duration.Buckets = nil
	cfg.APIServer.Metrics.Duration.Min, cfg.APIServer.Metrics.Duration.Max, cfg.APIServer.Metrics.Duration.Factor = &min, &max, &factor
	srv := startHTTP(t, kitchenSink(t), cfg)
	u := srv.URL()
	type key struct{ endpoint, code string }
	want := map[key]float64{}
	send := func(method, path, body string, code int) {
		t.Helper()
		ct := "text/plain"
		if path == "/point" {
			ct = "application/json"
		}
		resp := do(t, method, u+path, ct, []byte(body))
		if resp.status != code {
			t.Fatalf("%s %s %q: %d, want %d", method, path, body, resp.status, code)
		}
	}
	for range 3 {
		send("POST", "/echo", "x", 200)
		want[key{"/echo", "200"}]++
	}
	for _, c := range []struct {
		path, body string
		code       int
	}{{"/v1/shout", "a", 200}, {"/v1/shout", "model-bad", 400}, {"/fail", "bad", 400}, {"/fail", "missing", 404},
		{"/fail", "secret", 500}, {"/fail", "panic", 500}, {"/fail", "busy", 503}, {"/slow", "2s", 504}, {"/point", "{", 400}} {
		send("POST", c.path, c.body, c.code)
		want[key{c.path, strconv.Itoa(c.code)}]++
	}
	send("GET", "/echo", "", 405)
	want[key{"/echo", "405"}]++
	for i := range 5 {
		send("POST", fmt.Sprintf("/scan/%d", i), "", 404)
		want[key{"<unmatched>", "404"}]++
	}
	// not API traffic
	for _, p := range []string{"/healthz", "/livez", "/readyz", "/docs.json", "/", "/metrics"} {
		send("GET", p, "", 200)
	}

	fams := scrape(t, u+"/metrics")
	base := map[string]string{"service_name": "kitchen_sink", "service_version": "1.2.3"}
	for k, n := range want {
		labels := map[string]string{"endpoint": k.endpoint, "http_response_code": k.code}
		for kk, v := range base {
			labels[kk] = v
		}
		if got, _ := sample(fams, "bentoml_api_server_request_total", labels); got != n {
			t.Errorf("request_total%v = %v, want %v", labels, got, n)
		}
		if got, _ := sample(fams, "bentoml_api_server_request_duration_seconds", labels); got != n {
			t.Errorf("duration _count%v = %v, want %v", labels, got, n)
		}
	}
	var total float64
	for _, m := range fams["bentoml_api_server_request_total"].GetMetric() {
		total += m.GetCounter().GetValue()
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "endpoint" && slices.Contains([]string{"/healthz", "/livez", "/readyz", "/docs.json", "/", "/metrics"}, lp.GetValue()) {
				t.Errorf("infrastructure path counted: %v", m)
			}
		}
	}
	var sent float64
	for _, n := range want {
		sent += n
	}
	if total != sent {
		t.Errorf("sum of request_total = %v, sent %v", total, sent)
	}

	families := []struct {
		name   string
		typ    dto.MetricType
		labels []string
	}{
		{"bentoml_api_server_request_total", dto.MetricType_COUNTER, []string{"endpoint", "http_response_code", "service_name", "service_version"}},
		{"bentoml_api_server_request_duration_seconds", dto.MetricType_HISTOGRAM, []string{"endpoint", "http_response_code", "service_name", "service_version"}},
		{"bentoml_api_server_request_in_progress", dto.MetricType_GAUGE, []string{"endpoint", "service_name", "service_version"}},
		{"bentoml_runner_request_total", dto.MetricType_COUNTER, []string{"endpoint", "http_response_code", "runner_name", "service_name", "service_version"}},
		{"bentoml_runner_request_duration_seconds", dto.MetricType_HISTOGRAM, []string{"endpoint", "http_response_code", "runner_name", "service_name", "service_version"}},
		{"bentoml_runner_request_in_progress", dto.MetricType_GAUGE, []string{"endpoint", "runner_name", "service_name", "service_version"}},
	}
	for _, f := range families {
		mf, ok := fams[f.name]
		if !ok {
			t.Errorf("family %s missing", f.name)
			continue
		}
		if mf.GetType() != f.typ {
			t.Errorf("%s type %v, want %v", f.name, mf.GetType(), f.typ)
		}
		got := labelNames(mf)
		slices.Sort(got)
		if !slices.Equal(got, f.labels) {
			t.Errorf("%s labels %v, want %v", f.name, got, f.labels)
		}
	}
	for _, m := range fams["bentoml_api_server_request_in_progress"].GetMetric() {
		if v := m.GetGauge().GetValue(); v != 0 {
			t.Errorf("in progress %v = %v after all requests finished", m.GetLabel(), v)
		}
	}
	// runner: shout called twice through the runner, once 200, once 400
	runner := map[string]string{"endpoint": "/upper", "runner_name": "upper", "service_name": "kitchen_sink"}
	for code, n := range map[string]float64{"200": 1, "400": 1} {
		runner["http_response_code"] = code
		if got, _ := sample(fams, "bentoml_runner_request_total", runner); got != n {
			t.Errorf("runner total %v = %v, want %v", runner, got, n)
		}
	}
	// configured buckets
	h := fams["bentoml_api_server_request_duration_seconds"].GetMetric()[0].GetHistogram()
	var bounds []float64
	for _, b := range h.GetBucket() {
		if !math.IsInf(b.GetUpperBound(), 1) {
			bounds = append(bounds, b.GetUpperBound())
		}
	}
	if wantB := []float64{0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5}; !slices.Equal(bounds, wantB) {
		t.Errorf("buckets %v, want %v", bounds, wantB)
	}
}

func TestUnmatchedPathsAddBoundedSeries(t *testing.T) {
	srv := startHTTP(t, kitchenSink(t), nil)
	count := func() int {
		n := 0
		for _, mf := range scrape(t, srv.URL()+"/metrics") {
			n += len(mf.GetMetric())
		}
		return n
	}
	post(t, srv.URL()+"/warmup-unknown", "", "")
	before := count()
	for i := range 1000 {
		do(t, "GET", fmt.Sprintf("%s/random/%d/%x", srv.URL(), i, rand.Uint64()), "", nil)
	}
	after := count()
	if after-before > 5 {
		t.Errorf("1000 unknown paths added %d series", after-before)
	}
	if got, _ := sample(scrape(t, srv.URL()+"/metrics"), "bentoml_api_server_request_total",
		map[string]string{"endpoint": "<unmatched>", "http_response_code": "404"}); got != 1001 {
		t.Errorf("unmatched count %v, want 1001", got)
	}
}

func TestMetricsConfig(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.APIServer.Metrics.Enabled = false
		srv := startHTTP(t, kitchenSink(t), cfg)
		if resp := do(t, "GET", srv.URL()+"/metrics", "", nil); resp.status != 404 {
			t.Fatalf("/metrics with metrics disabled: %d", resp.status)
		}
		if resp := post(t, srv.URL()+"/echo", "", "x"); resp.status != 200 {
			t.Fatal(resp.status)
		}
	})
	t.Run("namespace", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.APIServer.Metrics.Namespace = "acme_api"
		cfg.Runners.Metrics.Namespace = "acme_runner"
		srv := startHTTP(t, kitchenSink(t), cfg)
		post(t, srv.URL()+"/v1/shout", "", "x")
		fams := scrape(t, srv.URL()+"/metrics")
		for _, name := range []string{"acme_api_request_total", "acme_runner_request_total"} {
			if _, ok := fams[name]; !ok {
				t.Errorf("%s missing", name)
			}
		}
		if _, ok := fams["bentoml_api_server_request_total"]; ok {
			t.Error("default name still present")
		}
	})
	t.Run("separate listener", func(t *testing.T) {
		cfg := testConfig(t)
		zero := 0
		host := "127.0.0.1"
		cfg.APIServer.Metrics.Port, cfg.APIServer.Metrics.Host = &zero, &host
		srv := startHTTP(t, kitchenSink(t), cfg)
		if resp := do(t, "GET", srv.URL()+"/metrics", "", nil); resp.status != 404 {
			t.Errorf("/metrics on the API port: %d", resp.status)
		}
		post(t, srv.URL()+"/echo", "", "x")
		if got, _ := sample(scrape(t, srv.MetricsURL()), "bentoml_api_server_request_total",
			map[string]string{"endpoint": "/echo"}); got != 1 {
			t.Errorf("separate listener count %v", got)
		}
	})
}

func TestMetricsLint(t *testing.T) {
	srv := startHTTP(t, kitchenSink(t), nil)
	post(t, srv.URL()+"/v1/shout", "", "x")
	post(t, srv.URL()+"/nope", "", "x")
	resp := do(t, "GET", srv.URL()+"/metrics", "", nil)
	problems, err := promlint.New(bytes.NewReader(resp.body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if len(p.Metric) > 7 && (p.Metric[:7] == "bentoml" || p.Metric[:7] == "gobento") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (CI installs Debian's prometheus package); skipping promtool check metrics")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(resp.body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestMetricsConcurrency loses no count under concurrent load (run with -race).
func TestMetricsConcurrency(t *testing.T) {
	srv := startHTTP(t, kitchenSink(t), nil)
	const workers, each = 16, 150
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]float64{}
	for w := range workers {
		wg.Go(func() {
			local := map[int]float64{}
			for i := range each {
				body := "ok"
				if (w+i)%3 == 0 {
					body = "bad"
				}
				local[post(t, srv.URL()+"/fail", "", body).status]++
			}
			mu.Lock()
			for k, v := range local {
				codes[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	fams := scrape(t, srv.URL()+"/metrics")
	for code, n := range codes {
		labels := map[string]string{"endpoint": "/fail", "http_response_code": strconv.Itoa(code)}
		if got, _ := sample(fams, "bentoml_api_server_request_total", labels); got != n {
			t.Errorf("total %v = %v, client counted %v", labels, got, n)
		}
		if got, _ := sample(fams, "bentoml_api_server_request_duration_seconds", labels); got != n {
			t.Errorf("_count %v = %v, client counted %v", labels, got, n)
		}
	}
	if codes[200]+codes[400] != workers*each {
		t.Errorf("client saw %v", codes)
	}
}

func TestExemplarsCarryRequestID(t *testing.T) {
	cfg := testConfig(t)
	cfg.APIServer.Metrics.Exemplars = true
	srv := startHTTP(t, kitchenSink(t), cfg)
	resp := post(t, srv.URL()+"/echo", "text/plain", "x")
	id := resp.header.Get("X-BentoML-Request-ID")
	req, _ := http.NewRequest("GET", srv.URL()+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	r, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	want := `request_id="` + id + `"`
	if !strings.Contains(string(body), want) {
		t.Fatalf("OpenMetrics scrape has no exemplar %s", want)
	}
	// the classic text format stays exemplar-free (promtool-compatible)
	if plain := do(t, "GET", srv.URL()+"/metrics", "", nil); strings.Contains(string(plain.body), "request_id") {
		t.Error("exemplar leaked into the text format")
	}
}

// TestScrapeSelfMetrics checks that each /metrics response is timed and
// sized, as sent, in gobento_metrics_scrape_duration_seconds and
// gobento_metrics_scrape_response_bytes (visible in the next scrape).
func TestScrapeSelfMetrics(t *testing.T) {
	srv := startHTTP(t, kitchenSink(t), nil)
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(gzip bool) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/metrics", nil)
		if gzip {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d, %v", resp.StatusCode, err)
		}
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != gzip {
			t.Fatalf("gzip asked %v, Content-Encoding %q", gzip, resp.Header.Get("Content-Encoding"))
		}
		return b
	}
	parse := func(b []byte) map[string]*dto.MetricFamily {
		t.Helper()
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return fams
	}
	first := get(false)
	if n, ok := sample(parse(first), "gobento_metrics_scrape_duration_seconds", nil); !ok || n != 0 {
		t.Errorf("first scrape: duration count %v (present %v), want 0", n, ok)
	}
	zipped := get(true)
	third := parse(get(false))
	if n, _ := sample(third, "gobento_metrics_scrape_duration_seconds", nil); n != 2 {
		t.Errorf("third scrape: duration count %v, want 2", n)
	}
	if b, _ := sample(third, "gobento_metrics_scrape_response_bytes", nil); int(b) != len(zipped) {
		t.Errorf("response bytes %v, want the gzip body's %d (the previous response, as sent)", b, len(zipped))
	}
	if len(zipped) >= len(first)/2 {
		t.Errorf("gzip body %d bytes vs %d plain: not compressed?", len(zipped), len(first))
	}
	sum := third["gobento_metrics_scrape_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleSum()
	if sum <= 0 || sum > 10 {
		t.Errorf("scrape duration sum %v s for 2 scrapes", sum)
	}
}

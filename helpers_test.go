package bento_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
)

// testConfig returns defaults listening on a free loopback port.
func testConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.APIServer.HTTP.Host = "127.0.0.1"
	cfg.APIServer.HTTP.Port = 0
	cfg.APIServer.GRPC.Host = "127.0.0.1"
	cfg.APIServer.GRPC.Port = 0
	cfg.APIServer.GRPC.Metrics.Host = "127.0.0.1"
	cfg.APIServer.GRPC.Metrics.Port = 0
	return cfg
}

// quietLogger discards logs unless the test is verbose.
func quietLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startHTTP starts svc on loopback and stops it at the end of the test.
func startHTTP(t testing.TB, svc *bento.Service, cfg *config.Config) *bento.Server {
	t.Helper()
	return startHTTPWith(t, svc, cfg, quietLogger(t))
}

// startHTTPWith is startHTTP with a given logger.
func startHTTPWith(t testing.TB, svc *bento.Service, cfg *config.Config, log *slog.Logger) *bento.Server {
	t.Helper()
	if cfg == nil {
		cfg = testConfig(t)
	}
	srv, err := bento.StartHTTP(context.Background(), svc, cfg, bento.Logger(log))
	if err != nil {
		t.Fatalf("StartHTTP: %v", err)
	}
	t.Cleanup(func() { shutdown(t, srv) })
	return srv
}

// shutdown stops srv gracefully, failing the test on error.
func shutdown(t testing.TB, srv *bento.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

var client = &http.Client{Timeout: 30 * time.Second}

func do(t testing.TB, method, url, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func post(t testing.TB, url, contentType, body string) response {
	t.Helper()
	return do(t, http.MethodPost, url, contentType, []byte(body))
}

// scrape fetches and parses a metrics endpoint.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp := do(t, http.MethodGet, url, "", nil)
	if resp.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.status, resp.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(resp.body))
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return fams
}

// sample returns the value of the family's metric whose labels include all
// of want (counter, gauge, or histogram sample count), and whether it exists.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if !labelsMatch(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, lp := range m.GetLabel() {
		got[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// labelNames returns the sorted label names of a family's first metric.
func labelNames(mf *dto.MetricFamily) []string {
	if len(mf.GetMetric()) == 0 {
		return nil
	}
	var out []string
	for _, lp := range mf.GetMetric()[0].GetLabel() {
		out = append(out, lp.GetName())
	}
	return out
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

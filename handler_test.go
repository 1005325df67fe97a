package bento_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/internal/customreg"
	"github.com/gobento/bento/metrics"
)

// declareCounter declares an unlabelled counter for one test.
func declareCounter(t *testing.T, name string) *metrics.Counter {
	t.Helper()
	c := metrics.NewCounter(metrics.CounterOpts{Name: name, Help: "Test counter " + name + "."})
	t.Cleanup(func() { customreg.Remove(c) })
	return c
}

// shoutService is a one-API service that counts its calls in calls.
func shoutService(name string, calls *metrics.Counter, opts ...bento.ServiceOption) *bento.Service {
	svc := bento.NewService(name, opts...)
	bento.API(svc, "shout", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) {
		calls.Inc()
		return strings.ToUpper(s), nil
	})
	return svc
}

func newHandler(t *testing.T, svc *bento.Service) *bento.Handler {
	t.Helper()
	h, err := bento.NewHandler(context.Background(), svc, testConfig(t), bento.Logger(quietLogger(t)))
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	t.Cleanup(func() { closeHandler(t, h) })
	return h
}

func closeHandler(t *testing.T, h *bento.Handler) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestHandlerOnMux mounts a service under a prefix of a user's mux, calls
// its API through a real server and checks that /metrics counts the call
// and exports the custom metric, at 0 before the call.
func TestHandlerOnMux(t *testing.T) {
	calls := declareCounter(t, "handler_shouts_total")
	h := newHandler(t, shoutService("shouter", calls, bento.Metrics(calls)))
	mux := http.NewServeMux()
	mux.Handle("/shouter/", http.StripPrefix("/shouter", h))
	mux.HandleFunc("/hello", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("the app's own route")) })
	ts := httptest.NewServer(mux)
	defer ts.Close()
	base := ts.URL + "/shouter"

	fams := scrape(t, base+"/metrics")
	if v, ok := sample(fams, "handler_shouts_total", nil); !ok || v != 0 {
		t.Errorf("custom counter before any call: %v, present %v; want 0", v, ok)
	}
	if r := post(t, base+"/shout", "text/plain", "hi"); r.status != http.StatusOK || string(r.body) != "HI" {
		t.Fatalf("POST /shout: %d %q", r.status, r.body)
	}
	for _, path := range []string{"/livez", "/healthz", "/readyz", "/docs.json"} {
		if r := do(t, http.MethodGet, base+path, "", nil); r.status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	// The docs page's curl lines name the API under the mount prefix.
	if r := do(t, http.MethodGet, base+"/docs", "", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), base+"/shout") {
		t.Errorf("GET /docs: %d, curl lines without %s/shout", r.status, base)
	}
	if r := do(t, http.MethodGet, ts.URL+"/hello", "", nil); string(r.body) != "the app's own route" {
		t.Errorf("the mux's own route: %d %q", r.status, r.body)
	}
	fams = scrape(t, base+"/metrics")
	want := map[string]string{"endpoint": "/shout", "service_name": "shouter", "http_response_code": "200"}
	if v, ok := sample(fams, "bentoml_api_server_request_total", want); !ok || v != 1 {
		t.Errorf("request_total%v = %v (present %v), want 1", want, v, ok)
	}
	if v, _ := sample(fams, "handler_shouts_total", nil); v != 1 {
		t.Errorf("custom counter after one call: %v, want 1", v)
	}
	if mfs, err := h.Gatherer().Gather(); err != nil || len(mfs) == 0 {
		t.Errorf("Gatherer: %d families, %v", len(mfs), err)
	}

	closeHandler(t, h)
	if h.Ready() {
		t.Error("Ready after Close")
	}
	if r := do(t, http.MethodGet, base+"/readyz", "", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz after Close: %d, want 503", r.status)
	}
	if _, ok := sample(scrape(t, base+"/metrics"), "handler_shouts_total", nil); ok {
		t.Error("Close left the custom metric registered")
	}
}

// TestServicesExportOwnMetrics runs two services in one process, one
// through StartHTTP and one as a Handler, each owning a custom metric: each
// /metrics shows its own only. A service without Metrics shows every
// declared metric.
func TestServicesExportOwnMetrics(t *testing.T) {
	aCalls := declareCounter(t, "own_a_calls_total")
	bCalls := declareCounter(t, "own_b_calls_total")
	a := startHTTP(t, shoutService("svc_a", aCalls, bento.Metrics(aCalls)), nil)
	hb := newHandler(t, shoutService("svc_b", bCalls, bento.Metrics(bCalls)))
	tb := httptest.NewServer(hb)
	defer tb.Close()
	all := newHandler(t, shoutService("svc_all", aCalls))
	tall := httptest.NewServer(all)
	defer tall.Close()

	post(t, a.URL()+"/shout", "text/plain", "a")
	post(t, tb.URL+"/shout", "text/plain", "b")
	for _, tc := range []struct {
		name      string
		url       string
		has, hasn []string
	}{
		{"a", a.MetricsURL(), []string{"own_a_calls_total"}, []string{"own_b_calls_total"}},
		{"b", tb.URL + "/metrics", []string{"own_b_calls_total"}, []string{"own_a_calls_total"}},
		{"all", tall.URL + "/metrics", []string{"own_a_calls_total", "own_b_calls_total"}, nil},
	} {
		fams := scrape(t, tc.url)
		for _, n := range tc.has {
			if _, ok := fams[n]; !ok {
				t.Errorf("service %s does not export %s", tc.name, n)
			}
		}
		for _, n := range tc.hasn {
			if _, ok := fams[n]; ok {
				t.Errorf("service %s exports another service's %s", tc.name, n)
			}
			if _, ok := sample(fams, "gobento_metric_errors_total", map[string]string{"metric_name": n}); ok {
				t.Errorf("service %s exports the self-metrics of another service's %s", tc.name, n)
			}
		}
	}
}

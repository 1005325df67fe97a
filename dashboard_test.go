package bento_test

import (
	"strings"
	"testing"

	"github.com/gobento/bento/config"
)

// TestDashboardRoutes checks where /dashboard is served: on the API port
// with /metrics, only on the metrics listener when metrics have their own
// port, nowhere when it or the metrics are turned off. Every answer carries
// the Content-Security-Policy.
func TestDashboardRoutes(t *testing.T) {
	zero, host := 0, "127.0.0.1"
	for _, tc := range []struct {
		name             string
		set              func(*config.Config)
		onAPI, onMetrics int // status of GET /dashboard on each listener
	}{
		{"default", func(*config.Config) {}, 200, 0},
		{"separate metrics port", func(c *config.Config) { c.APIServer.Metrics.Port, c.APIServer.Metrics.Host = &zero, &host }, 404, 200},
		{"dashboard off", func(c *config.Config) { c.APIServer.Dashboard.Enabled = false }, 404, 0},
		{"metrics off", func(c *config.Config) { c.APIServer.Metrics.Enabled = false }, 404, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			tc.set(cfg)
			srv := startHTTP(t, kitchenSink(t), cfg)
			check := func(base string, want int) {
				for _, p := range []string{"/dashboard", "/dashboard/app.js", "/dashboard/app.css", "/dashboard/data"} {
					resp := do(t, "GET", base+p, "", nil)
					if resp.status != want {
						t.Errorf("GET %s%s: %d, want %d", base, p, resp.status, want)
						continue
					}
					if want == 200 && !strings.Contains(resp.header.Get("Content-Security-Policy"), "default-src 'none'") {
						t.Errorf("GET %s: CSP %q", p, resp.header.Get("Content-Security-Policy"))
					}
				}
			}
			check(srv.URL(), tc.onAPI)
			if tc.onMetrics != 0 {
				base := strings.TrimSuffix(srv.MetricsURL(), "/metrics")
				check(base, tc.onMetrics)
			}
			if tc.onAPI == 200 {
				if resp := do(t, "POST", srv.URL()+"/dashboard", "", nil); resp.status != 405 {
					t.Errorf("POST /dashboard: %d, want 405", resp.status)
				}
				if resp := do(t, "GET", srv.URL()+"/dashboard/data", "", nil); !strings.Contains(string(resp.body), `"epoch"`) {
					t.Errorf("data: %.200s", resp.body)
				}
			}
		})
	}
}

// TestDashboardOnGRPCMetricsListener checks serve-grpc's metrics listener
// serves the dashboard too, with the gRPC API families (api_name) charted.
func TestDashboardOnGRPCMetricsListener(t *testing.T) {
	srv, _, _ := startGRPC(t, kitchenSink(t), testConfig(t))
	base := strings.TrimSuffix(strings.TrimSuffix(srv.MetricsURL(), "/metrics"), "/")
	for _, p := range []string{"/dashboard", "/dashboard/data"} {
		if resp := do(t, "GET", base+p, "", nil); resp.status != 200 {
			t.Errorf("GET %s on the gRPC metrics listener: %d", p, resp.status)
		}
	}
}

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNativeHistograms serves iris_classifier with
// api_server.metrics.native_histograms on, scraped by a real Prometheus
// with its native-histograms feature (which negotiates the protobuf
// format): the guide's p99 query on the native histogram answers within
// the range the clients measured, and a Prometheus without the feature
// still answers the classic-bucket query from the same server.
func TestNativeHistograms(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus binary not found in PATH; install it to run the end-to-end test (Debian/Ubuntu: apt-get install prometheus)")
	}
	root := repoRoot(t)
	ps := newProcesses(t)
	bin := buildExamples(t, root)
	irisPort := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", irisPort)
	iris := ps.start(t, "iris_classifier serve-http", filepath.Join(bin, "iris_classifier"),
		[]string{"serve-http", "--host", "127.0.0.1", "--port", strconv.Itoa(irisPort)},
		[]string{"BENTOML_CONFIG_OPTIONS=api_server.metrics.native_histograms.enabled=true"})
	hc := &http.Client{Timeout: requestTimeout}
	t.Cleanup(hc.CloseIdleConnections)
	waitHTTP(t, hc, iris, base+"/readyz", 15*time.Second)

	// Prime the series before the first scrape: a series first seen by
	// Prometheus in the middle of the traffic makes rate() extrapolate each
	// bucket differently, which skews quantiles.
	one := "[[5.9,3.0,5.1,1.8]]"
	many := "[" + strings.TrimSuffix(strings.Repeat("[5.9,3.0,5.1,1.8],", 2000), ",") + "]"
	call := func(body string) time.Duration {
		t.Helper()
		t0 := time.Now()
		resp, err := hc.Post(base+"/classify", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("classify: %d", resp.StatusCode)
		}
		return time.Since(t0)
	}
	call(one)

	// Two Prometheus servers scrape it: one with the native-histograms
	// feature, one without. Prometheus 2.42–2.44 with the feature ingests
	// only the native form of a histogram that has one (from 2.45,
	// scrape_classic_histograms: true keeps both); without it, the classic
	// buckets are what it reads, as before.
	startProm := func(name string, flags ...string) *promClient {
		port := freePort(t)
		work := t.TempDir()
		cfg := fmt.Sprintf("global: {scrape_interval: %s, evaluation_interval: %s}\nscrape_configs:\n- job_name: iris\n  static_configs: [{targets: ['127.0.0.1:%d']}]\n", promInterval, promInterval, irisPort)
		cfgPath := filepath.Join(work, "prometheus.yml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		prom := ps.start(t, name, promBin, append([]string{
			"--config.file=" + cfgPath,
			"--storage.tsdb.path=" + filepath.Join(work, "data"),
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		}, flags...), nil)
		pc := &promClient{base: fmt.Sprintf("http://127.0.0.1:%d", port), hc: hc}
		waitHTTP(t, hc, prom, pc.base+"/-/ready", 30*time.Second)
		return pc
	}
	nativeProm := startProm("prometheus --enable-feature=native-histograms", "--enable-feature=native-histograms")
	classicProm := startProm("prometheus")

	// Traffic for a few scrapes, timed by the client. Every fifth call
	// carries 2 000 rows, so the latencies spread over more than one
	// classic bucket's width.
	time.Sleep(2 * time.Second) // both have scraped the primed series
	var lat []time.Duration
	end := time.Now().Add(6 * time.Second)
	for i := 0; time.Now().Before(end); i++ {
		body := one
		if i%5 == 0 {
			body = many
		}
		lat = append(lat, call(body))
		time.Sleep(2 * time.Millisecond)
	}
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	p50 := lat[len(lat)/2]
	time.Sleep(3 * time.Second) // the last scrapes
	at := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := func(pc *promClient, expr string) float64 {
		t.Helper()
		s, err := pc.query(ctx, expr, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 1 {
			t.Fatalf("%s: %d samples %v, want 1", expr, len(s), s)
		}
		return s[0].Value
	}
	native := q(nativeProm, `histogram_quantile(0.99, sum(rate(bentoml_api_server_request_duration_seconds{endpoint="/classify",http_response_code="200"}[1m])))`)
	classic := q(classicProm, `histogram_quantile(0.99, sum by (le) (rate(bentoml_api_server_request_duration_seconds_bucket{endpoint="/classify",http_response_code="200"}[1m])))`)
	t.Logf("%d calls: client p50 %v, p99 %v; Prometheus p99 from the native histogram %.6fs, from the classic buckets %.6fs", len(lat), p50, p99, native, classic)
	// The server times less than the client does (no network, no client),
	// and a native bucket is at most 10% wide (bucket_factor 1.1).
	if hi := 1.1 * p99.Seconds(); native <= 0 || native > hi {
		t.Errorf("native p99 %.6fs, want in (0, %.6fs]: the client's p99 plus one bucket", native, hi)
	}
	if lo := p50.Seconds(); native < lo {
		t.Errorf("native p99 %.6fs, want at least the client's median %.6fs", native, lo)
	}
	if classic <= 0 {
		t.Errorf("classic-bucket p99 = %v, want a latency", classic)
	}
}

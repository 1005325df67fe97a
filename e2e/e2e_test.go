package e2e

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gobento/bento/internal/pb"
)

// The BentoML metrics guide's four queries, verbatim.
const (
	guideRate         = `rate(bentoml_api_server_request_total{service_name="iris_classifier", endpoint="/classify"}[1m])`
	guideP99          = `histogram_quantile(0.99, rate(bentoml_api_server_request_duration_seconds_bucket{service_name="iris_classifier", endpoint="/classify"}[1m]))`
	guideBatchP75     = `histogram_quantile(0.75, rate(bentoml_runner_adaptive_batch_size_bucket{service_name="iris_classifier"}[1m]))`
	guideInferenceP95 = `histogram_quantile(0.95, rate(inference_duration_bucket[1m]))`
)

const (
	// trafficDuration is how long the clients send requests.
	trafficDuration = 20 * time.Second
	// rateTolerance is the relative error allowed between a rate Prometheus
	// computes and the one derived from the client's counts. With 1s scrapes
	// and counters that start at 0 before the traffic, Prometheus'
	// extrapolation adds at most about one scrape interval's worth
	// (a few percent over 20s of traffic); 20% leaves room for scheduling
	// noise while still catching a lost or double-counted share of requests.
	rateTolerance = 0.20
	// iris and sentiment load shapes: workers per wave and wave interval.
	irisWorkers, irisInterval           = 8, 40 * time.Millisecond
	sentimentWorkers, sentimentInterval = 4, 100 * time.Millisecond
	// irisMaxBatch is the example's MaxBatchSize for the classify method.
	irisMaxBatch = 100
)

// The services and endpoints the test drives, as label sets.
var (
	irisLabels     = map[string]string{"service_name": "iris_classifier", "endpoint": "/classify"}
	sentHTTPLabels = map[string]string{"service_name": "sentiment_analyzer", "endpoint": "/analysis"}
	sentGRPCLabels = map[string]string{"service_name": "sentiment_analyzer", "api_name": "analysis"}
)

// TestPrometheusEndToEnd serves iris_classifier and sentiment_analyzer (HTTP
// and gRPC) as real processes, scrapes them with a real Prometheus loading a
// configuration derived from deploy/prometheus, drives known traffic and
// checks the guide's queries, exact request counts, and every recording rule
// against what the clients measured.
func TestPrometheusEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus binary not found in PATH; install it to run the end-to-end test (Debian/Ubuntu: apt-get install prometheus)")
	}
	began := time.Now()
	phase := func(what string) { t.Logf("[%5.1fs] %s", time.Since(began).Seconds(), what) }
	root := repoRoot(t)
	ps := newProcesses(t)

	bin := buildExamples(t, root)
	phase("examples built")

	// 1. The example services.
	irisPort, sentPort, grpcPort, grpcMetricsPort, promPort := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	irisBase := fmt.Sprintf("http://127.0.0.1:%d", irisPort)
	sentBase := fmt.Sprintf("http://127.0.0.1:%d", sentPort)
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", grpcPort)
	grpcMetrics := fmt.Sprintf("http://127.0.0.1:%d/", grpcMetricsPort)
	iris := ps.start(t, "iris_classifier serve-http", filepath.Join(bin, "iris_classifier"),
		[]string{"serve-http", "--host", "127.0.0.1", "--port", strconv.Itoa(irisPort)}, nil)
	sentHTTP := ps.start(t, "sentiment_analyzer serve-http", filepath.Join(bin, "sentiment_analyzer"),
		[]string{"serve-http", "--host", "127.0.0.1", "--port", strconv.Itoa(sentPort)}, nil)
	sentGRPC := ps.start(t, "sentiment_analyzer serve-grpc", filepath.Join(bin, "sentiment_analyzer"),
		[]string{"serve-grpc", "--host", "127.0.0.1", "--port", strconv.Itoa(grpcPort)},
		[]string{fmt.Sprintf("BENTOML_CONFIG_OPTIONS=api_server.grpc.metrics.host=127.0.0.1 api_server.grpc.metrics.port=%d", grpcMetricsPort)})

	hc := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	t.Cleanup(hc.CloseIdleConnections)
	waitHTTP(t, hc, iris, irisBase+"/readyz", 15*time.Second)
	waitHTTP(t, hc, sentHTTP, sentBase+"/readyz", 15*time.Second)
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("gRPC client: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	waitGRPC(t, conn, sentGRPC, 15*time.Second)
	waitHTTP(t, hc, sentGRPC, grpcMetrics, 5*time.Second)
	phase("services ready")

	// Prime every series the test asserts on with one valid and one invalid
	// request, so that Prometheus' first scrape already sees each of them:
	// rates can then be compared with the client's counts since that scrape.
	irisT, sentT, grpcT := newTally("iris /classify"), newTally("sentiment /analysis (HTTP)"), newTally("sentiment analysis (gRPC)")
	client := pb.NewBentoServiceClient(conn)
	irisCall(hc, irisBase, irisT, 0, 0)
	irisCall(hc, irisBase, irisT, 0, 5)
	sentimentHTTPCall(hc, sentBase, sentT, 0, 0)
	sentimentGRPCCall(client, grpcT, 0, 0)
	sentimentGRPCCall(client, grpcT, 0, 7)
	for _, tl := range []*tally{irisT, sentT, grpcT} {
		tl.markBaseline()
	}

	// 2. Prometheus, with both shipped jobs retargeted at the services.
	promDir := filepath.Join(root, "deploy", "prometheus")
	cfg, jobNames, err := promConfig(promDir,
		[]string{fmt.Sprintf("127.0.0.1:%d", irisPort), fmt.Sprintf("127.0.0.1:%d", sentPort)},
		[]string{fmt.Sprintf("127.0.0.1:%d", grpcMetricsPort)})
	if err != nil {
		t.Fatal(err)
	}
	promWork := t.TempDir()
	cfgPath := filepath.Join(promWork, "prometheus.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	prom := ps.start(t, "prometheus", promBin, []string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(promWork, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort),
	}, nil)
	t.Cleanup(func() { _, _ = prom.stop(10 * time.Second) })
	pc := &promClient{base: fmt.Sprintf("http://127.0.0.1:%d", promPort), hc: hc}
	waitHTTP(t, hc, prom, pc.base+"/-/ready", 30*time.Second)
	targets := []string{
		fmt.Sprintf("%s/127.0.0.1:%d", jobNames.HTTP, irisPort),
		fmt.Sprintf("%s/127.0.0.1:%d", jobNames.HTTP, sentPort),
		fmt.Sprintf("%s/127.0.0.1:%d", jobNames.GRPC, grpcMetricsPort),
	}
	upJobs := fmt.Sprintf(`up{job=~"%s|%s"}`, jobNames.HTTP, jobNames.GRPC)
	waitFor(t, prom, 20*time.Second, "every target up", func() (bool, string) {
		s, err := pc.query(t.Context(), upJobs, time.Now())
		if err != nil {
			return false, err.Error()
		}
		return sameTargets(s, targets, func(v promSample) bool { return v.Value == 1 }), fmt.Sprint(s)
	})
	phase("prometheus scraping every target")

	// 3. Known traffic.
	trafficStart := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), trafficDuration)
	var drivers sync.WaitGroup
	drivers.Go(func() {
		runWaves(ctx, sentimentWorkers, sentimentInterval, func(w, seq int) { sentimentGRPCCall(client, grpcT, w, seq) })
	})
	drivers.Go(func() {
		runWaves(ctx, sentimentWorkers, sentimentInterval, func(w, seq int) { sentimentHTTPCall(hc, sentBase, sentT, w, seq) })
	})
	runWaves(ctx, irisWorkers, irisInterval, func(w, seq int) { irisCall(hc, irisBase, irisT, w, seq) })
	drivers.Wait()
	cancel()
	trafficEnd := time.Now()
	tallies := []*tally{irisT, sentT, grpcT}
	for _, tl := range tallies {
		t.Log(tl)
		for _, p := range tl.problems {
			t.Errorf("%s: %s", tl.name, p)
		}
		if tl.nProblems > len(tl.problems) {
			t.Errorf("%s: %d more problems", tl.name, tl.nProblems-len(tl.problems))
		}
		if tl.count(http.StatusOK) == 0 {
			t.Fatalf("%s: no successful request", tl.name)
		}
	}
	if irisT.count(http.StatusBadRequest) == 0 || grpcT.count(http.StatusBadRequest) == 0 {
		t.Fatalf("the invalid requests were not counted as 400 by the client")
	}
	phase(fmt.Sprintf("traffic sent for %v", trafficEnd.Sub(trafficStart).Round(time.Millisecond)))

	// Each service's own /metrics must agree exactly with the client. Once
	// it does, any later Prometheus scrape sees the final counts.
	waitExact(t, hc, iris, irisBase+"/metrics", "bentoml_api_server_request_total", withCode(irisLabels, 200), irisT.count(200))
	waitExact(t, hc, iris, irisBase+"/metrics", "bentoml_api_server_request_total", withCode(irisLabels, 400), irisT.count(400))
	waitExact(t, hc, sentHTTP, sentBase+"/metrics", "bentoml_api_server_request_total", withCode(sentHTTPLabels, 200), sentT.count(200))
	waitExact(t, hc, sentGRPC, grpcMetrics, "bentoml_api_server_request_total", withCode(sentGRPCLabels, 200), grpcT.count(200))
	waitExact(t, hc, sentGRPC, grpcMetrics, "bentoml_api_server_request_total", withCode(sentGRPCLabels, 400), grpcT.count(400))
	countsFinal := time.Now()
	checkBatching(t, hc, irisBase+"/metrics", irisT)

	// Wait for a scrape of every target after the counts were final, then
	// for every rule group to be evaluated after that scrape.
	var lastScrape time.Time
	waitFor(t, prom, 15*time.Second, "a scrape of every target after the traffic", func() (bool, string) {
		s, err := pc.query(t.Context(), "timestamp("+upJobs+")", time.Now())
		if err != nil {
			return false, err.Error()
		}
		ok := sameTargets(s, targets, func(v promSample) bool {
			ts := time.UnixMilli(int64(v.Value * 1000))
			if ts.After(lastScrape) {
				lastScrape = ts
			}
			return ts.After(countsFinal)
		})
		return ok, fmt.Sprint(s)
	})
	waitFor(t, prom, 15*time.Second, "every rule group evaluated after the last scrape", func() (bool, string) {
		groups, err := pc.rules(t.Context())
		if err != nil {
			return false, err.Error()
		}
		var late []string
		for _, g := range groups {
			if !g.LastEvaluation.After(lastScrape) {
				late = append(late, fmt.Sprintf("%s at %v", g.Name, g.LastEvaluation))
			}
		}
		return len(groups) > 0 && len(late) == 0, fmt.Sprintf("last scrape %v, groups not evaluated since: %v", lastScrape, late)
	})
	at := time.Now()
	if span := at.Sub(trafficStart); span > 55*time.Second {
		t.Fatalf("queries run %v after the traffic began; the [1m] windows no longer cover all of it, so the expected rates below do not hold (machine overloaded?)", span)
	}
	phase("prometheus has the final counts")

	o := &observed{
		ctx: t.Context(), pc: pc, at: at, iris: irisT, sentHTTP: sentT, sentGRPC: grpcT,
		jobs: jobNames,
	}
	o.durationLE = o.bucketBounds(t, `bentoml_api_server_request_duration_seconds_bucket{service_name="iris_classifier"}`)
	o.runnerLE = o.bucketBounds(t, `bentoml_runner_request_duration_seconds_bucket`)
	o.inferenceLE = o.bucketBounds(t, `inference_duration_bucket`)

	// 4. The guide's queries, exact counts, and the rules.
	t.Run("guide/request_rate", o.testGuideRate)
	t.Run("guide/p99_duration", o.testGuideP99)
	t.Run("guide/p75_batch_size", o.testGuideBatchP75)
	t.Run("guide/p95_inference_duration", o.testGuideInferenceP95)
	t.Run("exact_counts", o.testExactCounts)
	t.Run("grpc", o.testGRPC)
	t.Run("recording_rules", func(t *testing.T) { o.testRecordingRules(t, filepath.Join(promDir, "rules.yml")) })
	t.Run("rules_loaded_and_no_alerts", func(t *testing.T) { o.testRulesHealthy(t, filepath.Join(promDir, "rules.yml")) })
	phase("queries checked")

	// Graceful shutdown of the services.
	for _, p := range []*process{iris, sentHTTP, sentGRPC} {
		code, err := p.stop(15 * time.Second)
		if err != nil || code != 0 {
			t.Errorf("%s: SIGTERM ended it with exit code %d, %v; want exit code 0", p.name, code, err)
		}
	}
	phase("services stopped")
}

// repoRoot returns the module root (the directory holding go.mod).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// buildExamples compiles the example services into a temporary directory
// and returns it.
func buildExamples(t *testing.T, root string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the examples: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(goBin, "build", "-o", dir+string(os.PathSeparator),
		"./examples/iris_classifier", "./examples/sentiment_analyzer")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build examples: %v\n%s", err, out)
	}
	return dir
}

// waitFor polls cond every 100ms until it reports true. It fails the test
// with cond's last detail when timeout passes or when p exits.
func waitFor(t *testing.T, p *process, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if exited, err := p.exited(); exited {
			t.Fatalf("waiting for %s: %s exited (%s); last state: %s", what, p.name, exitDescription(err), detail)
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not after %v; last state: %s", what, timeout, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitHTTP waits until GET url answers 200.
func waitHTTP(t *testing.T, hc *http.Client, p *process, url string, timeout time.Duration) {
	t.Helper()
	waitFor(t, p, timeout, "GET "+url+" = 200", func() (bool, string) {
		resp, err := hc.Get(url)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

// waitGRPC waits until the gRPC health service reports SERVING.
func waitGRPC(t *testing.T, conn *grpc.ClientConn, p *process, timeout time.Duration) {
	t.Helper()
	health := healthpb.NewHealthClient(conn)
	waitFor(t, p, timeout, "gRPC health SERVING", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return false, err.Error()
		}
		return resp.GetStatus() == healthpb.HealthCheckResponse_SERVING, resp.GetStatus().String()
	})
}

// sameTargets reports whether samples hold exactly one sample per target
// ("job/instance") and ok holds for each.
func sameTargets(samples []promSample, targets []string, ok func(promSample) bool) bool {
	seen := map[string]bool{}
	for _, s := range samples {
		seen[s.Labels["job"]+"/"+s.Labels["instance"]] = true
	}
	if len(seen) != len(targets) {
		return false
	}
	all := true
	for _, s := range samples {
		if !slices.Contains(targets, s.Labels["job"]+"/"+s.Labels["instance"]) || !ok(s) {
			all = false // keep calling ok on every sample
		}
	}
	return all
}

// withCode returns labels plus http_response_code.
func withCode(labels map[string]string, code int) map[string]string {
	out := map[string]string{"http_response_code": strconv.Itoa(code)}
	for k, v := range labels {
		out[k] = v
	}
	return out
}

// scrapeFamilies fetches and parses a text-format metrics page.
func scrapeFamilies(hc *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", url, err)
	}
	return fams, nil
}

// hasLabels reports whether m carries every label of want.
func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// counterSum sums the counters of family name that carry labels.
func counterSum(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	var sum float64
	found := false
	for _, m := range fams[name].GetMetric() {
		if hasLabels(m, labels) {
			sum += m.GetCounter().GetValue()
			found = true
		}
	}
	return sum, found
}

// waitExact waits (up to 5s: the server may count a request just after the
// client got its response) until the counter on a service's own metrics page
// equals the client's count.
func waitExact(t *testing.T, hc *http.Client, p *process, url, family string, labels map[string]string, want int) {
	t.Helper()
	waitFor(t, p, 5*time.Second, fmt.Sprintf("%s%v on %s to equal the client's %d", family, labels, url, want), func() (bool, string) {
		fams, err := scrapeFamilies(hc, url)
		if err != nil {
			return false, err.Error()
		}
		got, found := counterSum(fams, family, labels)
		if !found {
			return false, "no such series"
		}
		return got == float64(want), fmt.Sprintf("got %g", got)
	})
}

// checkBatching checks iris_classifier's batch-size histogram on its own
// /metrics: its sum is exactly the number of valid rows sent (every row went
// through the batcher once), and there are fewer batches than successful
// calls, so some concurrent calls were merged into one batch (no call is
// split: each has at most 4 rows, far below the max batch size).
func checkBatching(t *testing.T, hc *http.Client, url string, tl *tally) {
	t.Helper()
	fams, err := scrapeFamilies(hc, url)
	if err != nil {
		t.Fatal(err)
	}
	var count uint64
	var sum float64
	var dist []string
	for _, m := range fams["bentoml_runner_adaptive_batch_size"].GetMetric() {
		if !hasLabels(m, map[string]string{"runner_name": "iris_clf", "method_name": "classify"}) {
			continue
		}
		h := m.GetHistogram()
		count += h.GetSampleCount()
		sum += h.GetSampleSum()
		for _, b := range h.GetBucket() {
			dist = append(dist, fmt.Sprintf("le=%g:%d", b.GetUpperBound(), b.GetCumulativeCount()))
		}
	}
	calls := tl.count(http.StatusOK)
	t.Logf("iris_clf: %d batches for %d calls (%d rows); cumulative batch sizes %s", count, calls, tl.rows, strings.Join(dist, " "))
	if sum != float64(tl.rows) {
		t.Errorf("bentoml_runner_adaptive_batch_size_sum = %g, want %d (rows in successful calls)", sum, tl.rows)
	}
	if count == 0 || count > uint64(calls) {
		t.Errorf("bentoml_runner_adaptive_batch_size_count = %d, want between 1 and %d (successful calls)", count, calls)
	}
	if count == uint64(calls) {
		t.Errorf("%d batches for %d calls: concurrent calls were never merged into one batch", count, calls)
	}
}

// errNaN reports a value that is not a finite number.
var errNaN = errors.New("not a finite number")

// finite returns errNaN unless v is a finite number.
func finite(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return errNaN
	}
	return nil
}

package bento_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/pb"
)

// ---- shared by the reliability tests (hostile, faults, overload, counts, soak) ----

// relKey identifies one request_total series of one server: the API
// (the endpoint or api_name label) and the http_response_code label.
type relKey struct{ api, code string }

func (k relKey) String() string { return k.api + " " + k.code }

// relTally is a client's own count of requests per series; safe for
// concurrent use.
type relTally struct {
	mu sync.Mutex
	m  map[relKey]float64
}

func newRelTally() *relTally { return &relTally{m: map[relKey]float64{}} }

func (t *relTally) add(api string, code int) {
	t.mu.Lock()
	t.m[relKey{api, strconv.Itoa(code)}]++
	t.mu.Unlock()
}

// merge adds every count of o to t.
func (t *relTally) merge(o map[relKey]float64) {
	t.mu.Lock()
	for k, v := range o {
		t.m[k] += v
	}
	t.mu.Unlock()
}

func (t *relTally) snapshot() map[relKey]float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[relKey]float64, len(t.m))
	for k, v := range t.m {
		out[k] = v
	}
	return out
}

// relLabels returns the labels of m as a map.
func relLabels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// relCheckSeries compares the <prefix>_request_total series whose labels
// include filter with want, exactly: every series must equal the client's
// tally (0 when the client never saw that series), every tallied series must
// exist, every <prefix>_request_duration_seconds histogram's _count must
// equal its request_total, and every <prefix>_request_in_progress gauge must
// be 0. apiLabel is "endpoint" (HTTP and runners) or "api_name" (gRPC).
func relCheckSeries(t testing.TB, fams map[string]*dto.MetricFamily, prefix, apiLabel string,
	filter map[string]string, want map[relKey]float64) {
	t.Helper()
	seen := map[relKey]bool{}
	totals := map[relKey]float64{}
	for _, m := range fams[prefix+"_request_total"].GetMetric() {
		if !labelsMatch(m, filter) {
			continue
		}
		l := relLabels(m)
		k := relKey{l[apiLabel], l["http_response_code"]}
		got := m.GetCounter().GetValue()
		totals[k] = got
		seen[k] = true
		if got != want[k] {
			t.Errorf("%s_request_total{%s=%q,http_response_code=%q} = %v, client counted %v",
				prefix, apiLabel, k.api, k.code, got, want[k])
		}
	}
	for k, n := range want {
		if n != 0 && !seen[k] {
			t.Errorf("%s_request_total{%s=%q,http_response_code=%q} is missing; client counted %v",
				prefix, apiLabel, k.api, k.code, n)
		}
	}
	for _, m := range fams[prefix+"_request_duration_seconds"].GetMetric() {
		if !labelsMatch(m, filter) {
			continue
		}
		l := relLabels(m)
		k := relKey{l[apiLabel], l["http_response_code"]}
		if got := float64(m.GetHistogram().GetSampleCount()); got != totals[k] {
			t.Errorf("%s_request_duration_seconds_count{%s} = %v, request_total = %v", prefix, k, got, totals[k])
		}
	}
	for _, m := range fams[prefix+"_request_in_progress"].GetMetric() {
		if labelsMatch(m, filter) && m.GetGauge().GetValue() != 0 {
			t.Errorf("%s_request_in_progress%v = %v after the run, want 0", prefix, relLabels(m), m.GetGauge().GetValue())
		}
	}
}

// relSettledScrape scrapes url until every request_in_progress gauge is 0 (a
// server counts a request just after writing its response, so the client
// can be a moment ahead) and returns that scrape.
func relSettledScrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		fams := scrape(t, url)
		busy := false
		for name, mf := range fams {
			if !strings.HasSuffix(name, "_request_in_progress") {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetGauge().GetValue() != 0 {
					busy = true
				}
			}
		}
		if !busy || time.Now().After(deadline) {
			return fams
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// relFamilyTotal sums a counter family over the series whose labels include filter.
func relFamilyTotal(fams map[string]*dto.MetricFamily, name string, filter map[string]string) float64 {
	var n float64
	for _, m := range fams[name].GetMetric() {
		if labelsMatch(m, filter) {
			n += m.GetCounter().GetValue()
		}
	}
	return n
}

// relDiscardLogger drops every log record, even in verbose runs: the load
// tests log thousands of expected errors.
func relDiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// relStartHTTP starts svc over HTTP with logging off and stops it at the end
// of the test.
func relStartHTTP(t testing.TB, svc *bento.Service, cfg *config.Config) *bento.Server {
	t.Helper()
	return startHTTPWith(t, svc, cfg, relDiscardLogger())
}

// relStartGRPC is startHTTP's gRPC twin with logging off.
func relStartGRPC(t testing.TB, svc *bento.Service, cfg *config.Config) (*bento.Server, pb.BentoServiceClient) {
	t.Helper()
	srv, c, _ := startGRPCWith(t, svc, cfg, relDiscardLogger())
	return srv, c
}

// relClient returns an HTTP client that keeps up to n connections alive
// per host, for load generators.
func relClient(n int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        n,
			MaxIdleConnsPerHost: n,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// send posts body to url and returns the status and body. Any transport
// error is returned as is.
func relSend(c *http.Client, method, url, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// relGRPCStatus is the http_response_code gobento records for a gRPC code
// (bentoml-compat "Decisions"), written out independently of the server's
// own table so that the test can catch a wrong mapping.
var relGRPCStatus = map[codes.Code]int{
	codes.OK:                200,
	codes.InvalidArgument:   400,
	codes.NotFound:          404,
	codes.ResourceExhausted: 429,
	codes.Internal:          500,
	codes.Unavailable:       503,
	codes.DeadlineExceeded:  504,
}

// ---- count exactness ------------------------------------------------------------

// relCountCase is one kind of request in the mixed count run.
type relCountCase struct {
	method, path, body string
	ct                 string
	// api is the endpoint label the request is counted under.
	api string
	// want lists the statuses the client may see; the client counts what it
	// got, so max_concurrency's 429 may replace any of them.
	want []int
	// runner is the runner code recorded for each API status, when the API
	// calls the "upper" runner ("" when it does not).
	runner map[int]int
	weight int
}

// TestCountExactness drives a long mixed run (100 000 requests over HTTP
// and gRPC; 10 000 with -short) with many goroutines over keep-alive
// connections and checks that every request_total series, API and runner,
// equals the client's own tally exactly, that every histogram _count equals
// its request_total, and that every in-progress gauge is back to 0.
func TestCountExactness(t *testing.T) {
	total := 100_000
	if testing.Short() {
		total = 10_000
	}
	httpN := total * 6 / 10
	grpcN := total - httpN
	var ran atomic.Int64
	// The two servers are independent (separate registries): run them side
	// by side to use both cores.
	t.Run("group", func(t *testing.T) {
		t.Run("http", func(t *testing.T) { t.Parallel(); ran.Add(int64(countHTTP(t, httpN))) })
		t.Run("grpc", func(t *testing.T) { t.Parallel(); ran.Add(int64(countGRPC(t, grpcN))) })
	})
	t.Logf("count exactness: %d requests in total", ran.Load())
	if int(ran.Load()) < total {
		t.Errorf("ran %d requests, want at least %d", ran.Load(), total)
	}
}

func countHTTP(t *testing.T, n int) int {
	cfg := testConfig(t)
	// Long enough that no ordinary request times out even on a loaded
	// machine: a 504 races with the runner's own result, and the runner
	// series must be exactly predictable from the client's view.
	cfg.APIServer.Traffic.Timeout = 3
	cfg.APIServer.HTTP.MaxRequestSize = 1024
	maxConc := 24 // below the client's concurrency: some requests see 429
	cfg.APIServer.Traffic.MaxConcurrency = &maxConc
	srv := relStartHTTP(t, kitchenSink(t), cfg)
	u := srv.URL()
	big := strings.Repeat("z", 1500)
	cases := []relCountCase{
		{method: "POST", path: "/echo", body: "x", api: "/echo", want: []int{200}, weight: 30},
		{method: "POST", path: "/v1/shout", body: "abc", api: "/v1/shout", want: []int{200}, runner: map[int]int{200: 200}, weight: 15},
		{method: "POST", path: "/v1/shout", body: "model-bad", api: "/v1/shout", want: []int{400}, runner: map[int]int{400: 400}, weight: 5},
		{method: "POST", path: "/point", body: `{"x":1,"y":2}`, ct: "application/json", api: "/point", want: []int{200}, weight: 10},
		{method: "POST", path: "/point", body: `{"x":`, api: "/point", want: []int{400}, weight: 8},
		{method: "POST", path: "/sum", body: `[[1,2]]`, api: "/sum", want: []int{200}, weight: 5},
		{method: "POST", path: "/sum", body: `[[1,2,3]]`, api: "/sum", want: []int{400}, weight: 3},
		{method: "POST", path: "/size", body: "hello", ct: "text/plain", api: "/size", want: []int{415}, weight: 3},
		{method: "POST", path: "/fail", body: "missing", api: "/fail", want: []int{404}, weight: 4},
		{method: "POST", path: "/fail", body: "secret", api: "/fail", want: []int{500}, weight: 4},
		{method: "POST", path: "/fail", body: "busy", api: "/fail", want: []int{503}, weight: 4},
		{method: "POST", path: "/fail", body: "panic", api: "/fail", want: []int{500}, weight: 1},
		{method: "GET", path: "/echo", api: "/echo", want: []int{405}, weight: 3},
		{method: "POST", path: "/no/such/api", body: "x", api: "<unmatched>", want: []int{404}, weight: 4},
		{method: "POST", path: "/echo", body: big, api: "/echo", want: []int{413}, weight: 1},
	}
	slow := relCountCase{method: "POST", path: "/slow", body: "10s", api: "/slow", want: []int{504}}
	var pick []int
	for i, c := range cases {
		for range c.weight {
			pick = append(pick, i)
		}
	}
	api, runner := newRelTally(), newRelTally()
	const workers = 48
	c := relClient(workers)
	defer c.CloseIdleConnections()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failures atomic.Int64
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			localAPI, localRunner := map[relKey]float64{}, map[relKey]float64{}
			defer func() { api.merge(localAPI); runner.merge(localRunner) }()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				cc := cases[pick[rng.IntN(len(pick))]]
				if i%5000 == 0 {
					cc = slow
				}
				st, body, err := relSend(c, cc.method, u+cc.path, cc.ct, []byte(cc.body))
				if err != nil {
					if failures.Add(1) <= 5 {
						t.Errorf("%s %s: %v", cc.method, cc.path, err)
					}
					continue
				}
				if st != 429 && !relContains(cc.want, st) {
					if failures.Add(1) <= 5 {
						t.Errorf("%s %s %.20q: status %d, want %v (%.200s)", cc.method, cc.path, cc.body, st, cc.want, body)
					}
				}
				localAPI[relKey{cc.api, strconv.Itoa(st)}]++
				if rc, ok := cc.runner[st]; ok {
					localRunner[relKey{"/upper", strconv.Itoa(rc)}]++
				}
			}
		})
	}
	wg.Wait()
	fams := relSettledScrape(t, srv.MetricsURL())
	want := api.snapshot()
	base := map[string]string{"service_name": "kitchen_sink", "service_version": "1.2.3"}
	relCheckSeries(t, fams, "bentoml_api_server", "endpoint", base, want)
	relCheckSeries(t, fams, "bentoml_runner", "endpoint", map[string]string{"runner_name": "upper"}, runner.snapshot())
	if got := relFamilyTotal(fams, "bentoml_api_server_request_total", nil); got != float64(n) {
		t.Errorf("sum of bentoml_api_server_request_total = %v, sent %d", got, n)
	}
	relLogTally(t, "http", want)
	return n
}

func countGRPC(t *testing.T, n int) int {
	cfg := testConfig(t)
	cfg.APIServer.Traffic.Timeout = 3
	maxConc := 24
	cfg.APIServer.Traffic.MaxConcurrency = &maxConc
	srv, c := relStartGRPC(t, kitchenSink(t), cfg)
	text := func(api, s string) *pb.Request {
		return &pb.Request{ApiName: api, Content: &pb.Request_Text{Text: wrapperspb.String(s)}}
	}
	type gcase struct {
		req    *pb.Request
		api    string // api_name label
		want   codes.Code
		runner bool
		weight int
	}
	cases := []gcase{
		{req: text("echo", "x"), api: "echo", want: codes.OK, weight: 30},
		{req: text("shout", "abc"), api: "shout", want: codes.OK, runner: true, weight: 15},
		{req: text("shout", "model-bad"), api: "shout", want: codes.InvalidArgument, runner: true, weight: 5},
		{req: &pb.Request{ApiName: "point", Content: &pb.Request_SerializedBytes{SerializedBytes: []byte(`{"x":1}`)}}, api: "point", want: codes.OK, weight: 10},
		{req: &pb.Request{ApiName: "point", Content: &pb.Request_SerializedBytes{SerializedBytes: []byte(`{"x":`)}}, api: "point", want: codes.InvalidArgument, weight: 8},
		{req: text("point", "wrong field"), api: "point", want: codes.InvalidArgument, weight: 3},
		{req: &pb.Request{ApiName: "echo"}, api: "echo", want: codes.InvalidArgument, weight: 2},
		{req: text("fail", "missing"), api: "fail", want: codes.NotFound, weight: 4},
		{req: text("fail", "secret"), api: "fail", want: codes.Internal, weight: 4},
		{req: text("fail", "busy"), api: "fail", want: codes.Unavailable, weight: 4},
		{req: text("fail", "panic"), api: "fail", want: codes.Internal, weight: 1},
		{req: text("no_such_api", "x"), api: "<unmatched>", want: codes.InvalidArgument, weight: 4},
	}
	slow := gcase{req: text("slow", "10s"), api: "slow", want: codes.DeadlineExceeded}
	var pick []int
	for i, c := range cases {
		for range c.weight {
			pick = append(pick, i)
		}
	}
	api, runner := newRelTally(), newRelTally()
	const workers = 48
	var next atomic.Int64
	var failures atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			localAPI, localRunner := map[relKey]float64{}, map[relKey]float64{}
			defer func() { api.merge(localAPI); runner.merge(localRunner) }()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				gc := cases[pick[rng.IntN(len(pick))]]
				if i%5000 == 0 {
					gc = slow
				}
				_, err := c.Call(context.Background(), gc.req)
				code := status.Code(err)
				httpCode, known := relGRPCStatus[code]
				if !known || (code != gc.want && code != codes.ResourceExhausted) {
					if failures.Add(1) <= 5 {
						t.Errorf("Call %s: %v, want %v", gc.req.GetApiName(), err, gc.want)
					}
					if !known {
						continue
					}
				}
				localAPI[relKey{gc.api, strconv.Itoa(httpCode)}]++
				if gc.runner && code != codes.ResourceExhausted {
					localRunner[relKey{"/upper", strconv.Itoa(httpCode)}]++
				}
			}
		})
	}
	wg.Wait()
	fams := relSettledScrape(t, srv.MetricsURL())
	want := api.snapshot()
	relCheckSeries(t, fams, "bentoml_api_server", "api_name", map[string]string{"service_name": "kitchen_sink"}, want)
	relCheckSeries(t, fams, "bentoml_runner", "endpoint", map[string]string{"runner_name": "upper"}, runner.snapshot())
	if got := relFamilyTotal(fams, "bentoml_api_server_request_total", nil); got != float64(n) {
		t.Errorf("sum of bentoml_api_server_request_total = %v, sent %d", got, n)
	}
	relLogTally(t, "grpc", want)
	return n
}

func relContains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// relLogTally logs the client's tally, sorted, for the test output.
func relLogTally(t testing.TB, what string, m map[relKey]float64) {
	t.Helper()
	keys := make([]relKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, m[k])
	}
	t.Logf("%s tally:%s", what, b.String())
}

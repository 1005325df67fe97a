package bento_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/internal/testenv"
)

// overloadResult is one request of an open-loop load run.
type overloadResult struct {
	status  int
	latency time.Duration
	err     error
}

// openLoop sends POST requests to url at rate per second for d, each from
// its own goroutine, whatever the server's speed (a fixed arrival rate, as
// from many independent clients), and returns every result.
func openLoop(c *http.Client, url string, rate int, d time.Duration, body []byte) []overloadResult {
	var (
		mu  sync.Mutex
		out []overloadResult
		wg  sync.WaitGroup
	)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(due))
		wg.Go(func() {
			t0 := time.Now()
			st, _, err := relSend(c, "POST", url, "text/plain", body)
			r := overloadResult{status: st, latency: time.Since(t0), err: err}
			mu.Lock()
			out = append(out, r)
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// percentile returns the p-th percentile (0–100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// overloadSummary splits results by status and checks that only the
// allowed statuses occurred.
func overloadSummary(t *testing.T, rs []overloadResult, allowed ...int) map[int][]time.Duration {
	t.Helper()
	by := map[int][]time.Duration{}
	errs := 0
	for _, r := range rs {
		if r.err != nil {
			if errs++; errs <= 3 {
				t.Errorf("transport error under load: %v", r.err)
			}
			continue
		}
		by[r.status] = append(by[r.status], r.latency)
	}
	for st, ls := range by {
		if !slices.Contains(allowed, st) {
			t.Errorf("%d responses with status %d; allowed %v", len(ls), st, allowed)
		}
	}
	var b []string
	for _, st := range []int{200, 429, 503, 504} {
		if ls := by[st]; len(ls) > 0 {
			b = append(b, fmt.Sprintf("%d: n=%d p50=%v p99=%v max=%v", st, len(ls),
				percentile(ls, 50).Round(time.Millisecond), percentile(ls, 99).Round(time.Millisecond), slices.Max(ls).Round(time.Millisecond)))
		}
	}
	t.Logf("%d requests; %v", len(rs), b)
	return by
}

// recovers checks that after the load, single requests return to normal
// latency (below normal) within two seconds: five in a row must be fast.
func recovers(t *testing.T, c *http.Client, url string, body []byte, normal time.Duration) {
	t.Helper()
	stopped := time.Now()
	deadline := stopped.Add(2 * time.Second)
	good := 0
	for good < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: single requests were not back under %v within 2s of the load stopping", normal)
		}
		t0 := time.Now()
		st, _, err := relSend(c, "POST", url, "text/plain", body)
		if err == nil && st == 200 && time.Since(t0) < normal {
			good++
		} else {
			good = 0
		}
	}
	t.Logf("recovered %v after the load stopped", time.Since(stopped).Round(time.Millisecond))
}

// TestOverloadMaxConcurrency drives an API whose calls take 40 ms with
// api_server.traffic.max_concurrency 4 (capacity 100 requests/s) at 300
// requests/s: the excess must get fast 429s, accepted requests keep their
// latency, the metrics count both, and the server recovers at once.
func TestOverloadMaxConcurrency(t *testing.T) {
	testenv.Timing(t)
	const work = 40 * time.Millisecond
	svc := bento.NewService("overload")
	bento.API(svc, "work", bento.Text(), bento.Text(), func(ctx context.Context, s string) (string, error) {
		select {
		case <-time.After(work):
			return s, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	cfg := testConfig(t)
	maxConc := 4
	cfg.APIServer.Traffic.MaxConcurrency = &maxConc
	cfg.APIServer.Traffic.Timeout = 1
	srv := relStartHTTP(t, svc, cfg)
	c := relClient(256)
	defer c.CloseIdleConnections()
	url := srv.URL() + "/work"
	capacity := float64(maxConc) / work.Seconds()
	dur := 3 * time.Second
	rs := openLoop(c, url, int(3*capacity), dur, []byte("w"))
	by := overloadSummary(t, rs, 200, 429)
	if len(by[429]) == 0 {
		t.Fatal("3× capacity produced no 429")
	}
	// rejected fast: a 429 is decided before the body is read
	if p := percentile(by[429], 99); p > 25*time.Millisecond {
		t.Errorf("p99 of 429 responses = %v, want < 25ms", p)
	}
	// accepted requests are not slowed down by the excess
	if p := percentile(by[200], 99); p > work+200*time.Millisecond {
		t.Errorf("p99 of accepted requests = %v, want < %v", p, work+200*time.Millisecond)
	}
	// goodput: at least half the capacity was used
	if got, min := float64(len(by[200])), 0.5*capacity*dur.Seconds(); got < min {
		t.Errorf("%v requests accepted in %v, want at least %v", got, dur, min)
	}
	recovers(t, c, url, []byte("r"), work+60*time.Millisecond)
	fams := relSettledScrape(t, srv.MetricsURL())
	for st, f := range map[string]int{"200": len(by[200]) + 5, "429": len(by[429])} {
		if got, _ := sample(fams, "bentoml_api_server_request_total", map[string]string{"endpoint": "/work", "http_response_code": st}); got < float64(f) || got > float64(f)+10 {
			t.Errorf("request_total{code=%s} = %v, client saw %d (+ the recovery probes)", st, got, f)
		}
	}
}

// spin burns CPU for d, like a model computing.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// TestOverloadBatchDeadline drives a batchable, CPU-bound model (10 ms +
// 5 ms per item, batches of at most 4: capacity about 133 items/s) with a
// 50 ms max latency at three times its capacity: the calls that cannot
// meet the deadline must be shed with fast 503s, accepted calls must finish
// within the deadline (plus HTTP overhead on a shared machine), and the
// service must recover within seconds.
func TestOverloadBatchDeadline(t *testing.T) {
	testenv.Timing(t)
	const (
		fixed, perItem = 10 * time.Millisecond, 5 * time.Millisecond
		maxBatch       = 4
		maxLatency     = 50 * time.Millisecond
		slack          = 100 * time.Millisecond // HTTP, goroutine scheduling, -race, a shared 2-core machine
	)
	svc := bento.NewService("batch_overload")
	r := bento.NewRunner(svc, "spin", func() (int, error) { return 0, nil })
	infer := bento.BatchMethod(r, "infer", func(_ int, _ context.Context, xs []string) ([]string, error) {
		spin(fixed + perItem*time.Duration(len(xs)))
		// a fresh slice: returning xs itself trips the dispatcher bug that
		// TestFaultyBatchModelReturnsItsInput pins down
		return slices.Clone(xs), nil
	}, bento.MaxBatchSize(maxBatch), bento.MaxLatency(maxLatency))
	bento.API(svc, "infer", bento.Text(), bento.Text(), infer.Run)
	cfg := testConfig(t)
	cfg.APIServer.Traffic.Timeout = 5
	srv := relStartHTTP(t, svc, cfg)
	c := relClient(256)
	defer c.CloseIdleConnections()
	url := srv.URL() + "/infer"
	// warm up the dispatcher's cost model
	for range 20 {
		relSend(c, "POST", url, "text/plain", []byte("warm"))
	}
	capacity := maxBatch / (fixed + perItem*maxBatch).Seconds()
	dur := 3 * time.Second
	rs := openLoop(c, url, int(3*capacity), dur, []byte("x"))
	by := overloadSummary(t, rs, 200, 503)
	if len(by[503]) == 0 {
		t.Fatal("3× capacity shed nothing")
	}
	if p := percentile(by[200], 99); p > maxLatency+slack {
		t.Errorf("p99 of accepted calls = %v, want within max latency %v + %v", p, maxLatency, slack)
	}
	// a shed call is answered no later than when it could no longer finish
	if p := percentile(by[503], 99); p > maxLatency+slack {
		t.Errorf("p99 of shed calls = %v, want < %v", p, maxLatency+slack)
	}
	if got, min := float64(len(by[200])), 0.4*capacity*dur.Seconds(); got < min {
		t.Errorf("%v calls accepted in %v, want at least %v (40%% of capacity)", got, dur, min)
	}
	recovers(t, c, url, []byte("r"), fixed+perItem+60*time.Millisecond)
	fams := relSettledScrape(t, srv.MetricsURL())
	got503, _ := sample(fams, "bentoml_api_server_request_total", map[string]string{"endpoint": "/infer", "http_response_code": "503"})
	if got503 != float64(len(by[503])) {
		t.Errorf("request_total{code=503} = %v, client saw %d", got503, len(by[503]))
	}
	if shed := relFamilyTotal(fams, "bentoml_runner_shed_total", map[string]string{"runner_name": "spin"}); shed < float64(len(by[503])) {
		t.Errorf("bentoml_runner_shed_total = %v, client saw %d shed calls", shed, len(by[503]))
	}
}

package bento_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/testenv"
)

// faultLog records every batch a faulty model executed, across workers.
type faultLog struct {
	mu      sync.Mutex
	batches [][]string
}

func (l *faultLog) record(items []string) {
	l.mu.Lock()
	l.batches = append(l.batches, slices.Clone(items))
	l.mu.Unlock()
}

// batchOf returns the recorded batch holding item (items are unique).
func (l *faultLog) batchOf(item string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.batches {
		if slices.Contains(b, item) {
			return b
		}
	}
	return nil
}

// faultModel misbehaves on command. Inputs:
//
//	panic…   panics                       → 500
//	error…   returns a plain error        → 500 (generic message)
//	bad…     returns bento.BadInputf      → 400
//	busy…    returns bento.Unavailable    → 503
//	hang:D   sleeps D ignoring its ctx    → 504 when D is past the timeout
//	hold:D   sleeps D, then succeeds      (keeps the worker busy)
//	short…   (batch) one output too few   → 500 for the whole batch
//	long…    (batch) one output too many  → 500 for the whole batch
//	anything else                         → upper-cased
type faultModel struct {
	worker int
	log    *faultLog
}

// faultStatus is the status a poisoned input produces.
func faultStatus(item string) (int, bool) {
	for _, p := range []struct {
		prefix string
		status int
	}{{"panic", 500}, {"error", 500}, {"bad", 400}, {"busy", 503}, {"short", 500}, {"long", 500}} {
		if strings.HasPrefix(item, p.prefix) {
			return p.status, true
		}
	}
	return 0, false
}

func sleepArg(item, prefix string) (time.Duration, bool) {
	if !strings.HasPrefix(item, prefix) {
		return 0, false
	}
	// "hold:150ms-r3": the duration ends at the first '-' (a round tag).
	arg, _, _ := strings.Cut(strings.TrimPrefix(item, prefix), "-")
	d, err := time.ParseDuration(arg)
	return d, err == nil
}

func (m *faultModel) act(_ context.Context, s string) (string, error) {
	switch {
	case strings.HasPrefix(s, "panic"):
		panic("model exploded on " + s)
	case strings.HasPrefix(s, "error"):
		return "", errors.New("model failed: secret details")
	case strings.HasPrefix(s, "bad"):
		return "", bento.BadInputf("the model refuses %q", s)
	case strings.HasPrefix(s, "busy"):
		return "", bento.Unavailable("model busy")
	}
	if d, ok := sleepArg(s, "hang:"); ok {
		time.Sleep(d) // ignores ctx on purpose
	}
	if d, ok := sleepArg(s, "hold:"); ok {
		time.Sleep(d)
	}
	return strings.ToUpper(s), nil
}

func (m *faultModel) batch(_ context.Context, items []string) ([]string, error) {
	m.log.record(items)
	outs := make([]string, len(items))
	for i, s := range items {
		outs[i] = strings.ToUpper(s)
		if d, ok := sleepArg(s, "hold:"); ok {
			time.Sleep(d)
		}
		if d, ok := sleepArg(s, "hang:"); ok {
			time.Sleep(d)
		}
	}
	for _, s := range items {
		switch {
		case strings.HasPrefix(s, "panic"):
			panic("batch exploded on " + s)
		case strings.HasPrefix(s, "error"):
			return nil, errors.New("batch failed: secret details")
		case strings.HasPrefix(s, "bad"):
			return nil, bento.BadInputf("the model refuses %q", s)
		case strings.HasPrefix(s, "busy"):
			return nil, bento.Unavailable("model busy")
		case strings.HasPrefix(s, "short"):
			return outs[:len(outs)-1], nil
		case strings.HasPrefix(s, "long"):
			return append(outs, "EXTRA"), nil
		}
	}
	return outs, nil
}

// faultService has runner "faulty" (workers as given) with method act and
// batchable method batch (max batch size 8), served by APIs act and batch.
func faultService(workers int, log *faultLog) *bento.Service {
	svc := bento.NewService("faults")
	var mu sync.Mutex
	next := 0
	r := bento.NewRunner(svc, "faulty", func() (*faultModel, error) {
		mu.Lock()
		defer mu.Unlock()
		next++
		return &faultModel{worker: next, log: log}, nil
	}, bento.Workers(workers))
	act := bento.Method(r, "act", (*faultModel).act)
	batch := bento.BatchMethod(r, "batch", (*faultModel).batch, bento.MaxBatchSize(8))
	bento.API(svc, "act", bento.Text(), bento.Text(), act.Run)
	bento.API(svc, "batch", bento.Text(), bento.Text(), batch.Run)
	return svc
}

func faultConfig(t testing.TB) *config.Config {
	cfg := testConfig(t)
	cfg.APIServer.Traffic.Timeout = 0.3
	return cfg
}

// faultClient posts to the fault service and tallies API and runner codes.
type faultClient struct {
	t        testing.TB
	url      string
	c        *http.Client
	api, run *relTally
}

func newFaultClient(t testing.TB, srv *bento.Server) *faultClient {
	return &faultClient{t: t, url: srv.URL(), c: relClient(32), api: newRelTally(), run: newRelTally()}
}

// call posts s to API name and counts the request; every API request makes
// exactly one runner call with the same status.
func (fc *faultClient) call(name, s string) (int, string) {
	st, body, err := relSend(fc.c, "POST", fc.url+"/"+name, "text/plain", []byte(s))
	if err != nil {
		fc.t.Errorf("POST /%s %q: %v", name, s, err)
		return 0, ""
	}
	fc.api.add("/"+name, st)
	fc.run.add("/"+name, st)
	if st >= 500 && (strings.Contains(string(body), "secret") || strings.Contains(string(body), "exploded")) {
		fc.t.Errorf("POST /%s %q: error body leaks internals: %s", name, s, body)
	}
	return st, string(body)
}

// check compares the server's API and runner series with the tallies.
func (fc *faultClient) check(srv *bento.Server) {
	fc.t.Helper()
	fams := relSettledScrape(fc.t, srv.MetricsURL())
	relCheckSeries(fc.t, fams, "bentoml_api_server", "endpoint", map[string]string{"service_name": "faults"}, fc.api.snapshot())
	relCheckSeries(fc.t, fams, "bentoml_runner", "endpoint", map[string]string{"runner_name": "faulty"}, fc.run.snapshot())
}

// TestFaultyModelStatuses calls a runner method and a batchable method that
// panic, fail, refuse and hang, and checks each caller's status, that a
// panicking worker keeps serving, and the API and runner metrics.
func TestFaultyModelStatuses(t *testing.T) {
	log := &faultLog{}
	srv := relStartHTTP(t, faultService(1, log), faultConfig(t))
	fc := newFaultClient(t, srv)
	for _, api := range []string{"act", "batch"} {
		for _, tc := range []struct {
			in     string
			status int
		}{
			{"ok", 200}, {"panic", 500}, {"error", 500}, {"bad", 400}, {"busy", 503},
			{"hang:600ms", 504}, {"ok-after-hang", 200},
		} {
			t.Run(api+"/"+tc.in, func(t *testing.T) {
				if tc.in == "ok-after-hang" {
					time.Sleep(400 * time.Millisecond) // the single worker is still asleep
				}
				start := time.Now()
				st, body := fc.call(api, tc.in)
				if st != tc.status {
					t.Fatalf("status %d (%s), want %d", st, body, tc.status)
				}
				if st == 200 && body != strings.ToUpper(tc.in) {
					t.Errorf("body %q", body)
				}
				if st == 504 && time.Since(start) > 2*time.Second {
					t.Errorf("504 after %v; api_server.traffic.timeout is 0.3s", time.Since(start))
				}
			})
		}
		for _, poison := range []string{"short", "long"} {
			if api != "batch" {
				continue
			}
			t.Run(api+"/"+poison, func(t *testing.T) {
				if st, body := fc.call(api, poison); st != 500 {
					t.Fatalf("status %d (%s), want 500", st, body)
				}
			})
		}
		t.Run(api+"/worker survives 25 panics", func(t *testing.T) {
			for i := range 25 {
				if st, _ := fc.call(api, fmt.Sprintf("panic-%d", i)); st != 500 {
					t.Fatalf("panic %d: status %d", i, st)
				}
			}
			if st, body := fc.call(api, "alive"); st != 200 || body != "ALIVE" {
				t.Fatalf("after panics: %d %q", st, body)
			}
		})
	}
	fc.check(srv)
}

// TestFaultyBatchSharesFate makes concurrent callers share batches with a
// poisoned item and checks that every caller gets its own batch's fate:
// callers batched with the poison get its status, the others their own
// results.
func TestFaultyBatchSharesFate(t *testing.T) {
	log := &faultLog{}
	cfg := faultConfig(t)
	cfg.APIServer.Traffic.Timeout = 5
	srv := relStartHTTP(t, faultService(1, log), cfg)
	fc := newFaultClient(t, srv)
	sharedPoison, sparedCallers := 0, 0
	for round, poison := range []string{"panic", "error", "bad", "busy", "short", "long", "panic", "short"} {
		t.Run(fmt.Sprintf("%d-%s", round, poison), func(t *testing.T) {
			hold := fmt.Sprintf("hold:150ms-r%d", round)
			items := make([]string, 15)
			for i := range items {
				items[i] = fmt.Sprintf("ok-r%d-%d", round, i)
			}
			items[5] = fmt.Sprintf("%s-r%d", poison, round)
			type result struct {
				item   string
				status int
				body   string
			}
			results := make(chan result, len(items)+1)
			var wg sync.WaitGroup
			// occupy the single worker so that the next callers queue up
			// and are batched together (max batch size 8)
			wg.Go(func() {
				st, body := fc.call("batch", hold)
				results <- result{hold, st, body}
			})
			time.Sleep(40 * time.Millisecond)
			for _, it := range items {
				wg.Go(func() {
					st, body := fc.call("batch", it)
					results <- result{it, st, body}
				})
			}
			wg.Wait()
			close(results)
			for r := range results {
				b := log.batchOf(r.item)
				if b == nil {
					t.Errorf("%s: got %d but the model never saw it", r.item, r.status)
					continue
				}
				want := 200
				for _, other := range b {
					if st, ok := faultStatus(other); ok {
						want = st
					}
				}
				if r.status != want {
					t.Errorf("%s in batch %v: status %d (%s), want %d", r.item, b, r.status, r.body, want)
				}
				if want == 200 && r.body != strings.ToUpper(r.item) {
					t.Errorf("%s: got another caller's result %q", r.item, r.body)
				}
				if want == 200 && r.item != hold {
					sparedCallers++
				}
			}
			if pb := log.batchOf(items[5]); len(pb) > 1 {
				sharedPoison++
			}
		})
	}
	if sharedPoison == 0 || sparedCallers == 0 {
		t.Errorf("the rounds never exercised both paths: %d poisoned batches with other callers, %d callers spared", sharedPoison, sparedCallers)
	}
	t.Logf("%d rounds had the poison share its batch; %d callers in other batches got their results", sharedPoison, sparedCallers)
	fc.check(srv)
}

// TestFaultyHungWorker hangs one of two workers past the timeout (the model
// ignores its ctx) and checks that the other keeps serving, that with both
// hung callers get 504 at the deadline, and that both recover.
func TestFaultyHungWorker(t *testing.T) {
	srv := relStartHTTP(t, faultService(2, &faultLog{}), faultConfig(t))
	fc := newFaultClient(t, srv)
	if st, _ := fc.call("act", "hang:1500ms"); st != 504 {
		t.Fatalf("hung call: %d, want 504", st)
	}
	// worker 1 sleeps for another ~1.2 s: worker 2 serves everything
	deadline := time.Now().Add(900 * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) {
		start := time.Now()
		st, body := fc.call("act", fmt.Sprintf("ok-%d", n))
		if st != 200 || body != fmt.Sprintf("OK-%d", n) {
			t.Fatalf("call %d while one worker hangs: %d %q", n, st, body)
		}
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Errorf("call %d took %v while one worker hangs", n, d)
		}
		n++
	}
	t.Logf("%d calls served by the free worker while the other hung", n)
	time.Sleep(700 * time.Millisecond) // let worker 1 wake up
	// both workers hung: a caller waits for a free worker until its deadline
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if st, _ := fc.call("act", "hang:1s"); st != 504 {
				t.Errorf("hung call: %d, want 504", st)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if st, _ := fc.call("act", "ok-blocked"); st != 504 {
		t.Errorf("call with both workers hung: %d, want 504", st)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("504 after %v; timeout is 0.3s", d)
	}
	wg.Wait()
	time.Sleep(900 * time.Millisecond)
	var ok sync.WaitGroup
	for i := range 4 {
		ok.Go(func() {
			if st, body := fc.call("act", fmt.Sprintf("back-%d", i)); st != 200 {
				t.Errorf("after the hang: %d %q", st, body)
			}
		})
	}
	ok.Wait()
	fc.check(srv)
}

// TestFaultyRunnerTimeout sets runners.traffic.timeout below the API's and
// checks that the runner's own deadline produces a 504, recorded by both
// the runner and the API.
func TestFaultyRunnerTimeout(t *testing.T) {
	cfg := testConfig(t)
	cfg.APIServer.Traffic.Timeout = 5
	cfg.Runners.Traffic.Timeout = 0.2
	srv := relStartHTTP(t, faultService(2, &faultLog{}), cfg)
	fc := newFaultClient(t, srv)
	for _, api := range []string{"act", "batch"} {
		start := time.Now()
		if st, body := fc.call(api, "hang:700ms"); st != 504 {
			t.Errorf("%s: runner timeout gave %d %s, want 504", api, st, body)
		}
		if d := time.Since(start); d > 600*time.Millisecond && !testenv.Race { // make timing checks it
			t.Errorf("%s: 504 after %v; runners.traffic.timeout is 0.2s", api, d)
		}
	}
	time.Sleep(700 * time.Millisecond)
	for _, api := range []string{"act", "batch"} {
		if st, _ := fc.call(api, "fine"); st != 200 {
			t.Errorf("%s after the timeout: %d", api, st)
		}
	}
	fc.check(srv)
}

// TestFaultyBatchModelReturnsItsInput uses a batch model that transforms
// its input slice in place and returns it — ordinary Go, and the natural
// shape of an identity or element-wise model. Every caller must still get
// its own result, even while the dispatcher forms the next batch.
func TestFaultyBatchModelReturnsItsInput(t *testing.T) {
	svc := bento.NewService("in_place")
	r := bento.NewRunner(svc, "inplace", func() (int, error) { return 0, nil })
	upper := bento.BatchMethod(r, "upper", func(_ int, _ context.Context, xs []string) ([]string, error) {
		for i, x := range xs {
			xs[i] = strings.ToUpper(x)
		}
		return xs, nil
	}, bento.MaxBatchSize(8))
	bento.API(svc, "upper", bento.Text(), bento.Text(), upper.Run)
	relStartHTTP(t, svc, testConfig(t)) // starts the runner
	var wg sync.WaitGroup
	var wrong sync.Map
	for g := range 32 {
		wg.Go(func() {
			for i := range 200 {
				in := fmt.Sprintf("g%d-i%d", g, i)
				out, err := upper.Run(context.Background(), in)
				if err != nil || out != strings.ToUpper(in) {
					wrong.Store(in, fmt.Sprintf("%q, %v", out, err))
				}
			}
		})
	}
	wg.Wait()
	n := 0
	wrong.Range(func(k, v any) bool {
		if n++; n <= 5 {
			t.Errorf("Run(%q) = %v", k, v)
		}
		return true
	})
	if n > 0 {
		t.Errorf("%d of 6400 callers got another caller's value", n)
	}
}

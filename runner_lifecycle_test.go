package bento_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobento/bento"
)

// twice is a model whose batch function fails the items starting with
// "bad" alone (with bento.BadInput) and, for the input "short-errors",
// returns an ItemErrors of the wrong length.
type twice struct{ closed *atomic.Int32 }

func (d twice) Close() error {
	if d.closed != nil {
		d.closed.Add(1)
	}
	return nil
}

func (twice) one(_ context.Context, s string) (string, error) { return s + s, nil }

func (twice) batch(_ context.Context, items []string) ([]string, error) {
	outs := make([]string, len(items))
	var ie bento.ItemErrors
	for i, s := range items {
		switch {
		case s == "short-errors":
			return outs, make(bento.ItemErrors, len(items)+1)
		case strings.HasPrefix(s, "bad"):
			if ie == nil {
				ie = make(bento.ItemErrors, len(items))
			}
			ie[i] = bento.BadInputf("item %q is bad", s)
		default:
			outs[i] = s + s
		}
	}
	if ie != nil {
		return outs, fmt.Errorf("some items failed: %w", ie) // wrapped on purpose
	}
	return outs, nil
}

// doublerService has a plain and a batchable API over one runner.
func doublerService(closed *atomic.Int32, workers int) *bento.Service {
	svc := bento.NewService("doubler")
	r := bento.NewRunner(svc, "doubler", func() (twice, error) { return twice{closed}, nil }, bento.Workers(workers))
	one := bento.Method(r, "one", twice.one)
	many := bento.BatchMethod(r, "many", twice.batch, bento.MaxBatchSize(16), bento.MaxLatency(5*time.Second))
	bento.API(svc, "one", bento.Text(), bento.Text(), one.Run)
	bento.API(svc, "many", bento.Text(), bento.Text(), many.Run)
	return svc
}

// TestServiceRestart starts a service, calls it, shuts it down and does it
// all again: a fresh runner instance each time, no hang, the same answers,
// and each server's metrics count its own calls.
func TestServiceRestart(t *testing.T) {
	var closed atomic.Int32
	svc := doublerService(&closed, 2)
	for round := 1; round <= 3; round++ {
		srv, err := bento.StartHTTP(context.Background(), svc, testConfig(t), bento.Logger(quietLogger(t)))
		if err != nil {
			t.Fatalf("round %d: StartHTTP: %v", round, err)
		}
		for _, api := range []string{"one", "many"} {
			if r := post(t, srv.URL()+"/"+api, "text/plain", "ab"); r.status != 200 || string(r.body) != "abab" {
				t.Errorf("round %d: /%s: %d %q", round, api, r.status, r.body)
			}
		}
		fams := scrape(t, srv.MetricsURL())
		for _, ep := range []string{"/one", "/many"} {
			if n, _ := sample(fams, "bentoml_runner_request_total", map[string]string{"endpoint": ep, "http_response_code": "200"}); n != 1 {
				t.Errorf("round %d: runner requests for %s = %v, want 1", round, ep, n)
			}
		}
		if n, _ := sample(fams, "bentoml_runner_adaptive_batch_size", map[string]string{"runner_name": "doubler"}); n != 1 {
			t.Errorf("round %d: adaptive_batch_size count %v, want 1", round, n)
		}
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done <- srv.Shutdown(ctx)
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: Shutdown: %v", round, err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("round %d: Shutdown hangs", round)
		}
		if n := closed.Load(); n != int32(2*round) {
			t.Errorf("round %d: %d models closed in all, want %d", round, n, 2*round)
		}
	}
}

// TestServiceStartedTwice checks that a service runs in one server at a
// time: a second start while the first runs fails and leaves the first
// serving.
func TestServiceStartedTwice(t *testing.T) {
	var closed atomic.Int32
	svc := doublerService(&closed, 1)
	srv := startHTTP(t, svc, nil)
	_, err := bento.StartHTTP(context.Background(), svc, testConfig(t), bento.Logger(quietLogger(t)))
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second start: %v", err)
	}
	if r := post(t, srv.URL()+"/many", "text/plain", "x"); r.status != 200 || string(r.body) != "xx" {
		t.Errorf("first server after the failed second start: %d %q", r.status, r.body)
	}
	if n := closed.Load(); n != 0 {
		t.Errorf("%d models closed while the first server runs", n)
	}
}

// TestItemErrorsHTTP sends many concurrent calls, some bad, to a batchable
// method: each bad call gets its own 400 and message, each good one its
// own 200 result, whatever batch they shared.
func TestItemErrorsHTTP(t *testing.T) {
	srv := startHTTP(t, doublerService(nil, 2), nil)
	const n = 200
	var wg sync.WaitGroup
	var bad, good atomic.Int32
	for i := range n {
		wg.Go(func() {
			in := "ok" + strconv.Itoa(i)
			if i%3 == 0 {
				in = "bad" + strconv.Itoa(i)
			}
			r := post(t, srv.URL()+"/many", "text/plain", in)
			if strings.HasPrefix(in, "bad") {
				bad.Add(1)
				msg, _ := r.json(t)["msg"].(string)
				if r.status != http.StatusBadRequest || msg != fmt.Sprintf("item %q is bad", in) {
					t.Errorf("%s: %d %q, want 400 with its own message", in, r.status, r.body)
				}
				return
			}
			good.Add(1)
			if r.status != 200 || string(r.body) != in+in {
				t.Errorf("%s: %d %q", in, r.status, r.body)
			}
		})
	}
	wg.Wait()
	t.Logf("%d bad and %d good calls", bad.Load(), good.Load())
	fams := scrape(t, srv.MetricsURL())
	if got, _ := sample(fams, "bentoml_runner_request_total", map[string]string{"endpoint": "/many", "http_response_code": "400"}); got != float64(bad.Load()) {
		t.Errorf("runner 400s %v, want %d", got, bad.Load())
	}
	if got, _ := sample(fams, "bentoml_runner_request_total", map[string]string{"endpoint": "/many", "http_response_code": "200"}); got != float64(good.Load()) {
		t.Errorf("runner 200s %v, want %d", got, good.Load())
	}
}

// TestItemErrorsWrongLength checks that an ItemErrors whose length is not
// the batch's is a 500 for the batch, logged as such.
func TestItemErrorsWrongLength(t *testing.T) {
	log, logs := jsonLogger()
	srv := startHTTPWith(t, doublerService(nil, 1), nil, log)
	if r := post(t, srv.URL()+"/many", "text/plain", "short-errors"); r.status != 500 {
		t.Errorf("wrong-length ItemErrors: %d %q, want 500", r.status, r.body)
	}
	if !strings.Contains(logs.String(), "batch function returned ItemErrors of the wrong length") {
		t.Errorf("log lacks the reason:\n%s", logs.String())
	}
	if r := post(t, srv.URL()+"/many", "text/plain", "ok"); r.status != 200 {
		t.Errorf("after the bad batch: %d %q", r.status, r.body)
	}
}

// TestBatchContextDeadline checks that the batch function's ctx carries the
// caller's deadline (the earliest of its callers') and is not the caller's
// ctx itself.
func TestBatchContextDeadline(t *testing.T) {
	svc := bento.NewService("deadline")
	r := bento.NewRunner(svc, "m", func() (int, error) { return 0, nil })
	deadlines := make(chan time.Time, 1)
	type key struct{}
	values := make(chan any, 1)
	m := bento.BatchMethod(r, "m", func(_ int, ctx context.Context, items []int) ([]int, error) {
		dl, _ := ctx.Deadline()
		deadlines <- dl
		values <- ctx.Value(key{})
		return items, nil
	})
	startHTTP(t, svc, nil)
	want := time.Now().Add(7 * time.Second).Truncate(time.Millisecond)
	ctx, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), want)
	defer cancel()
	if _, err := m.Run(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if dl := <-deadlines; !dl.Equal(want) {
		t.Errorf("batch deadline %v, want the caller's %v", dl, want)
	}
	if v := <-values; v != nil {
		t.Errorf("batch ctx carries a caller's value %v; BatchMethod documents that it does not", v)
	}
}

// TestRunnerNotRunning checks that a method called with no server running
// (before the first start, after shutdown) fails with ErrRunnerStopped.
func TestRunnerNotRunning(t *testing.T) {
	svc := bento.NewService("idle")
	r := bento.NewRunner(svc, "m", func() (twice, error) { return twice{}, nil })
	one := bento.Method(r, "one", twice.one)
	many := bento.BatchMethod(r, "many", twice.batch)
	check := func(when string) {
		if _, err := one.Run(context.Background(), "x"); !errors.Is(err, bento.ErrRunnerStopped) {
			t.Errorf("%s: Method: %v", when, err)
		}
		if _, err := many.Run(context.Background(), "x"); !errors.Is(err, bento.ErrRunnerStopped) {
			t.Errorf("%s: BatchMethod: %v", when, err)
		}
	}
	check("before start")
	srv, err := bento.StartHTTP(context.Background(), svc, testConfig(t), bento.Logger(quietLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := many.Run(context.Background(), "x"); err != nil || out != "xx" {
		t.Errorf("running: %q, %v", out, err)
	}
	shutdown(t, srv)
	check("after shutdown")
}

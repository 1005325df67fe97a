package batching

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gobento/bento/internal/testenv"
)

// TestClosedLoopCallerNeverWaits: a single caller that sends its next
// request as soon as the previous one returns keeps the dispatcher busy
// enough for the arrival-rate estimate to suggest batches of 2, but every
// request arrives to an idle dispatcher and must be dispatched at once.
func TestClosedLoopCallerNeverWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestModel(100*time.Microsecond, 2*time.Millisecond)
		rec := &recorder{}
		d := start(t, Config{MaxBatchSize: 32, MaxLatency: 100 * time.Millisecond, Workers: 1, Enabled: true}, m.exec, rec)
		defer stop(t, d)
		for i := range 200 {
			t0 := time.Now()
			out, err := d.Submit(context.Background(), []int{i})
			if err != nil || out[0] != 10*i {
				t.Fatalf("call %d: %v %v", i, out, err)
			}
			// the model takes a·1+b = 2.1 ms; anything more is waiting
			if el := time.Since(t0); el != 2100*time.Microsecond {
				t.Fatalf("call %d took %v, want exactly the model's 2.1ms", i, el)
			}
		}
		for _, ev := range rec.events() {
			for _, w := range ev.waits {
				if w != 0 {
					t.Fatalf("a closed-loop call waited %v in the queue", w)
				}
			}
		}
	})
}

// TestShedCountsTheBusyWorker: with the only worker busy until T, a queued
// call can start no earlier than T. When T + predict(n) already misses its
// deadline it is shed at once, not left to wait until the miss is certain.
func TestShedCountsTheBusyWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestModel(0, 10*time.Millisecond)
		d := start(t, Config{MaxBatchSize: 8, MaxLatency: 15 * time.Millisecond, Workers: 1, Enabled: true}, m.exec, nil)
		defer stop(t, d)
		for i := range 3 { // teach the model: a batch takes 10 ms
			if _, err := d.Submit(context.Background(), []int{i}); err != nil {
				t.Fatal(err)
			}
		}
		first := submitAsync(context.Background(), d, 100) // runs 10 ms
		time.Sleep(time.Millisecond)
		t0 := time.Now()
		// could start at +9 ms, would end at +19 ms > 15 ms: hopeless now
		if _, err := d.Submit(context.Background(), []int{101}); err != ErrShed {
			t.Fatalf("second call: err %v, want ErrShed", err)
		}
		if el := time.Since(t0); el != 0 {
			t.Errorf("shed after %v, want at once", el)
		}
		if r := <-first; r.err != nil {
			t.Fatalf("first call: %v", r.err)
		}
		time.Sleep(time.Millisecond)
		// idle again: a call that fits is served
		if _, err := d.Submit(context.Background(), []int{102}); err != nil {
			t.Fatalf("after the busy period: %v", err)
		}
	})
}

// TestOneCPUBatchesFill runs closed-loop callers against a CPU-bound model
// with GOMAXPROCS 1, as in a 1-CPU container: the model's goroutine holds
// the only P, so callers it released can resubmit (and see their results)
// only when the worker lets them run. Batches must still fill up and every
// caller must get its answer within MaxLatency. Real time, not synctest:
// the point is the real scheduler.
func TestOneCPUBatchesFill(t *testing.T) {
	testenv.Timing(t)
	if testing.Short() {
		t.Skip("real-time scheduling test")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const (
		mbs     = 16
		callers = 4 * mbs
		a       = 50 * time.Microsecond
		b       = time.Millisecond
		maxLat  = 100 * time.Millisecond
	)
	rec := &recorder{}
	exec := func(_ context.Context, xs []int) ([]int, error) {
		end := time.Now().Add(b + time.Duration(len(xs))*a)
		for time.Now().Before(end) { // busy: the model holds the P
		}
		return slices.Clone(xs), nil
	}
	d := start(t, Config{MaxBatchSize: mbs, MaxLatency: maxLat, Workers: 1, Enabled: true}, exec, rec)
	defer stop(t, d)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		worst time.Duration
		fails int
	)
	deadline := time.Now().Add(300 * time.Millisecond)
	for c := range callers {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				out, err := d.Submit(context.Background(), []int{c*1_000_000 + i})
				el := time.Since(t0)
				mu.Lock()
				worst = max(worst, el)
				if err != nil || len(out) != 1 || out[0] != c*1_000_000+i {
					fails++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sizes := rec.sizes()
	if len(sizes) < 20 {
		t.Fatalf("only %d batches ran", len(sizes))
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	mean := float64(total) / float64(len(sizes))
	t.Logf("%d batches, mean size %.1f of %d, slowest call %v, %d failed", len(sizes), mean, mbs, worst, fails)
	if mean < 0.85*mbs {
		t.Errorf("mean batch size %.1f, want at least %.1f: released callers did not get to resubmit", mean, 0.85*mbs)
	}
	if fails > 0 {
		t.Errorf("%d calls failed or got another caller's output", fails)
	}
	if worst > maxLat {
		t.Errorf("slowest call took %v, over MaxLatency %v", worst, maxLat)
	}
}

package batching

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var cfg4 = Config{MaxBatchSize: 4, MaxLatency: time.Second, Workers: 1, Enabled: true}

// queueBehindBlocker blocks the only worker, then submits each call in
// order; the caller releases the worker with m.release().
func queueBehindBlocker(d *Dispatcher[int, int], calls ...[]int) (blocked <-chan result, chs []<-chan result) {
	blocked = submitAsync(context.Background(), d, itemBlock)
	synctest.Wait()
	for _, items := range calls {
		chs = append(chs, submitAsync(context.Background(), d, items...))
		synctest.Wait()
	}
	return blocked, chs
}

func TestFIFOAndSplitting(t *testing.T) {
	tests := []struct {
		name        string
		calls       [][]int
		wantBatches [][]int // after the blocker's batch
		wantReasons []Reason
	}{
		{
			name:        "oldest first",
			calls:       [][]int{{1}, {2}, {3}, {4}, {5}, {6}},
			wantBatches: [][]int{{1, 2, 3, 4}, {5, 6}},
			wantReasons: []Reason{ReasonFull, ReasonCost},
		},
		{
			name:        "exactly MaxBatchSize",
			calls:       [][]int{{1, 2, 3, 4}},
			wantBatches: [][]int{{1, 2, 3, 4}},
			wantReasons: []Reason{ReasonFull},
		},
		{
			name:        "large call split in order",
			calls:       [][]int{seq(0, 10)},
			wantBatches: [][]int{seq(0, 4), seq(4, 4), seq(8, 2)},
			wantReasons: []Reason{ReasonFull, ReasonFull, ReasonCost},
		},
		{
			name:        "split call shares batches",
			calls:       [][]int{{1, 2, 3}, seq(10, 6), {20, 21}},
			wantBatches: [][]int{{1, 2, 3, 10}, {11, 12, 13, 14}, {15, 20, 21}},
			wantReasons: []Reason{ReasonFull, ReasonFull, ReasonCost},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestModel(time.Millisecond, 0)
				rec := &recorder{}
				d := start(t, cfg4, m.exec, rec)
				defer stop(t, d)
				blocked, chs := queueBehindBlocker(d, tt.calls...)
				m.release()
				<-blocked
				for i, ch := range chs {
					r := <-ch
					if r.err != nil || !slices.Equal(r.out, times10(tt.calls[i]...)) {
						t.Errorf("call %d: got %v, %v; want %v", i, r.out, r.err, times10(tt.calls[i]...))
					}
				}
				if got := m.recorded()[1:]; !slices.EqualFunc(got, tt.wantBatches, slices.Equal) {
					t.Errorf("batches %v, want %v", got, tt.wantBatches)
				}
				if got := rec.reasons()[1:]; !slices.Equal(got, tt.wantReasons) {
					t.Errorf("reasons %v, want %v", got, tt.wantReasons)
				}
			})
		})
	}
}

func TestSplitAcrossWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestModel(time.Millisecond, time.Millisecond)
		d := start(t, Config{MaxBatchSize: 3, MaxLatency: time.Second, Workers: 3, Enabled: true}, m.exec, nil)
		defer stop(t, d)
		items := seq(0, 20)
		out, err := d.Submit(context.Background(), items)
		if err != nil || !slices.Equal(out, times10(items...)) {
			t.Fatalf("Submit = %v, %v", out, err)
		}
		if m.maxInFlight < 2 {
			t.Errorf("max batches in flight %d, want parts to run in parallel", m.maxInFlight)
		}
	})
}

func TestCancellation(t *testing.T) {
	cause := errors.New("client went away")
	t.Run("while queued", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newTestModel(time.Millisecond, 0)
			d := start(t, cfg4, m.exec, nil)
			defer stop(t, d)
			blocked, early := queueBehindBlocker(d, []int{1})
			ctx, cancel := context.WithCancelCause(context.Background())
			a := submitAsync(ctx, d, 2, 3)
			synctest.Wait()
			late := submitAsync(context.Background(), d, 4)
			synctest.Wait()
			cancel(cause)
			synctest.Wait()
			r, ok := ready(a)
			if !ok || !errors.Is(r.err, cause) {
				t.Fatalf("cancelled call: ready=%v err=%v, want it back at once with the cause", ok, r.err)
			}
			if s := d.Stats(); s.Queued != 2 { // items 1 and 4
				t.Errorf("queued %d after cancel, want 2", s.Queued)
			}
			m.release()
			<-blocked
			for i, ch := range []<-chan result{early[0], late} {
				want := []int{[]int{10, 40}[i]}
				if r := <-ch; r.err != nil || !slices.Equal(r.out, want) {
					t.Errorf("neighbour %d: %v, %v", i, r.out, r.err)
				}
			}
			if got := m.recorded()[1]; !slices.Equal(got, []int{1, 4}) {
				t.Errorf("batch after cancel %v, want [1 4]", got)
			}
			for _, b := range m.recorded() {
				if slices.Contains(b, 2) || slices.Contains(b, 3) {
					t.Errorf("cancelled items reached the model: %v", b)
				}
			}
		})
	})
	t.Run("while running", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newTestModel(time.Millisecond, 0)
			d := start(t, cfg4, m.exec, nil)
			defer stop(t, d)
			blocked, chs := queueBehindBlocker(d, []int{1})
			ctx, cancel := context.WithCancelCause(context.Background())
			a := submitAsync(ctx, d, 2)
			synctest.Wait()
			m.release() // 1 and 2 now run together, for 2ms
			<-blocked
			synctest.Wait()
			cancel(cause)
			synctest.Wait()
			r, ok := ready(a)
			if !ok || !errors.Is(r.err, cause) {
				t.Fatalf("cancelled call: ready=%v err=%v, want it back at once", ok, r.err)
			}
			if r := <-chs[0]; r.err != nil || !slices.Equal(r.out, []int{10}) {
				t.Errorf("batch neighbour: %v, %v", r.out, r.err)
			}
			if got := m.recorded()[1]; !slices.Equal(got, []int{1, 2}) {
				t.Errorf("batch %v, want [1 2]", got)
			}
		})
	})
	t.Run("already done", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newTestModel(0, 0)
			d := start(t, cfg4, m.exec, nil)
			defer stop(t, d)
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(cause)
			if _, err := d.Submit(ctx, []int{1}); !errors.Is(err, cause) {
				t.Errorf("Submit with a done ctx: %v", err)
			}
			if len(m.recorded()) != 0 {
				t.Error("a call with a done ctx reached the model")
			}
		})
	})
}

func TestBatchFailures(t *testing.T) {
	tests := []struct {
		name  string
		item  int
		check func(error) bool
	}{
		{"exec error", itemBoom, func(err error) bool { return errors.Is(err, errBoom) }},
		{"panic", itemPanic, func(err error) bool {
			var pe *PanicError
			return errors.As(err, &pe) && pe.Value == "model exploded" && len(pe.Stack) > 0
		}},
		{"wrong output count", itemShort, func(err error) bool { return errors.Is(err, ErrBatchSize) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestModel(time.Millisecond, 0)
				rec := &recorder{}
				d := start(t, cfg4, m.exec, rec)
				defer stop(t, d)
				// One batch holds a call, the bad item and a split call's
				// first part; its second part runs in the next batch.
				blocked, chs := queueBehindBlocker(d, []int{1}, []int{tt.item}, []int{2, 3, 4, 5, 6})
				m.release()
				<-blocked
				for i, ch := range chs {
					if r := <-ch; r.out != nil || !tt.check(r.err) {
						t.Errorf("call %d: out=%v err=%v", i, r.out, r.err)
					}
				}
				// The failed split call's remaining part never ran.
				if got := m.recorded(); len(got) != 2 || !slices.Equal(got[1], []int{1, tt.item, 2, 3}) {
					t.Errorf("batches %v, want the blocker and [1 %d 2 3] only", got, tt.item)
				}
				// The dispatcher keeps working.
				out, err := d.Submit(context.Background(), []int{9})
				if err != nil || !slices.Equal(out, []int{90}) {
					t.Fatalf("after failure: %v, %v", out, err)
				}
				var failed int
				for _, e := range rec.executed {
					if e.err != nil && tt.check(e.err) {
						failed++
					}
				}
				if failed != 1 {
					t.Errorf("Observer saw %d failed batches, want 1: %+v", failed, rec.executed)
				}
			})
		})
	}
}

func TestWorkersInFlight(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run("", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestModel(0, 0)
				d := start(t, Config{MaxBatchSize: 1, MaxLatency: time.Second, Workers: workers, Enabled: true}, m.exec, nil)
				defer stop(t, d)
				var chs []<-chan result
				for range 10 {
					chs = append(chs, submitAsync(context.Background(), d, itemBlock))
				}
				synctest.Wait()
				if s := d.Stats(); s.InFlight != workers || s.Queued != 10-workers {
					t.Errorf("Stats %+v, want %d in flight, %d queued", s, workers, 10-workers)
				}
				for range 10 {
					m.release()
				}
				for _, ch := range chs {
					<-ch
				}
				if m.maxInFlight != workers {
					t.Errorf("max in flight %d, want %d", m.maxInFlight, workers)
				}
			})
		})
	}
}

func TestDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestModel(time.Millisecond, 10*time.Millisecond)
		rec := &recorder{}
		cfg := Config{MaxBatchSize: 4, MaxLatency: 20 * time.Millisecond, Workers: 1, Enabled: false}
		d := start(t, cfg, m.exec, rec)
		defer stop(t, d)
		train(t, d)
		calls := [][]int{{1, 2}, {3, 4, 5}, seq(10, 5), {20}, {21}, {22}}
		blocked, chs := queueBehindBlocker(d, calls...)
		time.Sleep(time.Second) // far beyond MaxLatency: nothing is shed
		m.release()
		<-blocked
		for i, ch := range chs {
			if r := <-ch; r.err != nil || !slices.Equal(r.out, times10(calls[i]...)) {
				t.Errorf("call %d: %v, %v", i, r.out, r.err)
			}
		}
		want := [][]int{{1, 2}, {3, 4, 5}, seq(10, 4), {14}, {20}, {21}, {22}}
		if got := m.recorded()[3:]; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %v, want %v", got, want)
		}
		if rec.shedCount() != 0 {
			t.Errorf("shed %d with batching disabled", rec.shedCount())
		}
	})
}

func TestStop(t *testing.T) {
	t.Run("drains the queue", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newTestModel(time.Millisecond, 0)
			rec := &recorder{}
			d := start(t, cfg4, m.exec, rec)
			calls := [][]int{{1}, {2, 3}, {4, 5, 6}, {7}}
			blocked, chs := queueBehindBlocker(d, calls...)
			stopped := make(chan error, 1)
			go func() { stopped <- d.Stop(context.Background()) }()
			synctest.Wait()
			if _, err := d.Submit(context.Background(), []int{8}); !errors.Is(err, ErrStopped) {
				t.Errorf("Submit during Stop: %v, want ErrStopped", err)
			}
			select {
			case err := <-stopped:
				t.Fatalf("Stop returned %v while a batch was running", err)
			default:
			}
			m.release()
			<-blocked
			if err := <-stopped; err != nil {
				t.Errorf("Stop: %v", err)
			}
			for i, ch := range chs {
				if r := <-ch; r.err != nil || !slices.Equal(r.out, times10(calls[i]...)) {
					t.Errorf("call %d: %v, %v", i, r.out, r.err)
				}
			}
			if got, want := rec.reasons()[1:], []Reason{ReasonDrain, ReasonDrain}; !slices.Equal(got, want) {
				t.Errorf("reasons %v, want %v", got, want)
			}
			if err := d.Stop(context.Background()); err != nil {
				t.Errorf("second Stop: %v", err)
			}
			if _, err := d.Submit(context.Background(), []int{9}); !errors.Is(err, ErrStopped) {
				t.Errorf("Submit after Stop: %v", err)
			}
		})
	})
	t.Run("cut short by ctx", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newTestModel(time.Millisecond, 0)
			d := start(t, cfg4, m.exec, nil)
			blocked, chs := queueBehindBlocker(d, []int{1})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			if err := d.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Stop: %v, want DeadlineExceeded", err)
			}
			// The running batch saw its ctx cancelled; the queued call was failed.
			if r := <-blocked; !errors.Is(r.err, context.DeadlineExceeded) {
				t.Errorf("running call: %v", r.err)
			}
			if r := <-chs[0]; !errors.Is(r.err, ErrStopped) {
				t.Errorf("queued call: %v, want ErrStopped", r.err)
			}
			if err := d.Stop(context.Background()); err != nil {
				t.Errorf("second Stop: %v", err)
			}
		})
	})
	t.Run("never started", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newTestModel(0, 0)
			d, err := New(cfg4, m.exec, nil)
			if err != nil {
				t.Fatal(err)
			}
			ch := submitAsync(context.Background(), d, 1)
			synctest.Wait()
			if err := d.Stop(context.Background()); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if r := <-ch; r.err != nil || !slices.Equal(r.out, []int{10}) {
				t.Errorf("queued call: %v, %v", r.out, r.err)
			}
			d.Start() // no-op after Stop
		})
	})
}

// TestNoGoroutineLeak runs on the real clock, counting goroutines.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	var slow sync.WaitGroup
	d := start(t, Config{MaxBatchSize: 8, MaxLatency: 50 * time.Millisecond, Workers: 3, Enabled: true},
		func(_ context.Context, items []int) ([]int, error) {
			time.Sleep(200 * time.Microsecond)
			return make([]int, len(items)), nil
		}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	for i := range 200 {
		slow.Go(func() {
			c := context.Background()
			if i%7 == 0 {
				c = ctx
			}
			_, _ = d.Submit(c, seq(0, 1+i%11))
		})
	}
	slow.Wait()
	stop(t, d)
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after Stop:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

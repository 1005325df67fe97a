package batching

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestNewValidates(t *testing.T) {
	exec := func(context.Context, []int) ([]int, error) { return nil, nil }
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"valid", Config{MaxBatchSize: 1, MaxLatency: time.Millisecond, Workers: 1, Enabled: true}, true},
		{"disabled needs no latency", Config{MaxBatchSize: 4, Workers: 2}, true},
		{"zero batch size", Config{MaxBatchSize: 0, MaxLatency: time.Second, Workers: 1, Enabled: true}, false},
		{"zero workers", Config{MaxBatchSize: 4, MaxLatency: time.Second, Workers: 0, Enabled: true}, false},
		{"zero latency", Config{MaxBatchSize: 4, Workers: 1, Enabled: true}, false},
		{"negative latency", Config{MaxBatchSize: 4, MaxLatency: -time.Second, Workers: 1, Enabled: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, exec, nil)
			if (err == nil) != tt.ok {
				t.Fatalf("New(%+v) error = %v, want ok=%v", tt.cfg, err, tt.ok)
			}
		})
	}
	if _, err := New[int, int](Config{MaxBatchSize: 1, Workers: 1}, nil, nil); err == nil {
		t.Error("New with nil exec: no error")
	}
}

// train runs a batch of 1 and a batch of 2, a second apart, so that the
// cost model holds exactly the model's a and b.
func train(t *testing.T, d *Dispatcher[int, int]) {
	t.Helper()
	for _, items := range [][]int{{100}, {101, 102}} {
		if _, err := d.Submit(context.Background(), items); err != nil {
			t.Fatalf("training Submit: %v", err)
		}
		time.Sleep(time.Second)
	}
	s := d.Stats()
	if !s.Fitted {
		t.Fatalf("model not fitted after training: %+v", s)
	}
}

func TestIdleRequestDispatchedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestModel(time.Millisecond, 10*time.Millisecond)
		rec := &recorder{}
		d := start(t, Config{MaxBatchSize: 8, MaxLatency: 100 * time.Millisecond, Workers: 1, Enabled: true}, m.exec, rec)
		defer stop(t, d)

		check := func(what string) {
			t.Helper()
			begin := time.Now()
			out, err := d.Submit(context.Background(), []int{7})
			if err != nil || !slices.Equal(out, []int{70}) {
				t.Fatalf("%s: Submit = %v, %v", what, out, err)
			}
			// The model runs 1·1ms + 10ms; anything beyond that is added wait.
			if took := time.Since(begin); took != 11*time.Millisecond {
				t.Errorf("%s: took %v, want exactly the model's 11ms", what, took)
			}
			ev := rec.events()
			if last := ev[len(ev)-1]; last.waits[0] != 0 || last.reason != ReasonCost {
				t.Errorf("%s: dispatch %+v, want reason cost and zero wait", what, last)
			}
		}
		check("untrained")
		time.Sleep(time.Second)
		train(t, d)
		check("trained, idle")

		// A burst builds rate evidence; after a quiet second a lone request
		// must again go straight through.
		var chs []<-chan result
		for i := range 20 {
			chs = append(chs, submitAsync(context.Background(), d, i))
			time.Sleep(200 * time.Microsecond)
		}
		for _, ch := range chs {
			if r := <-ch; r.err != nil {
				t.Fatalf("burst: %v", r.err)
			}
		}
		time.Sleep(time.Second)
		check("after a burst and a quiet second")
	})
}

func TestBatchesFormUnderConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestModel(time.Millisecond, 10*time.Millisecond)
		rec := &recorder{}
		d := start(t, Config{MaxBatchSize: 8, MaxLatency: time.Second, Workers: 1, Enabled: true}, m.exec, rec)
		defer stop(t, d)

		var chs []<-chan result
		for i := range 20 {
			chs = append(chs, submitAsync(context.Background(), d, i))
			synctest.Wait() // fixes the arrival order
		}
		for i, ch := range chs {
			r := <-ch
			if r.err != nil || !slices.Equal(r.out, []int{10 * i}) {
				t.Errorf("call %d: %v, %v", i, r.out, r.err)
			}
		}
		// The first call finds the dispatcher idle and runs alone; the rest
		// queue behind it and leave in full batches, oldest first.
		if got, want := rec.sizes(), []int{1, 8, 8, 3}; !slices.Equal(got, want) {
			t.Errorf("batch sizes %v, want %v", got, want)
		}
		if got, want := rec.reasons(), []Reason{ReasonCost, ReasonFull, ReasonFull, ReasonCost}; !slices.Equal(got, want) {
			t.Errorf("reasons %v, want %v", got, want)
		}
		want := [][]int{{0}, seq(1, 8), seq(9, 8), seq(17, 3)}
		if got := m.recorded(); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %v, want %v", got, want)
		}
	})
}

func TestShedExactlyWhenPredicted(t *testing.T) {
	// a = 1ms, b = 10ms, L = 100ms, slack = min(L/10, 1ms) = 1ms. X and Y
	// queue at t0 behind a blocked worker. Dispatched now, X would run in a
	// batch of 2 (12ms), so it is hopeless after t0+100-1-12 = t0+87ms; once
	// X is gone, Y would run alone (11ms), so it is hopeless after t0+88ms.
	const (
		xLast = 87 * time.Millisecond
		yLast = 88 * time.Millisecond
	)
	tests := []struct {
		name      string
		releaseAt time.Duration // when the worker frees, after t0
		wantShed  [2]bool
	}{
		{"worker frees well before", 50 * time.Millisecond, [2]bool{false, false}},
		{"worker frees at the last moment for X", xLast, [2]bool{false, false}},
		{"X shed, Y saved", xLast + time.Microsecond, [2]bool{true, false}},
		{"Y served at its last moment", yLast, [2]bool{true, false}},
		{"both shed", yLast + time.Microsecond, [2]bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestModel(time.Millisecond, 10*time.Millisecond)
				rec := &recorder{}
				const L = 100 * time.Millisecond
				d := start(t, Config{MaxBatchSize: 8, MaxLatency: L, Workers: 1, Enabled: true}, m.exec, rec)
				defer stop(t, d)
				train(t, d)
				if s := d.Stats(); s.A != time.Millisecond || s.B != 10*time.Millisecond {
					t.Fatalf("fitted a=%v b=%v, want 1ms 10ms", s.A, s.B)
				}

				blocked := submitAsync(context.Background(), d, itemBlock)
				synctest.Wait()
				t0 := time.Now()
				x := submitAsync(context.Background(), d, 1)
				synctest.Wait()
				y := submitAsync(context.Background(), d, 2)
				synctest.Wait()

				// Shedding happens at the predicted instant, not later.
				var got [2]bool
				var at [2]time.Duration
				time.Sleep(time.Until(t0.Add(tt.releaseAt)))
				synctest.Wait()
				// Collect sheds that happened up to the release time.
				results := [2]<-chan result{x, y}
				var pending [2]bool
				var early [2]result
				for i, ch := range results {
					if r, ok := ready(ch); ok {
						early[i] = r
						got[i] = errors.Is(r.err, ErrShed)
						if !got[i] {
							t.Errorf("call %d returned before the worker freed: %v, %v", i, r.out, r.err)
						}
						at[i] = r.at.Sub(t0)
					} else {
						pending[i] = true
					}
				}
				m.release()
				if r := <-blocked; !errors.Is(r.err, errBlocked) {
					t.Fatalf("blocker: %v", r.err)
				}
				for i, ch := range results {
					if !pending[i] {
						continue
					}
					r := <-ch
					if errors.Is(r.err, ErrShed) {
						t.Errorf("call %d shed after the worker freed (at %v)", i, r.at.Sub(t0))
						continue
					}
					if r.err != nil || !slices.Equal(r.out, []int{10 * (i + 1)}) {
						t.Errorf("call %d: %v, %v", i, r.out, r.err)
					}
					if lat := r.at.Sub(t0); lat > L {
						t.Errorf("call %d served in %v > %v", i, lat, L)
					}
				}
				if got != tt.wantShed {
					t.Errorf("shed %v, want %v (early results %+v)", got, tt.wantShed, early)
				}
				for i, last := range []time.Duration{xLast, yLast} {
					if got[i] && at[i] != last+time.Nanosecond {
						t.Errorf("call %d shed at t0+%v, want t0+%v", i, at[i], last+time.Nanosecond)
					}
				}
				n := 0
				for _, s := range got {
					if s {
						n++
					}
				}
				if rec.shedCount() != n {
					t.Errorf("Observer.Shed total %d, want %d", rec.shedCount(), n)
				}
			})
		})
	}
}

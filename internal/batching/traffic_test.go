package batching

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestSteadyTraffic drives a trained dispatcher with open-loop arrivals in
// fake time, where the cost model is exact: every served call must finish
// within MaxLatency, every other call must be shed, and batches must grow
// with the arrival rate.
func TestSteadyTraffic(t *testing.T) {
	tests := []struct {
		name         string
		workers      int
		gap          time.Duration // between single-item calls
		maxLatency   time.Duration
		minMeanBatch float64
		maxShedFrac  float64
		wantReason   Reason // must appear at least once ("" = any)
	}{
		{"light: no batching needed", 1, 50 * time.Millisecond, 100 * time.Millisecond, 1, 0, ReasonCost},
		{"moderate, one worker", 1, 4 * time.Millisecond, 100 * time.Millisecond, 3, 0, ""},
		{"moderate, two workers corked", 2, 2 * time.Millisecond, 100 * time.Millisecond, 3, 0, ""},
		{"tight latency", 2, time.Millisecond, 30 * time.Millisecond, 4, 0.05, ReasonDeadline},
		{"overload sheds", 1, 500 * time.Microsecond, 50 * time.Millisecond, 12, 0.9, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestModel(time.Millisecond, 10*time.Millisecond)
				rec := &recorder{}
				cfg := Config{MaxBatchSize: 16, MaxLatency: tt.maxLatency, Workers: tt.workers, Enabled: true}
				d := start(t, cfg, m.exec, rec)
				defer stop(t, d)
				train(t, d)
				skip := len(rec.events())

				const calls = 400
				type sent struct {
					at time.Time
					ch <-chan result
				}
				var all []sent
				for i := range calls {
					all = append(all, sent{time.Now(), submitAsync(context.Background(), d, i)})
					time.Sleep(tt.gap)
				}
				var shed int
				var worst time.Duration
				for i, s := range all {
					r := <-s.ch
					switch {
					case errors.Is(r.err, ErrShed):
						shed++
					case r.err != nil || len(r.out) != 1 || r.out[0] != 10*i:
						t.Fatalf("call %d: %v, %v", i, r.out, r.err)
					default:
						lat := r.at.Sub(s.at)
						worst = max(worst, lat)
						if lat > tt.maxLatency {
							t.Errorf("call %d served in %v > %v", i, lat, tt.maxLatency)
						}
					}
				}
				ev := rec.events()[skip:]
				items, reasons := 0, map[Reason]int{}
				for _, e := range ev {
					items += e.size
					reasons[e.reason]++
				}
				mean := float64(items) / float64(len(ev))
				t.Logf("%d batches, mean size %.2f, reasons %v, shed %d/%d, worst latency %v", len(ev), mean, reasons, shed, calls, worst)
				if mean < tt.minMeanBatch {
					t.Errorf("mean batch size %.2f, want at least %v", mean, tt.minMeanBatch)
				}
				if frac := float64(shed) / calls; frac > tt.maxShedFrac {
					t.Errorf("shed %d of %d calls", shed, calls)
				}
				if tt.wantReason != "" && reasons[tt.wantReason] == 0 {
					t.Errorf("no batch dispatched for reason %q", tt.wantReason)
				}
				if rec.shedCount() != shed {
					t.Errorf("Observer.Shed total %d, want %d", rec.shedCount(), shed)
				}
			})
		})
	}
}

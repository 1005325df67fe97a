package batching

import (
	"context"
	"math"
	"testing"
	"time"
)

func TestCostModelFit(t *testing.T) {
	ms := float64(time.Millisecond)
	type pt struct {
		n int
		d time.Duration
	}
	tests := []struct {
		name       string
		samples    []pt
		a, b       float64 // ns
		fitted     bool
		predict10  int64
		tolerance  float64
		unfittable bool
	}{
		{name: "no data", a: 0, b: 0, predict10: 0},
		{name: "one size: prior a=0, b=mean", samples: []pt{{4, 10 * time.Millisecond}, {4, 14 * time.Millisecond}},
			a: 0, b: 12 * ms, predict10: int64(12 * ms)},
		{name: "exact line", samples: []pt{{1, 11 * time.Millisecond}, {2, 12 * time.Millisecond}, {8, 18 * time.Millisecond}},
			a: ms, b: 10 * ms, fitted: true, predict10: int64(20 * ms)},
		{name: "noisy line", samples: []pt{{1, 10 * time.Millisecond}, {1, 12 * time.Millisecond}, {3, 14 * time.Millisecond}, {3, 12 * time.Millisecond}},
			a: ms, b: 10 * ms, fitted: true, predict10: int64(20 * ms)},
		{name: "decreasing: slope clamped", samples: []pt{{1, 20 * time.Millisecond}, {3, 10 * time.Millisecond}},
			a: minPerItem, b: 15*ms - 2*minPerItem, fitted: true, predict10: int64(math.Round(15*ms + 8*minPerItem))},
		{name: "negative intercept: through the origin", samples: []pt{{1, time.Millisecond}, {2, 5 * time.Millisecond}},
			a: 11.0 / 5 * ms, b: 0, fitted: true, predict10: int64(22 * ms)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m costModel
			for _, s := range tt.samples {
				m.add(s.n, s.d)
			}
			if math.Abs(m.a-tt.a) > 1e-6 || math.Abs(m.b-tt.b) > 1e-3 || m.fitted != tt.fitted {
				t.Errorf("a=%v b=%v fitted=%v, want a=%v b=%v fitted=%v", m.a, m.b, m.fitted, tt.a, tt.b, tt.fitted)
			}
			if got := m.predict(10); got != tt.predict10 {
				t.Errorf("predict(10) = %d, want %d", got, tt.predict10)
			}
		})
	}
}

func TestCostModelForgets(t *testing.T) {
	var m costModel
	for i := range 200 {
		n := 1 + i%7
		if i < 100 {
			m.add(n, time.Duration(n)*5*time.Millisecond+time.Second)
		} else {
			m.add(n, time.Duration(n)*time.Millisecond+2*time.Millisecond)
		}
	}
	if m.len != modelWindow {
		t.Errorf("window holds %d samples, want %d", m.len, modelWindow)
	}
	if math.Abs(m.a-1e6) > 1 || math.Abs(m.b-2e6) > 1 {
		t.Errorf("a=%v b=%v, want the last 50 batches' 1ms and 2ms", m.a, m.b)
	}
}

func TestArrivalRate(t *testing.T) {
	ms := int64(time.Millisecond)
	var r arrivals
	if r.note(0, 1, 100*ms); r.rate(0) != 0 {
		t.Errorf("rate after one call = %v, want 0 (no evidence)", r.rate(0))
	}
	r.note(0, 1, 100*ms)
	if !math.IsInf(r.rate(0), 1) {
		t.Errorf("rate of simultaneous calls = %v, want +Inf", r.rate(0))
	}
	for i := range 100 {
		r.note(int64(i+1)*2*ms, 3, 100*ms)
	}
	now := int64(200 * ms)
	if got := r.rate(now) * 1e9; math.Abs(got-1500) > 1 { // 3 items per 2ms
		t.Errorf("steady rate = %v/s, want 1500", got)
	}
	if got := r.rate(now+20*ms) * 1e9; math.Abs(got-150) > 1 {
		t.Errorf("rate 20ms after the last call = %v/s, want 150", got)
	}
	r.note(now+10_000*ms, 1, 100*ms) // one call after a long pause
	if got := r.rate(now+10_000*ms) * 1e9; got > 3/0.1 {
		t.Errorf("rate right after a 10s pause = %v/s, want at most one call per clamped gap (30/s)", got)
	}
}

// TestDecide checks the dispatch rule on hand-made states. Model: a = 1ms,
// b = 10ms; L = 1s; MaxBatchSize 16; one worker. Calls arrive every 4ms
// (λ = 250/s), so n* = ⌈λb/(0.8 − λa)⌉ = ⌈2.5/0.55⌉ = 5.
func TestDecide(t *testing.T) {
	ms := int64(time.Millisecond)
	tests := []struct {
		name       string
		queued     int   // calls of one item, the oldest enqueued at 0
		now        int64 // decision time; the newest call came at 'last'
		last       int64
		noEvidence bool
		maxLatency time.Duration // default 1s
		reason     Reason
		wake       int64
	}{
		{name: "no traffic: dispatch at once", queued: 1, noEvidence: true, reason: ReasonCost},
		{name: "full", queued: 16, reason: ReasonFull},
		{name: "below target: cork until the rate falls", queued: 2, now: ms, last: ms,
			wake: ms + 7500_000}, // last + items·(b+2a)/(2·0.8) = 1ms + 12ms/1.6
		{name: "rate has fallen", queued: 2, now: 9 * ms, last: ms, reason: ReasonCost},
		{name: "at target", queued: 5, now: ms, last: ms, reason: ReasonCost},
		{name: "deadline", queued: 2, now: 1000*ms - 12*ms - ms, last: 1000*ms - 12*ms - ms, reason: ReasonDeadline},
		{name: "cork ends at the deadline", queued: 3, now: 11*ms - 1, last: 11*ms - 1, maxLatency: 25 * time.Millisecond,
			wake: 11 * ms}, // 25 − predict(3) − slack, before the cap (15ms) and the rate decay
		{name: "cap: never hold longer than the batch runs", queued: 4, now: 15 * ms, last: 15 * ms,
			reason: ReasonCost}, // t0 + predict(5) = 15ms
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.maxLatency == 0 {
				tt.maxLatency = time.Second
			}
			d, err := New(Config{MaxBatchSize: 16, MaxLatency: tt.maxLatency, Workers: 1, Enabled: true},
				func(context.Context, []int) ([]int, error) { return nil, nil }, nil)
			if err != nil {
				t.Fatal(err)
			}
			d.model = costModel{len: 2, a: float64(ms), b: float64(10 * ms), fitted: true}
			if !tt.noEvidence {
				d.arr = arrivals{count: 100, last: tt.last, lastGap: float64(4 * ms), gap: float64(4 * ms), items: 1}
			}
			for range tt.queued {
				d.q.push(&call[int, int]{items: []int{1}, remaining: 1})
				d.queued++
			}
			reason, wake := d.decideLocked(tt.now, d.q.front())
			if reason != tt.reason || (reason == "" && wake != tt.wake) {
				t.Errorf("decide = %q, wake %v; want %q, wake %v", reason, time.Duration(wake), tt.reason, time.Duration(tt.wake))
			}
		})
	}
}

// TestShedBoundary checks the shed inequality itself: with every worker
// busy, a call is shed when now − enq + predict(n) > L, not when it equals L.
func TestShedBoundary(t *testing.T) {
	ms := int64(time.Millisecond)
	for _, tt := range []struct {
		now  int64
		shed int
	}{
		// slack = min(L/10, 1ms) = 1ms is kept free for scheduling jitter
		{87*ms - 1, 0},
		{87 * ms, 0}, // X finishes exactly at L - slack
		{87*ms + 1, 1},
		{88 * ms, 1}, // Y would finish exactly at L - slack once X is gone
		{88*ms + 1, 2},
	} {
		d, err := New(Config{MaxBatchSize: 16, MaxLatency: 100 * time.Millisecond, Workers: 1, Enabled: true},
			func(context.Context, []int) ([]int, error) { return nil, nil }, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.idle = 0 // the worker is busy
		d.model = costModel{len: 2, a: float64(ms), b: float64(10 * ms), fitted: true}
		for range 2 {
			d.q.push(&call[int, int]{items: []int{1}, remaining: 1, done: make(chan struct{}, 1)})
			d.queued++
		}
		d.mu.Lock()
		got := d.pumpLocked(tt.now)
		next := d.timerAt
		if d.timer != nil {
			d.timer.Stop()
		}
		d.mu.Unlock()
		if got != tt.shed {
			t.Errorf("at %v: shed %d, want %d", time.Duration(tt.now), got, tt.shed)
		}
		if tt.shed < 2 && next != []int64{87*ms + 1, 88*ms + 1}[tt.shed] {
			t.Errorf("at %v: next check at %v", time.Duration(tt.now), time.Duration(next))
		}
	}
}

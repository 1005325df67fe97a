package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// errShed is returned by a call that the server refused because it was
// overloaded (a 503 by design); closedLoop counts it apart from errors.
var errShed = errors.New("shed")

// callFunc performs one request and reports whether it failed.
type callFunc func(ctx context.Context) error

// workerFactory makes the call function of client goroutine i and a function
// releasing what it holds (a connection, ...).
type workerFactory func(i int) (callFunc, func(), error)

// Phases of a closed-loop run.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// stats is the outcome of one measured round.
type stats struct {
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	Shed      int64   `json:"shed,omitempty"` // calls refused with errShed (503), not errors
	FirstErr  string  `json:"first_error,omitempty"`
	Seconds   float64 `json:"seconds"`
	RPS       float64 `json:"rps"`
	MeanMs    float64 `json:"mean_ms"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	P999ms    float64 `json:"p999_ms"`
	ServerCPU float64 `json:"server_cpu_s,omitempty"`
	// CPUPer1k is server CPU seconds per 1 000 requests.
	CPUPer1k float64 `json:"server_cpu_s_per_1k,omitempty"`
}

// closedLoop runs conc goroutines, each issuing requests back to back: warmup
// first (not recorded), then d measured. A request counts if it completes
// inside the measured window; its latency is recorded exactly (nanoseconds in
// a per-goroutine slice). If srv is not nil its CPU time over the window is
// read from /proc.
func closedLoop(ctx context.Context, conc int, warmup, d time.Duration, srv *server, factory workerFactory) (stats, error) {
	calls := make([]callFunc, conc)
	closers := make([]func(), 0, conc)
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for i := range conc {
		c, cl, err := factory(i)
		if err != nil {
			return stats{}, err
		}
		calls[i] = c
		if cl != nil {
			closers = append(closers, cl)
		}
	}
	var phase atomic.Int32
	lats := make([][]int64, conc)
	errCount := make([]int64, conc)
	shedCount := make([]int64, conc)
	firstErr := make([]error, conc)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]int64, 0, 4096)
			call := calls[i]
			for {
				t0 := time.Now()
				err := call(rctx)
				el := time.Since(t0)
				p := phase.Load()
				if p == phaseStop {
					break
				}
				shed := errors.Is(err, errShed)
				if p == phaseMeasure {
					if shed {
						shedCount[i]++
					} else if err != nil {
						errCount[i]++
						if firstErr[i] == nil {
							firstErr[i] = err
						}
					} else {
						lat = append(lat, int64(el))
					}
				}
				if err != nil && !shed {
					if rctx.Err() != nil {
						break
					}
					time.Sleep(time.Millisecond) // do not spin on a dead server
				}
			}
			lats[i] = lat
		}()
	}
	if !sleepCtx(ctx, warmup) {
		phase.Store(phaseStop)
		cancel()
		wg.Wait()
		return stats{}, ctx.Err()
	}
	var cpu0 float64
	var err error
	if srv != nil {
		if cpu0, err = srv.cpuSeconds(); err != nil {
			phase.Store(phaseStop)
			cancel()
			wg.Wait()
			return stats{}, err
		}
	}
	t0 := time.Now()
	phase.Store(phaseMeasure)
	ok := sleepCtx(ctx, d)
	phase.Store(phaseStop)
	elapsed := time.Since(t0)
	var cpu1 float64
	if srv != nil {
		cpu1, err = srv.cpuSeconds()
	}
	// Requests still in flight finish normally (their results are dropped);
	// cancelling would count as errors on some servers' logs.
	wg.Wait()
	if !ok {
		return stats{}, ctx.Err()
	}
	if err != nil {
		return stats{}, err
	}
	st := summarize(lats, elapsed)
	for i := range conc {
		st.Errors += errCount[i]
		st.Shed += shedCount[i]
		if st.FirstErr == "" && firstErr[i] != nil {
			st.FirstErr = firstErr[i].Error()
		}
	}
	if srv != nil {
		st.ServerCPU = cpu1 - cpu0
		if st.Requests > 0 {
			st.CPUPer1k = st.ServerCPU / float64(st.Requests) * 1000
		}
	}
	return st, nil
}

// summarize merges per-goroutine latencies into throughput and percentiles.
func summarize(lats [][]int64, elapsed time.Duration) stats {
	n := 0
	for _, l := range lats {
		n += len(l)
	}
	all := make([]int64, 0, n)
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	st := stats{Requests: int64(n), Seconds: elapsed.Seconds()}
	if n > 0 {
		var sum float64
		for _, x := range all {
			sum += float64(x)
		}
		st.MeanMs = sum / float64(n) / 1e6
	}
	if elapsed > 0 {
		st.RPS = float64(n) / elapsed.Seconds()
	}
	st.P50ms = quantileMs(all, 0.50)
	st.P99ms = quantileMs(all, 0.99)
	st.P999ms = quantileMs(all, 0.999)
	return st
}

// quantileMs returns the q-quantile (nearest rank) of sorted nanoseconds, in
// milliseconds; 0 for no samples.
func quantileMs(sorted []int64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / 1e6
}

// sleepCtx sleeps for d and reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// median returns the median of xs (the mean of the middle two for an even
// count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianStats is the per-field median of several rounds.
func medianStats(rs []stats) stats {
	pick := func(f func(stats) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	m := stats{
		RPS:       pick(func(s stats) float64 { return s.RPS }),
		MeanMs:    pick(func(s stats) float64 { return s.MeanMs }),
		P50ms:     pick(func(s stats) float64 { return s.P50ms }),
		P99ms:     pick(func(s stats) float64 { return s.P99ms }),
		P999ms:    pick(func(s stats) float64 { return s.P999ms }),
		CPUPer1k:  pick(func(s stats) float64 { return s.CPUPer1k }),
		ServerCPU: pick(func(s stats) float64 { return s.ServerCPU }),
		Seconds:   pick(func(s stats) float64 { return s.Seconds }),
	}
	for _, r := range rs {
		m.Requests += r.Requests
		m.Errors += r.Errors
		m.Shed += r.Shed
		if m.FirstErr == "" {
			m.FirstErr = r.FirstErr
		}
	}
	return m
}

// errMismatch reports a response that is not what was sent.
func errMismatch(what string, got, want []byte) error {
	g, w := string(got), string(want)
	if len(g) > 120 {
		g = g[:120] + "..."
	}
	if len(w) > 120 {
		w = w[:120] + "..."
	}
	return fmt.Errorf("%s: response %q, want %q", what, g, w)
}

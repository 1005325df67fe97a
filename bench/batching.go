package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
)

// The synthetic model of the batching benchmark (issue 4): a batch of n
// items costs batchA + batchB·n of busy CPU time.
const (
	batchA          = 2 * time.Millisecond
	batchB          = 100 * time.Microsecond
	batchMax        = 32
	batchMaxLatency = 100 * time.Millisecond
	// batchSatConc closed-loop callers saturate the runner: enough to fill a
	// batch while the previous one runs.
	batchSatConc = 4 * batchMax
	// Targets.
	batchIdealTarget   = 0.9
	batchAddedP50Limit = 0.5 // ms
)

// batchIdeal is max_batch_size / (a + b·max_batch_size), in items per second.
func batchIdeal() float64 {
	return float64(batchMax) / (batchA + batchMax*batchB).Seconds()
}

// busy burns the CPU for d of wall-clock time: real work on a core (not a
// sleep), with the exact duration the cost model says, so that the ideal
// throughput is known.
func busy(d time.Duration) float64 {
	end := time.Now().Add(d)
	x := 1.0
	for time.Now().Before(end) {
		for range 64 {
			x = x*1.0000001 + 1e-9
		}
	}
	return x
}

// synthModel is the model of the batching benchmark.
type synthModel struct{}

func (synthModel) predict(_ context.Context, xs []int) ([]int, error) {
	if busy(batchA+time.Duration(len(xs))*batchB) < 0 {
		return nil, errors.New("unreachable")
	}
	// A fresh slice: returning xs itself would alias the dispatcher's
	// recycled input buffer.
	return slices.Clone(xs), nil
}

// batchSide is a started service with the synthetic batchable method.
type batchSide struct {
	srv *bento.Server
	run *bento.RunnerMethod[int, int]
}

func startBatchSide(ctx context.Context, batching bool) (*batchSide, error) {
	svc := bento.NewService("batch_bench")
	r := bento.NewRunner(svc, "synth", func() (synthModel, error) { return synthModel{}, nil })
	m := bento.BatchMethod(r, "predict", func(sm synthModel, ctx context.Context, xs []int) ([]int, error) {
		return sm.predict(ctx, xs)
	}, bento.MaxBatchSize(batchMax), bento.MaxLatency(batchMaxLatency))
	cfg := config.Default()
	cfg.APIServer.HTTP.Host = "127.0.0.1"
	cfg.APIServer.HTTP.Port = 0
	cfg.Runners.Batching.Enabled = batching
	srv, err := bento.StartHTTP(ctx, svc, cfg, bento.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	return &batchSide{srv: srv, run: m}, nil
}

func (s *batchSide) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}

// factory calls the runner method with its own index as input and checks
// the result comes back to the right caller.
func (s *batchSide) factory(i int) (callFunc, func(), error) {
	return func(ctx context.Context) error {
		out, err := s.run.Run(ctx, i)
		if errors.Is(err, bento.ErrOverloaded) {
			return errShed
		}
		if err != nil {
			return err
		}
		if out != i {
			return fmt.Errorf("caller %d got %d", i, out)
		}
		return nil
	}, nil, nil
}

// directFactory calls the model function itself: the latency floor.
func directFactory(int) (callFunc, func(), error) {
	m := synthModel{}
	in := []int{1}
	return func(ctx context.Context) error {
		_, err := m.predict(ctx, in)
		return err
	}, nil, nil
}

// overloadResult is one open-loop round at twice the ideal rate.
type overloadResult struct {
	RatePerSec  float64 `json:"offered_per_s"`
	Offered     int     `json:"offered"`
	Accepted    int     `json:"accepted"`
	Shed        int     `json:"shed_503"`
	Errors      int     `json:"errors"`
	AcceptedRPS float64 `json:"accepted_per_s"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	// RunP99ms is the p99 measured from the moment Run was called rather
	// than from the scheduled arrival (it excludes generator lag).
	RunP99ms float64 `json:"run_p99_ms"`
}

// batchingResult is the outcome of the batching benchmark.
type batchingResult struct {
	Params         string           `json:"params"`
	IdealPerSec    float64          `json:"ideal_per_s"`
	UnbatchedIdeal float64          `json:"unbatched_ideal_per_s"`
	SatBatched     sideResult       `json:"saturation_batched"`
	SatUnbatched   sideResult       `json:"saturation_unbatched"`
	IdealRatio     float64          `json:"ratio_to_ideal"`
	LightRun       sideResult       `json:"light_run"`
	LightDirect    sideResult       `json:"light_direct"`
	AddedP50ms     float64          `json:"light_added_p50_ms"`
	AddedMeanMs    float64          `json:"light_added_mean_ms"`
	AddedP99ms     float64          `json:"light_added_p99_ms"`
	Overload       []overloadResult `json:"overload_rounds"`
	OverloadMedian overloadResult   `json:"overload_median"`
	MaxLatencyMs   float64          `json:"max_latency_ms"`
	SatConc        int              `json:"saturation_callers"`
}

// runBatching runs the batching benchmark in-process: callers invoke the
// runner method directly (no HTTP), so the numbers are the dispatcher's.
func runBatching(ctx context.Context, o *options, logf func(string, ...any)) (*batchingResult, error) {
	res := &batchingResult{
		Params: fmt.Sprintf("a = %v, b = %v per item, max_batch_size %d, max_latency %v, 1 worker",
			batchA, batchB, batchMax, batchMaxLatency),
		IdealPerSec:    batchIdeal(),
		UnbatchedIdeal: 1 / (batchA + batchB).Seconds(),
		MaxLatencyMs:   float64(batchMaxLatency) / 1e6,
		SatConc:        batchSatConc,
	}
	on, err := startBatchSide(ctx, true)
	if err != nil {
		return nil, err
	}
	defer on.stop()
	off, err := startBatchSide(ctx, false)
	if err != nil {
		return nil, err
	}
	defer off.stop()

	var errs []error
	check := func(label string, st stats) {
		if st.Errors > 0 {
			errs = append(errs, fmt.Errorf("%s: %d failed calls, first: %s", label, st.Errors, st.FirstErr))
		}
	}

	// Saturation: batching on vs off, alternating.
	res.SatBatched.Label, res.SatUnbatched.Label = "batching on", "batching off"
	for r := range o.rounds {
		order := []bool{true, false}
		if r%2 == 1 {
			order = []bool{false, true}
		}
		for _, batched := range order {
			side, out := on, &res.SatBatched
			if !batched {
				side, out = off, &res.SatUnbatched
			}
			st, err := closedLoop(ctx, batchSatConc, o.warmup, o.duration, nil, side.factory)
			if err != nil {
				return nil, err
			}
			logf("batching saturation round %d %-12s %7.0f items/s  p50 %.2f ms  p99 %.2f ms  shed %d",
				r+1, out.Label, st.RPS, st.P50ms, st.P99ms, st.Shed)
			check("saturation "+out.Label, st)
			out.Rounds = append(out.Rounds, st)
		}
	}
	res.SatBatched.Median = medianStats(res.SatBatched.Rounds)
	res.SatUnbatched.Median = medianStats(res.SatUnbatched.Rounds)
	res.IdealRatio = res.SatBatched.Median.RPS / res.IdealPerSec

	// Light load: one caller at a time, Run vs calling the model directly.
	light := max(o.duration/2, 500*time.Millisecond)
	lw := min(o.warmup, 500*time.Millisecond)
	res.LightRun.Label, res.LightDirect.Label = "Run, 1 caller", "model called directly"
	var added, addedMean, addedP99 []float64
	for r := range o.rounds {
		var got [2]stats // Run, direct
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		for _, k := range order {
			f := on.factory
			if k == 1 {
				f = directFactory
			}
			st, err := closedLoop(ctx, 1, lw, light, nil, f)
			if err != nil {
				return nil, err
			}
			got[k] = st
		}
		st1, st2 := got[0], got[1]
		check("light Run", st1)
		check("light direct", st2)
		logf("batching light round %d  Run p50 %.3f ms  direct p50 %.3f ms  added p50 %.3f ms, mean %.3f ms, p99 %.3f ms",
			r+1, st1.P50ms, st2.P50ms, st1.P50ms-st2.P50ms, st1.MeanMs-st2.MeanMs, st1.P99ms-st2.P99ms)
		res.LightRun.Rounds = append(res.LightRun.Rounds, st1)
		res.LightDirect.Rounds = append(res.LightDirect.Rounds, st2)
		added = append(added, st1.P50ms-st2.P50ms)
		addedMean = append(addedMean, st1.MeanMs-st2.MeanMs)
		addedP99 = append(addedP99, st1.P99ms-st2.P99ms)
	}
	res.LightRun.Median = medianStats(res.LightRun.Rounds)
	res.LightDirect.Median = medianStats(res.LightDirect.Rounds)
	res.AddedP50ms = median(added)
	res.AddedMeanMs = median(addedMean)
	res.AddedP99ms = median(addedP99)

	// 2× overload: open loop at twice the ideal rate.
	rate := 2 * res.IdealPerSec
	for r := range o.rounds {
		ov, err := openLoop(ctx, on, rate, o.warmup, o.duration)
		if err != nil {
			return nil, err
		}
		if ov.Errors > 0 {
			errs = append(errs, fmt.Errorf("overload: %d failed calls", ov.Errors))
		}
		logf("batching overload round %d  offered %.0f/s  accepted %.0f/s  shed %d/%d  p99 %.2f ms (from Run: %.2f ms)  max %.2f ms",
			r+1, ov.RatePerSec, ov.AcceptedRPS, ov.Shed, ov.Offered, ov.P99ms, ov.RunP99ms, ov.MaxMs)
		res.Overload = append(res.Overload, ov)
	}
	res.OverloadMedian = medianOverload(res.Overload)
	return res, errors.Join(errs...)
}

// openLoop offers calls at rate per second for warmup+d, each in its own
// goroutine at its scheduled time, and reports the calls scheduled inside
// the measured window. Latency is measured from the scheduled time, so a
// late generator does not hide queueing (no coordinated omission).
func openLoop(ctx context.Context, s *batchSide, rate float64, warmup, d time.Duration) (overloadResult, error) {
	interval := time.Duration(float64(time.Second) / rate)
	total := int((warmup + d) / interval)
	skip := int(warmup / interval)
	lat := make([]int64, total)
	runLat := make([]int64, total)
	outcome := make([]int8, total) // 0 ok, 1 shed, 2 error
	var wg sync.WaitGroup
	start := time.Now()
	for i := range total {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			if !sleepCtx(ctx, w) {
				break
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			out, err := s.run.Run(ctx, i)
			t1 := time.Now()
			lat[i], runLat[i] = int64(t1.Sub(at)), int64(t1.Sub(t0))
			switch {
			case errors.Is(err, bento.ErrOverloaded):
				outcome[i] = 1
			case err != nil || out != i:
				outcome[i] = 2
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return overloadResult{}, err
	}
	res := overloadResult{RatePerSec: rate, Offered: total - skip}
	var ok, okRun []int64
	for i := skip; i < total; i++ {
		switch outcome[i] {
		case 0:
			ok = append(ok, lat[i])
			okRun = append(okRun, runLat[i])
		case 1:
			res.Shed++
		default:
			res.Errors++
		}
	}
	slices.Sort(ok)
	res.Accepted = len(ok)
	res.AcceptedRPS = float64(len(ok)) / d.Seconds()
	res.P50ms = quantileMs(ok, 0.5)
	res.P99ms = quantileMs(ok, 0.99)
	res.MaxMs = quantileMs(ok, 1)
	slices.Sort(okRun)
	res.RunP99ms = quantileMs(okRun, 0.99)
	return res, nil
}

func medianOverload(rs []overloadResult) overloadResult {
	pick := func(f func(overloadResult) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	return overloadResult{
		RatePerSec:  pick(func(r overloadResult) float64 { return r.RatePerSec }),
		Offered:     int(pick(func(r overloadResult) float64 { return float64(r.Offered) })),
		Accepted:    int(pick(func(r overloadResult) float64 { return float64(r.Accepted) })),
		Shed:        int(pick(func(r overloadResult) float64 { return float64(r.Shed) })),
		Errors:      int(pick(func(r overloadResult) float64 { return float64(r.Errors) })),
		AcceptedRPS: pick(func(r overloadResult) float64 { return r.AcceptedRPS }),
		P50ms:       pick(func(r overloadResult) float64 { return r.P50ms }),
		P99ms:       pick(func(r overloadResult) float64 { return r.P99ms }),
		MaxMs:       pick(func(r overloadResult) float64 { return r.MaxMs }),
		RunP99ms:    pick(func(r overloadResult) float64 { return r.RunP99ms }),
	}
}

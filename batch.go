package bento

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/batching"
	"github.com/gobento/bento/internal/instrument"
)

// BatchOption configures a batchable method. Options given in code take
// precedence over the configuration file, as in BentoML.
type BatchOption func(*batchOptions)

type batchOptions struct {
	maxBatchSize int
	maxLatency   time.Duration
}

// MaxBatchSize sets the most items one batch may hold (inclusive).
// Without it, runners.batching.max_batch_size applies (default 100).
func MaxBatchSize(n int) BatchOption { return func(o *batchOptions) { o.maxBatchSize = n } }

// MaxLatency sets how long a call may take, queueing included, before it is
// shed with a 503. Without it, runners.batching.max_latency_ms applies
// (default 60 s).
func MaxLatency(d time.Duration) BatchOption { return func(o *batchOptions) { o.maxLatency = d } }

// BatchMethod declares a batchable method of r. fn receives a slice of inputs
// gathered from concurrent callers (oldest first, at most the max batch size)
// and must return exactly one output per input, in the same order; a length
// mismatch fails every caller of that batch. Callers use Run (one item) or
// RunMany (many items) and each gets exactly its own results back. Each
// batch's input slice is fresh, so fn may modify it, keep it, or return it
// as its outputs; fn must not reuse an output slice across calls.
//
// The adaptive dispatcher (see the internal/batching docs) fits the batch
// cost as a·n+b, waits for more items only while that pays off, dispatches
// at once when idle, and sheds a call with a 503 when it cannot finish within
// the max latency. With runners.batching.enabled=false every call runs alone
// (split by the max batch size) and nothing is shed: max latency is then not
// enforced, only api_server.traffic.timeout and runners.traffic.timeout are.
func BatchMethod[M, In, Out any](r *Runner[M], name string, fn func(M, context.Context, []In) ([]Out, error), opts ...BatchOption) *RunnerMethod[In, Out] {
	var o batchOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxBatchSize < 0 {
		r.svc.addErr(fmt.Errorf("bento: runner %q method %q: MaxBatchSize(%d) must be at least 1", r.name, name, o.maxBatchSize))
	}
	if o.maxLatency < 0 {
		r.svc.addErr(fmt.Errorf("bento: runner %q method %q: MaxLatency(%v) must be positive", r.name, name, o.maxLatency))
	}
	m := &RunnerMethod[In, Out]{r: r, name: name}
	bs := &batchState[In, Out]{name: name, runner: r.name, opts: o}
	bs.exec = func(ctx context.Context, items []In) ([]Out, error) {
		return onWorker(ctx, r, func(model M, worker int) ([]Out, error) {
			bs.metrics.BatchSize(worker, len(items))
			t0 := time.Now()
			outs, err := fn(model, ctx, items)
			bs.metrics.Executed(time.Since(t0))
			return outs, err
		})
	}
	bs.workers = r.workerCount
	bs.setRoute = func(rt *instrument.Route) { m.metrics = rt }
	m.batch = bs
	r.addMethod(name, bs)
	return m
}

// batchState is a batchable method's dispatcher and its lifecycle.
type batchState[In, Out any] struct {
	name    string
	runner  string
	opts    batchOptions
	exec    batching.ExecFunc[In, Out]
	workers func() int
	cfg     batching.Config
	disp    *batching.Dispatcher[In, Out]
	metrics *instrument.Batch
	// setRoute hands the method's runner request metrics to its RunnerMethod.
	setRoute func(*instrument.Route)
}

func (b *batchState[In, Out]) methodName() string { return b.name }

func (b *batchState[In, Out]) prepare(env *runtimeEnv, rc config.RunnerConfig) error {
	b.cfg = batching.Config{
		MaxBatchSize: rc.Batching.MaxBatchSize,
		MaxLatency:   time.Duration(rc.Batching.MaxLatencyMs) * time.Millisecond,
		Workers:      b.workers(),
		Enabled:      rc.Batching.Enabled,
	}
	if b.opts.maxBatchSize > 0 {
		b.cfg.MaxBatchSize = b.opts.maxBatchSize
	}
	if b.opts.maxLatency > 0 {
		b.cfg.MaxLatency = b.opts.maxLatency
	}
	env.metrics.DeclareRunner(b.runner, b.cfg.MaxBatchSize)
	b.setRoute(env.metrics.RunnerMethod(b.runner, b.name))
	return nil
}

// start runs after every method of the runner is prepared, so the
// batch-size buckets know the runner's largest batch.
func (b *batchState[In, Out]) start(env *runtimeEnv) error {
	b.metrics = env.metrics.Batch(b.runner, b.name, b.cfg.MaxBatchSize)
	d, err := batching.New(b.cfg, b.exec, batchObserver{b.metrics})
	if err != nil {
		return fmt.Errorf("method %q: %w", b.name, err)
	}
	b.disp = d
	env.metrics.Queue(b.runner, b.name, func() int { return d.Stats().Queued })
	d.Start()
	return nil
}

func (b *batchState[In, Out]) stop(ctx context.Context) error {
	if b.disp == nil {
		return nil
	}
	return b.disp.Stop(ctx)
}

func (b *batchState[In, Out]) submit(ctx context.Context, ins []In) ([]Out, error) {
	outs, err := b.disp.Submit(ctx, ins)
	if err != nil {
		switch {
		case errors.Is(err, batching.ErrShed):
			return nil, overloaded(b.runner, fmt.Sprintf("method %q cannot meet max_latency %v", b.name, b.cfg.MaxLatency))
		case errors.Is(err, batching.ErrStopped):
			return nil, runnerStopped(b.runner)
		}
		return nil, err
	}
	return outs, nil
}

// batchObserver forwards dispatcher events to the batch metrics.
type batchObserver struct{ m *instrument.Batch }

func (o batchObserver) Dispatched(size int, reason batching.Reason, waits []time.Duration) {
	o.m.Dispatch(string(reason))
	for _, w := range waits {
		o.m.QueueWait(w)
	}
}

func (o batchObserver) Executed(int, time.Duration, error) {}

func (o batchObserver) Shed(n int) { o.m.Shed(n) }

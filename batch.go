package bento

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gobento/bento/internal/batching"
	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/instrument"
)

// BatchOption configures a batchable method. Options given in code are the
// method's defaults: a configuration key set for its runner
// (runners.<name>.batching.max_batch_size, in a file, BENTOML_CONFIG_OPTIONS
// or a flag) overrides them, with a warning at start. That is the rule for
// every option that has a configuration key.
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

// ItemErrors is the error a batch function (see [BatchMethod]) returns when
// only some items of its batch failed: one entry per item, in order, nil
// where the item succeeded. The outputs must still hold one entry per item
// (those of failed items are ignored), unless every item failed: they may
// then be nil. Each caller then gets its own result
// or its own error: [RunnerMethod.Run] returns its item's entry as is (so a
// [BadInput] entry answers 400 with that item's message, and the callers of
// the other items get their outputs), and [RunnerMethod.RunMany] returns an
// ItemErrors with one entry per input of that call. A batch function may
// return it wrapped; an ItemErrors whose length is not the batch's fails the
// whole batch with a 500 (and a log line saying so), and one with no non-nil
// entry is a success.
type ItemErrors []error

// Error reports how many items failed and the first failure.
func (e ItemErrors) Error() string { return errs.ItemsMessage("bento", e) }

// Unwrap returns the non-nil entries, so that errors.Is and errors.As see
// the items' errors (errors.As finds the first failed item's [*Error]).
func (e ItemErrors) Unwrap() []error { return errs.ItemsUnwrap(e) }

// BatchMethod declares a batchable method of r. fn receives a slice of inputs
// gathered from concurrent callers (oldest first, at most the max batch size)
// and must return exactly one output per input, in the same order; a length
// mismatch fails every caller of that batch. To fail only some items, fn
// returns its outputs with an [ItemErrors]; any other error fails every
// caller of the batch. Callers use Run (one item) or RunMany (many items)
// and each gets exactly its own results back. Each batch's input slice is
// fresh, so fn may modify it, keep it, or return it as its outputs; fn must
// not reuse an output slice across calls.
//
// The ctx fn receives is the batch's own, not any caller's: it carries the
// earliest deadline among the callers with items in the batch (their
// api_server.traffic.timeout, runners.traffic.timeout or own deadline), it
// is cancelled once every one of those callers has gone (cause: all callers
// left) and when a shutdown runs out of time, and it carries no caller's
// values (request-scoped values such as trace IDs do not reach fn).
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
	m := &RunnerMethod[In, Out]{runner: r.name, name: name, batch: true}
	r.addMethod(&batchMethod[M, In, Out]{m: m, fn: fn, opts: o})
	return m
}

// batchMethod is the declaration of a batchable method.
type batchMethod[M, In, Out any] struct {
	m    *RunnerMethod[In, Out]
	fn   func(M, context.Context, []In) ([]Out, error)
	opts batchOptions
}

func (b *batchMethod[M, In, Out]) methodName() string { return b.m.name }

// instantiate resolves the method's batching configuration for inst and
// declares its runner's batch-size metrics; it runs for every method of the
// runner before any starts, so the batch-size buckets know the runner's
// largest batch.
func (b *batchMethod[M, In, Out]) instantiate(inst *runnerInstance[M]) methodRuntime {
	rc := inst.cfg
	cfg := batching.Config{
		MaxBatchSize: rc.Batching.MaxBatchSize,
		MaxLatency:   time.Duration(rc.Batching.MaxLatencyMs) * time.Millisecond,
		Workers:      inst.workers,
		Enabled:      rc.Batching.Enabled,
	}
	// Code gives the defaults; a configuration key set for the runner (file,
	// BENTOML_CONFIG_OPTIONS, flag) overrides them (logged at start).
	set := func(rel string) bool { _, src := inst.env.cfg.RunnerSource(b.m.runner, rel); return src != "" }
	if b.opts.maxBatchSize > 0 && !set("batching.max_batch_size") {
		cfg.MaxBatchSize = b.opts.maxBatchSize
	}
	if b.opts.maxLatency > 0 && !set("batching.max_latency_ms") {
		cfg.MaxLatency = b.opts.maxLatency
	}
	env := inst.env
	if t := env.tracer(); t != nil {
		cfg.Around = t.BatchAround(b.m.runner, b.m.name) // a span per batch, linked to its callers
	}
	env.metrics.DeclareRunner(b.m.runner, cfg.MaxBatchSize)
	br := &batchRuntime[M, In, Out]{decl: b, inst: inst, cfg: cfg}
	br.mi = &methodInstance[In, Out]{r: inst, metrics: env.metrics.RunnerMethod(b.m.runner, b.m.name), many: br.submit,
		trace: env.tracer(), runner: b.m.runner, method: b.m.name}
	return br
}

// batchRuntime is a batchable method's part of a runner instance: its
// dispatcher, whose goroutines take the instance's models directly.
type batchRuntime[M, In, Out any] struct {
	decl    *batchMethod[M, In, Out]
	inst    *runnerInstance[M]
	cfg     batching.Config
	mi      *methodInstance[In, Out]
	disp    *batching.Dispatcher[In, Out]
	metrics *instrument.Batch
}

func (b *batchRuntime[M, In, Out]) start() error {
	env := b.inst.env
	b.metrics = env.metrics.Batch(b.decl.m.runner, b.decl.m.name, b.cfg.MaxBatchSize)
	d, err := batching.New(b.cfg, b.exec, batchObserver{b.metrics})
	if err != nil {
		return fmt.Errorf("method %q: %w", b.decl.m.name, err)
	}
	b.disp = d
	env.metrics.Queue(b.decl.m.runner, b.decl.m.name, func() int { return d.Stats().Queued })
	d.Start()
	return nil
}

func (b *batchRuntime[M, In, Out]) publish() { b.decl.m.live.Store(b.mi) }

func (b *batchRuntime[M, In, Out]) stop(ctx context.Context) error {
	b.decl.m.live.CompareAndSwap(b.mi, nil)
	if b.disp == nil {
		return nil
	}
	return b.disp.Stop(ctx)
}

// exec runs one batch on a free worker, on the dispatcher's goroutine.
func (b *batchRuntime[M, In, Out]) exec(ctx context.Context, items []In) (outs []Out, err error) {
	w, err := b.inst.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer b.inst.pool.Release(w)
	defer b.inst.recoverPanic(w.Index, &err)
	b.metrics.BatchSize(w.Index, len(items))
	t0 := time.Now()
	outs, err = b.decl.fn(w.Model, ctx, items)
	b.metrics.Executed(time.Since(t0))
	var ie ItemErrors
	if err != nil && errors.As(err, &ie) {
		if len(ie) != len(items) {
			b.inst.env.log.Error("batch function returned ItemErrors of the wrong length: every caller of the batch gets a 500",
				"runner", b.decl.m.runner, "method", b.decl.m.name, "items", len(items), "item_errors", len(ie))
		}
		return outs, batching.ItemErrors(ie)
	}
	return outs, err
}

func (b *batchRuntime[M, In, Out]) submit(ctx context.Context, ins []In) ([]Out, error) {
	outs, err := b.disp.Submit(ctx, ins)
	if err != nil {
		if ie, ok := err.(batching.ItemErrors); ok {
			return nil, ItemErrors(ie)
		}
		switch {
		case errors.Is(err, batching.ErrShed):
			return nil, overloaded(b.decl.m.runner, fmt.Sprintf("method %q cannot meet max_latency %v", b.decl.m.name, b.cfg.MaxLatency))
		case errors.Is(err, batching.ErrStopped):
			return nil, runnerStopped(b.decl.m.runner)
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

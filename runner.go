package bento

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/instrument"
	"github.com/gobento/bento/internal/invoke"
	"github.com/gobento/bento/internal/modelpool"
	"github.com/gobento/bento/internal/runnername"
	"github.com/gobento/bento/internal/tracing"
)

// ErrOverloaded is the cause of the 503 a runner method returns when it sheds
// a call: the call could not finish within the method's max latency, or the
// runner's max_concurrency was reached. Test for it with errors.Is.
var ErrOverloaded = errors.New("bento: runner overloaded")

// ErrRunnerStopped is the cause of the 503 a runner method returns before the
// runner has started or after it has stopped.
var ErrRunnerStopped = errors.New("bento: runner not running")

// runtimeEnv is what a runner needs from the serving process.
type runtimeEnv struct {
	cfg     *config.Config
	metrics *instrument.Set
	log     *slog.Logger
	tracing *tracing.Tracing // nil or off: no spans
}

// tracer returns the tracing of runner calls, or nil when it is off.
func (e *runtimeEnv) tracer() *tracing.Tracing {
	if e.tracing == nil || !e.tracing.On() {
		return nil
	}
	return e.tracing
}

// runnerDecl is the type-erased side of a [Runner] the service holds: the
// declaration, from which each server start builds a fresh instance.
type runnerDecl interface {
	runnerName() string
	// instantiate resolves configuration and declares metrics for one
	// server start; it runs for every runner before any runner starts.
	instantiate(env *runtimeEnv) (runnerRuntime, error)
	// settings reports the runner's effective settings under cfg.
	settings(cfg *config.Config) runnerSettings
}

// runnerRuntime is one server's running instance of a runner. It owns its
// models and its methods' dispatchers: start builds and starts them (and,
// if it fails, stops and closes whatever it had started); stop drains the
// dispatchers, waits for the models to be free and closes them.
type runnerRuntime interface {
	start(ctx context.Context) error
	stop(ctx context.Context) error
}

// RunnerOption configures a [Runner].
type RunnerOption func(*runnerOptions)

type runnerOptions struct {
	workers    int
	workersSet bool // Workers was given
}

// Workers sets how many model instances (workers) the runner has; each worker
// runs one call or batch at a time, like a BentoML runner worker without
// multi-threading. The default is 1. The config key runners.<name>.workers,
// when set, takes precedence (it is a deployment decision).
func Workers(n int) RunnerOption {
	return func(o *runnerOptions) { o.workers, o.workersSet = n, true }
}

// Runner is the declaration of a named model with methods: its name, model
// constructor, options and methods. Create it with [NewRunner] and add
// methods with [Method] or [BatchMethod]. Each time the service starts, the
// server builds a fresh instance of the runner: one model of type M per
// worker, and the dispatchers of its batchable methods. Shutting the server
// down stops that instance and closes its models, so a [Service] can be
// started again after a Shutdown.
type Runner[M any] struct {
	svc      *Service
	name     string
	newModel func() (M, error)
	opts     runnerOptions
	methods  []methodDecl[M]
	// active is the running instance, nil when none; a second server of
	// the same service cannot start while it is set.
	active atomic.Pointer[runnerInstance[M]]
	// failStart, when set (by tests), is called before each method starts;
	// an error fails that method's start.
	failStart func(method string) error
}

// methodDecl is a declared method of a Runner[M].
type methodDecl[M any] interface {
	methodName() string
	// instantiate binds the method to inst (configuration, metrics); it
	// runs when the server builds the instance, before any method starts.
	instantiate(inst *runnerInstance[M]) methodRuntime
	// settings reports the method's effective settings for the runner
	// named runner, whose effective configuration is rc.
	settings(cfg *config.Config, runner string, rc config.RunnerConfig) []setting
}

// methodRuntime is a method's part of a runner instance.
type methodRuntime interface {
	// start starts the method (its dispatcher); it runs after every
	// method of the runner is instantiated.
	start() error
	// publish makes the instance the one the method's calls reach.
	publish()
	// stop drains the method (its dispatcher) and unpublishes it.
	stop(ctx context.Context) error
}

// NewRunner declares a runner of svc. newModel is called once per worker when
// the service starts, before it reports ready; an error aborts start-up with
// the runner's name in the message. The name is the runner_name label and the
// key for per-runner configuration (runners.<name>.*): lower-case letters,
// digits, '_', '.', '-', at most 63 characters, starting and ending with a
// letter or digit (the config package applies the same rule). A model that
// implements io.Closer is closed when the runner stops, after its last call
// returns (or when start-up fails after it was built).
func NewRunner[M any](svc *Service, name string, newModel func() (M, error), opts ...RunnerOption) *Runner[M] {
	r := &Runner[M]{svc: svc, name: name, newModel: newModel, opts: runnerOptions{workers: 1}}
	for _, o := range opts {
		o(&r.opts)
	}
	switch {
	case runnername.Check(name) != nil:
		svc.addErr(fmt.Errorf("bento: invalid runner name %q: %w", name, runnername.Check(name)))
	case newModel == nil:
		svc.addErr(fmt.Errorf("bento: runner %q: nil model constructor", name))
	case r.opts.workers < 1 || r.opts.workers > config.MaxWorkers:
		svc.addErr(fmt.Errorf("bento: runner %q: Workers(%d) must be between 1 and %d", name, r.opts.workers, config.MaxWorkers))
	}
	svc.mu.Lock()
	for _, other := range svc.runners {
		if other.runnerName() == name {
			svc.errs = append(svc.errs, fmt.Errorf("bento: duplicate runner name %q", name))
		}
	}
	svc.runners = append(svc.runners, r)
	svc.mu.Unlock()
	return r
}

// Name returns the runner name.
func (r *Runner[M]) Name() string { return r.name }

func (r *Runner[M]) runnerName() string { return r.name }

// workerCount is the number of workers under rc: the configuration's
// workers, else the count from runners.resources and workers_per_resource
// (bentomlWorkers, 0 when unset), else Workers in code.
func (r *Runner[M]) workerCount(rc config.RunnerConfig, bentomlWorkers int) int {
	if rc.Workers > 0 {
		return rc.Workers
	}
	if bentomlWorkers > 0 {
		return bentomlWorkers
	}
	return r.opts.workers
}

func (r *Runner[M]) instantiate(env *runtimeEnv) (runnerRuntime, error) {
	rc := env.cfg.Runner(r.name)
	inst := &runnerInstance[M]{decl: r, env: env, cfg: rc,
		timeout: time.Duration(rc.Traffic.Timeout * float64(time.Second))}
	inst.workers = r.workerCount(rc, bentoMLWorkers(env.log, r.name, rc))
	maxConc := 0
	if rc.Traffic.MaxConcurrency != nil {
		maxConc = *rc.Traffic.MaxConcurrency
	}
	inst.slots = invoke.NewSlots(maxConc)
	for _, m := range r.methods {
		inst.methods = append(inst.methods, m.instantiate(inst))
	}
	return inst, nil
}

// runnerInstance is one server's runtime of a Runner: its pool of models,
// admission state and its methods' runtimes. It lives from start to stop.
type runnerInstance[M any] struct {
	decl     *Runner[M]
	env      *runtimeEnv
	cfg      config.RunnerConfig
	workers  int
	timeout  time.Duration
	slots    *invoke.Slots // runners.traffic.max_concurrency, as the API path's
	methods  []methodRuntime
	pool     *modelpool.Pool[M] // set by start
	started  int                // methods started
	running  atomic.Bool
	stopOnce sync.Once
	stopErr  error
}

func (r *runnerInstance[M]) start(ctx context.Context) error {
	name := r.decl.name
	if !r.decl.active.CompareAndSwap(nil, r) {
		return fmt.Errorf("runner %q: already running in another server of this service", name)
	}
	models, err := modelpool.Build(ctx, r.workers, r.decl.newModel)
	if err != nil {
		r.decl.active.CompareAndSwap(r, nil)
		return fmt.Errorf("runner %q: %w", name, err)
	}
	r.pool = modelpool.New(models)
	for i, m := range r.methods {
		err := error(nil)
		if f := r.decl.failStart; f != nil {
			err = f(r.decl.methods[i].methodName())
		}
		if err == nil {
			err = m.start()
		}
		if err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return errors.Join(fmt.Errorf("runner %q: %w", name, err), r.stop(stopCtx))
		}
		r.started++
	}
	r.env.metrics.Runner(name, r.workers, r.pool.Busy)
	r.running.Store(true)
	for _, m := range r.methods {
		m.publish()
	}
	r.env.log.Info("runner started", "runner", name, "workers", r.workers)
	if per := 4 * goruntime.GOMAXPROCS(0); r.workers > per {
		r.env.log.Warn("runner has more than 4 workers per CPU; unless its model waits on I/O, fewer workers serve as fast with less memory",
			"runner", name, "workers", r.workers, "cpus", goruntime.GOMAXPROCS(0))
	}
	return nil
}

// stop drains the started methods' dispatchers, then waits for every model
// to be free and closes the models. A second call returns the first result.
func (r *runnerInstance[M]) stop(ctx context.Context) error {
	r.stopOnce.Do(func() {
		var errsList []error
		for _, m := range r.methods[:r.started] {
			if err := m.stop(ctx); err != nil {
				errsList = append(errsList, err)
			}
		}
		r.running.Store(false)
		if r.pool != nil {
			if err := r.pool.Stop(ctx); err != nil {
				errsList = append(errsList, fmt.Errorf("runner %q: stopping the workers: %w", r.decl.name, err))
			}
		}
		r.decl.active.CompareAndSwap(r, nil)
		r.stopErr = errors.Join(errsList...)
	})
	return r.stopErr
}

// acquire takes a free worker for a call or batch, mapping the pool's stop
// to the runner's 503.
func (r *runnerInstance[M]) acquire(ctx context.Context) (*modelpool.Worker[M], error) {
	w, err := r.pool.Acquire(ctx)
	if errors.Is(err, modelpool.ErrStopped) {
		return nil, runnerStopped(r.decl.name)
	}
	return w, err
}

// recoverPanic turns a panic in user code on worker w into an error and
// logs it with its stack, as the request path does; use it deferred.
func (r *runnerInstance[M]) recoverPanic(worker int, err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("runner %q: %w", r.decl.name, invoke.LogPanic(r.env.log, "runner method", p, "runner", r.decl.name, "worker", worker))
	}
}

type workResult[Out any] struct {
	out Out
	err error
}

// onWorker runs f with a free worker of r and waits for it, or for ctx. A
// call that panics turns into a 500 and the worker keeps serving. A call
// still running when ctx ends keeps its worker until it returns; its result
// is dropped.
func onWorker[M, Out any](ctx context.Context, r *runnerInstance[M], f func(m M) (Out, error)) (Out, error) {
	var zero Out
	w, err := r.acquire(ctx)
	if err != nil {
		return zero, err
	}
	done := make(chan workResult[Out], 1)
	go func() {
		var res workResult[Out]
		defer func() {
			r.pool.Release(w)
			done <- res
		}()
		defer r.recoverPanic(w.Index, &res.err)
		res.out, res.err = f(w.Model)
	}()
	select {
	case res := <-done:
		return res.out, res.err
	case <-ctx.Done():
		return zero, context.Cause(ctx)
	}
}

func runnerStopped(name string) error {
	return &Error{Status: http.StatusServiceUnavailable, Type: errs.TypeServiceUnavailable,
		Msg: fmt.Sprintf("runner %q is not running", name), Err: ErrRunnerStopped}
}

func overloaded(name, why string) error {
	return &Error{Status: http.StatusServiceUnavailable, Type: errs.TypeServiceUnavailable,
		Msg: fmt.Sprintf("Service Busy: runner %q %s", name, why), Err: ErrOverloaded}
}

// statusOf is the http_response_code a runner call is recorded with.
func statusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	st, _, _ := errs.Classify(err)
	return st
}

// RunnerMethod is a method of a runner, called with [RunnerMethod.Run] or
// [RunnerMethod.RunMany]. It is safe for concurrent use; calls are spread
// over the runner's workers, and for a batchable method merged into batches.
// The calls reach the runner instance of the server that is running the
// service; without one they fail with a 503 wrapping [ErrRunnerStopped].
type RunnerMethod[In, Out any] struct {
	runner string
	name   string
	batch  bool
	live   atomic.Pointer[methodInstance[In, Out]]
}

// methodInstance is a method bound to one running runner instance.
type methodInstance[In, Out any] struct {
	r       runnerCore
	metrics *instrument.Route
	trace   *tracing.Tracing // nil when tracing is off
	runner  string
	method  string
	single  func(ctx context.Context, in In) (Out, error)      // a plain method
	many    func(ctx context.Context, ins []In) ([]Out, error) // a batchable method
}

// runnerCore is the part of a runner instance a method needs, without its
// model type.
type runnerCore interface {
	admit() (release func(), err error)
	callContext(ctx context.Context) (context.Context, func())
}

// admit takes a max_concurrency slot with the request path's counter; a
// runner refuses with 503 (the API's own path refuses with 429).
func (r *runnerInstance[M]) admit() (func(), error) {
	if !r.running.Load() {
		return nil, runnerStopped(r.decl.name)
	}
	if !r.slots.Take() {
		return nil, overloaded(r.decl.name, "reached max_concurrency")
	}
	return r.slots.Release, nil
}

// callContext bounds a call by runners.traffic.timeout, with the request
// path's deadline.
func (r *runnerInstance[M]) callContext(ctx context.Context) (context.Context, func()) {
	return invoke.Deadline(ctx, r.timeout)
}

// Name returns the method name.
func (m *RunnerMethod[In, Out]) Name() string { return m.name }

// Run calls the method with one input. For a batchable method the input is
// merged with concurrent calls into a batch. Errors: the model's own error
// (wrapped; for a batchable method whose batch function returned
// [ItemErrors], this item's own entry), a 503 [Error] wrapping
// [ErrOverloaded] when the call is shed, the context's error when ctx ends
// first.
func (m *RunnerMethod[In, Out]) Run(ctx context.Context, in In) (out Out, err error) {
	var zero Out
	if m.batch {
		outs, err := m.RunMany(ctx, []In{in})
		if err != nil {
			if ie, ok := err.(ItemErrors); ok && len(ie) == 1 {
				err = ie[0]
			}
			return zero, err
		}
		return outs[0], nil
	}
	mi := m.live.Load()
	if mi == nil {
		return zero, runnerStopped(m.runner)
	}
	start := mi.metrics.Start()
	if mi.trace != nil {
		var end func(error)
		ctx, end = mi.trace.RunnerCall(ctx, mi.runner, mi.method, 1)
		defer func() { end(err) }()
	}
	out, err = mi.call(ctx, in)
	mi.metrics.Done(start, statusOf(err))
	return out, err
}

func (mi *methodInstance[In, Out]) call(ctx context.Context, in In) (Out, error) {
	var zero Out
	release, err := mi.r.admit()
	if err != nil {
		return zero, err
	}
	defer release()
	cctx, cancel := mi.r.callContext(ctx)
	defer cancel()
	return mi.single(cctx, in)
}

// RunMany calls the method with several inputs and returns one output per
// input, in order. For a batchable method the inputs join the batch queue
// together (oldest first); more than max_batch_size inputs are split across
// consecutive batches; if the batch function reports [ItemErrors] for some
// of them, RunMany returns an ItemErrors with one entry per input (nil for
// those that succeeded) and no outputs. For a non-batchable method the
// inputs run one after another and the first error ends the call. The call
// counts as one runner request in the metrics.
func (m *RunnerMethod[In, Out]) RunMany(ctx context.Context, ins []In) (outs []Out, err error) {
	mi := m.live.Load()
	if mi == nil {
		return nil, runnerStopped(m.runner)
	}
	start := mi.metrics.Start()
	if mi.trace != nil {
		var end func(error)
		ctx, end = mi.trace.RunnerCall(ctx, mi.runner, mi.method, len(ins))
		defer func() { end(err) }()
	}
	outs, err = mi.runMany(ctx, ins)
	mi.metrics.Done(start, statusOf(err))
	return outs, err
}

func (mi *methodInstance[In, Out]) runMany(ctx context.Context, ins []In) ([]Out, error) {
	release, err := mi.r.admit()
	if err != nil {
		return nil, err
	}
	defer release()
	cctx, cancel := mi.r.callContext(ctx)
	defer cancel()
	if mi.many != nil {
		return mi.many(cctx, ins)
	}
	outs := make([]Out, len(ins))
	for i, in := range ins {
		out, err := mi.single(cctx, in)
		if err != nil {
			return nil, err
		}
		outs[i] = out
	}
	return outs, nil
}

// Method declares a non-batchable method of r: each call runs fn alone on a
// free worker with that worker's model. fn is typically a method expression
// such as (*Model).Predict.
func Method[M, In, Out any](r *Runner[M], name string, fn func(M, context.Context, In) (Out, error)) *RunnerMethod[In, Out] {
	m := &RunnerMethod[In, Out]{runner: r.name, name: name}
	r.addMethod(&plainMethod[M, In, Out]{m: m, fn: fn})
	return m
}

func (r *Runner[M]) addMethod(md methodDecl[M]) {
	name := md.methodName()
	if !apiNameRE.MatchString(name) {
		r.svc.addErr(fmt.Errorf("bento: runner %q: method name %q is not a valid identifier", r.name, name))
	}
	for _, other := range r.methods {
		if other.methodName() == name {
			r.svc.addErr(fmt.Errorf("bento: runner %q: duplicate method %q", r.name, name))
		}
	}
	r.methods = append(r.methods, md)
}

// plainMethod is the declaration of a non-batchable method.
type plainMethod[M, In, Out any] struct {
	m  *RunnerMethod[In, Out]
	fn func(M, context.Context, In) (Out, error)
}

func (p *plainMethod[M, In, Out]) methodName() string { return p.m.name }

func (p *plainMethod[M, In, Out]) instantiate(inst *runnerInstance[M]) methodRuntime {
	mi := &methodInstance[In, Out]{r: inst, metrics: inst.env.metrics.RunnerMethod(p.m.runner, p.m.name),
		trace: inst.env.tracer(), runner: p.m.runner, method: p.m.name}
	mi.single = func(ctx context.Context, in In) (Out, error) {
		return onWorker(ctx, inst, func(model M) (Out, error) { return p.fn(model, ctx, in) })
	}
	return &plainRuntime[In, Out]{m: p.m, mi: mi}
}

// plainRuntime is a non-batchable method's part of a runner instance.
type plainRuntime[In, Out any] struct {
	m  *RunnerMethod[In, Out]
	mi *methodInstance[In, Out]
}

func (p *plainRuntime[In, Out]) start() error { return nil }
func (p *plainRuntime[In, Out]) publish()     { p.m.live.Store(p.mi) }
func (p *plainRuntime[In, Out]) stop(context.Context) error {
	p.m.live.CompareAndSwap(p.mi, nil)
	return nil
}

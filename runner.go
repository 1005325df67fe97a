package bento

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	goruntime "runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/instrument"
	"github.com/gobento/bento/internal/runnername"
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
}

// runnerLifecycle is the type-erased side of a [Runner] the service drives.
type runnerLifecycle interface {
	runnerName() string
	// prepare resolves configuration and declares metrics; it runs for
	// every runner before any runner starts.
	prepare(env *runtimeEnv) error
	// start constructs the models and starts workers and dispatchers.
	start(ctx context.Context) error
	// stop drains dispatchers, then stops the workers.
	stop(ctx context.Context) error
	// settings reports the runner's effective settings under cfg.
	settings(cfg *config.Config) runnerSettings
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

// Runner is a named model with methods, served by a pool of workers, each
// owning one model instance of type M. Create it with [NewRunner] and add
// methods with [Method] or [BatchMethod].
type Runner[M any] struct {
	svc      *Service
	name     string
	newModel func() (M, error)
	opts     runnerOptions
	methods  []methodLifecycle

	env      *runtimeEnv
	cfg      config.RunnerConfig
	models   []M // closed on stop when they implement io.Closer
	jobs     chan func(M, int)
	quit     chan struct{}
	wg       sync.WaitGroup
	running  atomic.Bool
	inFlight atomic.Int64
	busy     atomic.Int64 // workers running a job
	maxConc  int64
	timeout  time.Duration
	stopOnce sync.Once
	// bentomlWorkers is the count from runners.resources and
	// workers_per_resource, 0 when they are not set.
	bentomlWorkers int
}

type methodLifecycle interface {
	prepare(env *runtimeEnv, cfg config.RunnerConfig) error
	start(env *runtimeEnv) error
	stop(ctx context.Context) error
	// settings reports the method's effective settings for the runner
	// named runner, whose effective configuration is rc.
	settings(cfg *config.Config, runner string, rc config.RunnerConfig) []setting
}

// NewRunner declares a runner of svc. newModel is called once per worker when
// the service starts, before it reports ready; an error aborts start-up with
// the runner's name in the message. The name is the runner_name label and the
// key for per-runner configuration (runners.<name>.*): lower-case letters,
// digits, '_', '.', '-', at most 63 characters, starting and ending with a
// letter or digit (the config package applies the same rule). A model that implements
// io.Closer is closed when the runner stops, after its workers return (or
// when start-up fails after it was built).
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

func (r *Runner[M]) workerCount() int {
	if r.cfg.Workers > 0 {
		return r.cfg.Workers
	}
	if r.bentomlWorkers > 0 {
		return r.bentomlWorkers
	}
	return r.opts.workers
}

func (r *Runner[M]) prepare(env *runtimeEnv) error {
	r.env = env
	r.cfg = env.cfg.Runner(r.name)
	r.bentomlWorkers = bentoMLWorkers(env.log, r.name, r.cfg)
	r.timeout = time.Duration(r.cfg.Traffic.Timeout * float64(time.Second))
	if r.cfg.Traffic.MaxConcurrency != nil {
		r.maxConc = int64(*r.cfg.Traffic.MaxConcurrency)
	}
	var errsList []error
	for _, m := range r.methods {
		if err := m.prepare(env, r.cfg); err != nil {
			errsList = append(errsList, fmt.Errorf("runner %q: %w", r.name, err))
		}
	}
	return errors.Join(errsList...)
}

func (r *Runner[M]) start(ctx context.Context) error {
	n := r.workerCount()
	models := make([]M, n)
	for i := range n {
		m, err := constructModel(r.newModel)
		if err != nil {
			closeModels(models[:i])
			return fmt.Errorf("runner %q: constructing the model for worker %d: %w", r.name, i+1, err)
		}
		models[i] = m
		if err := ctx.Err(); err != nil {
			closeModels(models[:i+1])
			return fmt.Errorf("runner %q: start cancelled: %w", r.name, err)
		}
	}
	r.models = models
	r.jobs = make(chan func(M, int))
	r.quit = make(chan struct{})
	for i, m := range models {
		r.wg.Go(func() { r.work(m, i+1) })
	}
	for _, m := range r.methods {
		if err := m.start(r.env); err != nil {
			return fmt.Errorf("runner %q: %w", r.name, err)
		}
	}
	r.env.metrics.Runner(r.name, n, func() int { return int(r.busy.Load()) })
	r.running.Store(true)
	r.env.log.Info("runner started", "runner", r.name, "workers", n)
	if per := 4 * goruntime.GOMAXPROCS(0); n > per {
		r.env.log.Warn("runner has more than 4 workers per CPU; unless its model waits on I/O, fewer workers serve as fast with less memory",
			"runner", r.name, "workers", n, "cpus", goruntime.GOMAXPROCS(0))
	}
	return nil
}

// constructModel runs a user constructor, turning a panic into an error.
func constructModel[M any](newModel func() (M, error)) (m M, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return newModel()
}

// closeModels closes the models that implement io.Closer (native sessions
// such as ONNX Runtime's hold memory the Go collector does not see).
func closeModels[M any](models []M) error {
	var errsList []error
	for _, m := range models {
		if c, ok := any(m).(io.Closer); ok {
			if err := c.Close(); err != nil {
				errsList = append(errsList, err)
			}
		}
	}
	return errors.Join(errsList...)
}

// work is one worker: it owns model m and runs jobs until quit.
func (r *Runner[M]) work(m M, index int) {
	for {
		select {
		case job := <-r.jobs:
			r.busy.Add(1)
			job(m, index)
			r.busy.Add(-1)
		case <-r.quit:
			return
		}
	}
}

func (r *Runner[M]) stop(ctx context.Context) error {
	var errsList []error
	r.stopOnce.Do(func() {
		for _, m := range r.methods {
			if err := m.stop(ctx); err != nil {
				errsList = append(errsList, err)
			}
		}
		r.running.Store(false)
		if r.quit != nil {
			close(r.quit)
		}
	})
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		// Every worker has returned: no job can touch a model any more.
		if err := closeModels(r.models); err != nil {
			errsList = append(errsList, fmt.Errorf("runner %q: closing models: %w", r.name, err))
		}
		r.models = nil
	case <-ctx.Done():
		errsList = append(errsList, fmt.Errorf("runner %q: workers still busy at shutdown: %w", r.name, ctx.Err()))
	}
	return errors.Join(errsList...)
}

type workResult[Out any] struct {
	out Out
	err error
}

// onWorker runs f on a free worker of r and waits for it, or for ctx. A
// worker whose call panics recovers and keeps serving; the caller gets a 500.
// A call still running when ctx ends keeps its worker busy until it returns;
// its result is dropped.
func onWorker[M, Out any](ctx context.Context, r *Runner[M], f func(m M, worker int) (Out, error)) (Out, error) {
	var zero Out
	done := make(chan workResult[Out], 1)
	job := func(m M, worker int) {
		defer func() {
			if p := recover(); p != nil {
				r.env.log.Error("panic in runner method", "runner", r.name, "worker", worker,
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- workResult[Out]{err: fmt.Errorf("runner %q: panic: %v", r.name, p)}
			}
		}()
		out, err := f(m, worker)
		done <- workResult[Out]{out: out, err: err}
	}
	select {
	case r.jobs <- job:
	case <-ctx.Done():
		return zero, context.Cause(ctx)
	case <-r.quit:
		return zero, runnerStopped(r.name)
	}
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
type RunnerMethod[In, Out any] struct {
	r       runnerCore
	name    string
	single  func(ctx context.Context, in In) (Out, error)
	batch   *batchState[In, Out]
	metrics *instrument.Route
}

// runnerCore is the part of a Runner a method needs, without its model type.
type runnerCore interface {
	runnerName() string
	admit() (release func(), err error)
	callContext(ctx context.Context) (context.Context, context.CancelFunc)
}

func (r *Runner[M]) admit() (func(), error) {
	if !r.running.Load() {
		return nil, runnerStopped(r.name)
	}
	n := r.inFlight.Add(1)
	if r.maxConc > 0 && n > r.maxConc {
		r.inFlight.Add(-1)
		return nil, overloaded(r.name, "reached max_concurrency")
	}
	return func() { r.inFlight.Add(-1) }, nil
}

func (r *Runner[M]) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.timeout > 0 {
		return context.WithTimeout(ctx, r.timeout)
	}
	return ctx, func() {}
}

// Name returns the method name.
func (m *RunnerMethod[In, Out]) Name() string { return m.name }

// Run calls the method with one input. For a batchable method the input is
// merged with concurrent calls into a batch. Errors: the model's own error
// (wrapped), a 503 [Error] wrapping [ErrOverloaded] when the call is shed, the
// context's error when ctx ends first.
func (m *RunnerMethod[In, Out]) Run(ctx context.Context, in In) (Out, error) {
	if m.batch != nil {
		var zero Out
		outs, err := m.RunMany(ctx, []In{in})
		if err != nil {
			return zero, err
		}
		return outs[0], nil
	}
	start := m.metrics.Start()
	out, err := m.call(ctx, in)
	m.metrics.Done(start, statusOf(err))
	return out, err
}

func (m *RunnerMethod[In, Out]) call(ctx context.Context, in In) (Out, error) {
	var zero Out
	release, err := m.r.admit()
	if err != nil {
		return zero, err
	}
	defer release()
	cctx, cancel := m.r.callContext(ctx)
	defer cancel()
	return m.single(cctx, in)
}

// RunMany calls the method with several inputs and returns one output per
// input, in order. For a batchable method the inputs join the batch queue
// together (oldest first); more than max_batch_size inputs are split across
// consecutive batches. For a non-batchable method the inputs run one after
// another. The call counts as one runner request in the metrics.
func (m *RunnerMethod[In, Out]) RunMany(ctx context.Context, ins []In) ([]Out, error) {
	start := m.metrics.Start()
	outs, err := m.runMany(ctx, ins)
	m.metrics.Done(start, statusOf(err))
	return outs, err
}

func (m *RunnerMethod[In, Out]) runMany(ctx context.Context, ins []In) ([]Out, error) {
	release, err := m.r.admit()
	if err != nil {
		return nil, err
	}
	defer release()
	cctx, cancel := m.r.callContext(ctx)
	defer cancel()
	if m.batch != nil {
		return m.batch.submit(cctx, ins)
	}
	outs := make([]Out, len(ins))
	for i, in := range ins {
		out, err := m.single(cctx, in)
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
	m := &RunnerMethod[In, Out]{r: r, name: name}
	m.single = func(ctx context.Context, in In) (Out, error) {
		return onWorker(ctx, r, func(model M, _ int) (Out, error) { return fn(model, ctx, in) })
	}
	r.addMethod(name, &plainMethod[In, Out]{m: m})
	return m
}

func (r *Runner[M]) addMethod(name string, ml methodLifecycle) {
	if !apiNameRE.MatchString(name) {
		r.svc.addErr(fmt.Errorf("bento: runner %q: method name %q is not a valid identifier", r.name, name))
	}
	for _, other := range r.methods {
		if methodName(other) == name {
			r.svc.addErr(fmt.Errorf("bento: runner %q: duplicate method %q", r.name, name))
		}
	}
	r.methods = append(r.methods, ml)
}

func methodName(ml methodLifecycle) string {
	if n, ok := ml.(interface{ methodName() string }); ok {
		return n.methodName()
	}
	return ""
}

// plainMethod is the lifecycle of a non-batchable method.
type plainMethod[In, Out any] struct{ m *RunnerMethod[In, Out] }

func (p *plainMethod[In, Out]) methodName() string { return p.m.name }

func (p *plainMethod[In, Out]) prepare(env *runtimeEnv, _ config.RunnerConfig) error {
	p.m.metrics = env.metrics.RunnerMethod(p.m.r.runnerName(), p.m.name)
	return nil
}

func (p *plainMethod[In, Out]) start(*runtimeEnv) error    { return nil }
func (p *plainMethod[In, Out]) stop(context.Context) error { return nil }

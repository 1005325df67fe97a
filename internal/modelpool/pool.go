// Package modelpool holds the model instances (workers) of one running
// runner. A worker is taken by the goroutine that runs a call or a batch
// (Acquire) and given back when it returns (Release): there are no worker
// goroutines and no hand-off of work between goroutines, so a batch runs on
// the batching dispatcher's goroutine that formed it.
//
// A Pool is created with models already built (see [Build]) and owns them:
// [Pool.Stop] waits until every worker is back and closes the models that
// implement io.Closer.
package modelpool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// ErrStopped is returned by [Pool.Acquire] once [Pool.Stop] has been called.
var ErrStopped = errors.New("modelpool: stopped")

// Worker is one model instance. Index numbers the workers from 1.
type Worker[M any] struct {
	Model M
	Index int
}

// Pool lends its workers to one goroutine at a time. All methods are safe
// for concurrent use.
type Pool[M any] struct {
	free    chan *Worker[M] // holds every worker not lent out
	quit    chan struct{}   // closed by Stop
	quitOne sync.Once
	busy    atomic.Int64
	models  []M

	stopMu   sync.Mutex // serializes Stop
	returned int        // workers Stop has taken back for good
	closed   bool
	closeErr error
}

// New returns a pool of one worker per model. The pool owns the models.
func New[M any](models []M) *Pool[M] {
	p := &Pool[M]{free: make(chan *Worker[M], len(models)), quit: make(chan struct{}), models: models}
	for i, m := range models {
		p.free <- &Worker[M]{Model: m, Index: i + 1}
	}
	return p
}

// Size returns the number of workers.
func (p *Pool[M]) Size() int { return len(p.models) }

// Busy returns the number of workers lent out.
func (p *Pool[M]) Busy() int { return int(p.busy.Load()) }

// Acquire takes a free worker, waiting for one until ctx ends (it then
// returns context.Cause(ctx)) or the pool stops ([ErrStopped]). The caller
// must give it back with [Pool.Release].
func (p *Pool[M]) Acquire(ctx context.Context) (*Worker[M], error) {
	select {
	case <-p.quit:
		return nil, ErrStopped
	case w := <-p.free: // a free worker: no need to touch ctx.Done
		p.busy.Add(1)
		return w, nil
	default:
	}
	select {
	case w := <-p.free:
		p.busy.Add(1)
		return w, nil
	case <-p.quit:
		return nil, ErrStopped
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// Release gives back a worker taken with Acquire.
func (p *Pool[M]) Release(w *Worker[M]) {
	p.busy.Add(-1)
	p.free <- w // never blocks: free has room for every worker
}

// Stop refuses further Acquires, waits until every worker is back (or ctx
// ends), then closes the models that implement io.Closer. If ctx ends
// first it returns an error wrapping context.Cause(ctx) and closes nothing;
// a later Stop waits again. Once the models are closed, Stop returns the
// result of closing them.
func (p *Pool[M]) Stop(ctx context.Context) error {
	p.quitOne.Do(func() { close(p.quit) })
	p.stopMu.Lock()
	defer p.stopMu.Unlock()
	for p.returned < len(p.models) {
		select {
		case <-p.free:
			p.returned++
		case <-ctx.Done():
			return fmt.Errorf("modelpool: %d of %d workers still busy: %w",
				len(p.models)-p.returned, len(p.models), context.Cause(ctx))
		}
	}
	if !p.closed {
		p.closed = true
		p.closeErr = Close(p.models)
	}
	return p.closeErr
}

// Build constructs n models with newModel, turning a panic into an error.
// If one fails (or ctx ends), the models already built are closed and the
// error names the worker.
func Build[M any](ctx context.Context, n int, newModel func() (M, error)) ([]M, error) {
	models := make([]M, 0, n)
	for i := range n {
		m, err := construct(newModel)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("constructing the model for worker %d: %w", i+1, err), Close(models))
		}
		models = append(models, m)
		if err := ctx.Err(); err != nil {
			return nil, errors.Join(fmt.Errorf("start cancelled: %w", err), Close(models))
		}
	}
	return models, nil
}

// construct runs a user constructor, turning a panic into an error.
func construct[M any](newModel func() (M, error)) (m M, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return newModel()
}

// Close closes the models that implement io.Closer (native sessions such
// as ONNX Runtime's hold memory the Go collector does not see) and joins
// their errors.
func Close[M any](models []M) error {
	var errs []error
	for i, m := range models {
		if c, ok := any(m).(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing the model of worker %d: %w", i+1, err))
			}
		}
	}
	return errors.Join(errs...)
}

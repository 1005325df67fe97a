package batching

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/gobento/bento/internal/errs"
)

// ErrStopped is returned by [Dispatcher.Submit] once [Dispatcher.Stop] has
// been called, and to calls still queued when a Stop is cut short by its
// context.
var ErrStopped = errors.New("batching: dispatcher stopped")

// ErrShed is returned by [Dispatcher.Submit] when the call was removed from
// the queue because the cost model predicts it cannot finish within
// MaxLatency. Servers answer it with HTTP 503 / gRPC UNAVAILABLE.
var ErrShed = errors.New("batching: request shed: it cannot finish within the max latency")

// ErrBatchSize is wrapped by the error every caller of a batch receives when
// the ExecFunc returned a different number of outputs than it got items, or
// an [ItemErrors] whose length is not the number of items.
var ErrBatchSize = errors.New("batching: model returned the wrong number of outputs")

// ErrCallersGone is the cause with which a batch's context is cancelled
// when every caller with items in it has gone (their contexts ended).
var ErrCallersGone = errors.New("batching: every caller of the batch has gone")

// ItemErrors is the error an ExecFunc returns, unwrapped, when only some
// items of a batch failed: one entry per item, nil where the item
// succeeded. The outputs must still hold one entry per item (those of
// failed items are ignored), unless every item failed: they may then be
// nil. Each caller then gets its own outputs, or,
// if any of its items failed, an ItemErrors holding its items' entries
// (one per item of its Submit call). An ItemErrors with no non-nil entry
// is a success.
type ItemErrors []error

// Error reports how many items failed and the first failure.
func (e ItemErrors) Error() string { return errs.ItemsMessage("batching", e) }

// Unwrap returns the non-nil entries, so that errors.Is and errors.As see
// the item errors.
func (e ItemErrors) Unwrap() []error { return errs.ItemsUnwrap(e) }

// failed reports whether any entry is non-nil.
func (e ItemErrors) failed() bool {
	for _, err := range e {
		if err != nil {
			return true
		}
	}
	return false
}

// PanicError is the error every caller of a batch receives (wrapped) when
// the ExecFunc panicked. The dispatcher recovers the panic and keeps
// working; use [errors.As] to get at the value and stack.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack
}

// Error reports the panic value; the stack is left out of the message.
func (e *PanicError) Error() string { return fmt.Sprintf("batching: exec panicked: %v", e.Value) }

// Config is a dispatcher's configuration.
type Config struct {
	// MaxBatchSize is the most items one batch holds, inclusive. At least 1.
	MaxBatchSize int
	// MaxLatency bounds queue wait plus run time of a call. Required (> 0)
	// when Enabled; ignored otherwise.
	MaxLatency time.Duration
	// Workers is how many batches may run at once. At least 1.
	Workers int
	// Enabled turns adaptive batching on. When false every Submit call is
	// its own batch (still split by MaxBatchSize), nothing is shed, and at
	// most Workers batches run at once.
	Enabled bool
	// Around, when set, is called as each batch starts, with the batch's
	// ctx and its callers (one per call part, oldest first); it returns
	// the ctx the ExecFunc gets (it must keep ctx's deadline and
	// cancellation, e.g. by deriving from it) and, if not nil, a function
	// called with the batch's error when the ExecFunc has returned.
	// Tracing uses it to make one span per batch, linked to its callers.
	Around func(ctx context.Context, callers []Caller, reason Reason) (context.Context, func(error))
}

// Caller is one call part of a batch, as [Config.Around] sees it.
type Caller struct {
	Ctx      context.Context // the caller's context, as given to Submit
	Enqueued time.Time       // when the call was submitted
	Items    int             // its items in this batch
}

func (c Config) validate() error {
	switch {
	case c.MaxBatchSize < 1:
		return fmt.Errorf("batching: MaxBatchSize must be at least 1, got %d", c.MaxBatchSize)
	case c.Workers < 1:
		return fmt.Errorf("batching: Workers must be at least 1, got %d", c.Workers)
	case c.Enabled && c.MaxLatency <= 0:
		return fmt.Errorf("batching: MaxLatency must be positive, got %v", c.MaxLatency)
	}
	return nil
}

// Reason says why a batch was dispatched.
type Reason string

// The reasons a batch is dispatched; see the package documentation.
const (
	// ReasonFull: MaxBatchSize items were queued.
	ReasonFull Reason = "full"
	// ReasonCost: waiting for more items no longer pays off (this includes
	// an idle request dispatched at once, and every batch when batching is
	// disabled that is smaller than MaxBatchSize).
	ReasonCost Reason = "cost"
	// ReasonDeadline: the oldest item would miss MaxLatency if it waited
	// any longer.
	ReasonDeadline Reason = "deadline"
	// ReasonDrain: the dispatcher is stopping and flushes its queue.
	ReasonDrain Reason = "drain"
)

// Observer receives dispatcher events, typically to update metrics.
// Implementations must be fast and safe for concurrent use; they are called
// outside the dispatcher's lock, from worker goroutines and from Submit.
type Observer interface {
	// Dispatched is called when a batch of size items starts. queueWaits
	// holds one entry per call part in the batch (a call split across
	// batches contributes one entry to each): the time from its Submit to
	// this dispatch. The slice is reused after Dispatched returns.
	Dispatched(size int, reason Reason, queueWaits []time.Duration)
	// Executed is called when the ExecFunc of a batch returns, with its
	// run time and the error its callers get (nil on success, an
	// [ItemErrors] when only some items failed).
	Executed(size int, d time.Duration, err error)
	// Shed is called with the number of calls just shed with ErrShed.
	Shed(n int)
}

type nopObserver struct{}

func (nopObserver) Dispatched(int, Reason, []time.Duration) {}
func (nopObserver) Executed(int, time.Duration, error)      {}
func (nopObserver) Shed(int)                                {}

// ExecFunc runs one batch and returns exactly len(items) outputs, in order,
// or an error for the whole batch, or an [ItemErrors] for some of its items.
//
// ctx is the batch's own: it carries the earliest deadline among the
// callers with items in the batch, and it is cancelled when that deadline
// passes (cause and Err context.DeadlineExceeded, noticed when that caller
// leaves), when a Stop is cut short by its own context (cause wrapping that
// context's cause) and when every caller of the batch has gone (cause
// [ErrCallersGone]). It carries no caller's values. exec must not keep items after it returns; the
// returned slice is handed to the callers (as sub-slices), so exec must not
// reuse it.
type ExecFunc[In, Out any] func(ctx context.Context, items []In) ([]Out, error)

// Stats is a snapshot of a dispatcher's state, for a debug view and for
// gauges. Durations are model estimates unless stated otherwise.
type Stats struct {
	Queued          int           // items waiting in the queue
	InFlight        int           // batches dispatched and not yet finished
	Workers         int           // Config.Workers
	MaxBatchSize    int           // Config.MaxBatchSize
	A               time.Duration // fitted cost per item
	B               time.Duration // fitted cost per batch
	Fitted          bool          // A and B come from a fit over ≥2 batch sizes, not the prior
	Samples         int           // batches in the model window (at most 50)
	ArrivalRate     float64       // estimated arrivals, items per second
	TargetBatchSize int           // batch size the cork rule currently aims for
	OldestWait      time.Duration // age of the oldest queued item (measured)
	DrainEstimate   time.Duration // time to run the queued items in full batches on all workers
	Stopping        bool          // Stop has been called
}

// call is one Submit: its items, results and completion state. All fields
// after items are guarded by Dispatcher.mu until done is signalled.
type call[In, Out any] struct {
	ctx      context.Context // the caller's, for its deadline
	items    []In
	out      []Out
	err      error
	itemErrs []error // one per item once some item failed, else nil
	// running are the batches holding its items that have not finished;
	// when a caller leaves, each loses one live caller.
	running   []*batch[In, Out]
	enq       int64 // enqueue time, ns since Dispatcher.epoch
	next      int   // items[:next] have been dispatched (or dropped)
	remaining int   // items not yet completed
	finished  bool  // result or error is final; done has been signalled
	// idleArrival: the call found the dispatcher idle (empty queue, no batch
	// in flight). Such a call is dispatched at once: nothing suggests more
	// work is coming, so waiting could only add latency.
	idleArrival bool
	done        chan struct{}
}

// part is a run of one call's items inside a batch.
type part[In, Out any] struct {
	c      *call[In, Out]
	off, n int
}

type batch[In, Out any] struct {
	items  []In
	parts  []part[In, Out]
	waits  []time.Duration
	reason Reason
	end    int64 // predicted end, ns since epoch (see Dispatcher.ends)
	// ctx is given to the ExecFunc; cancel releases it (a nil cause when
	// the batch ends, ErrCallersGone when its last caller leaves).
	ctx      context.Context
	cancel   context.CancelCauseFunc
	deadline time.Time // the earliest of its callers' deadlines, or zero
	live     int       // parts whose caller has not left
}

// Dispatcher merges concurrent Submit calls into batches for an ExecFunc.
// See the package documentation for the dispatch and shedding rules. All
// methods are safe for concurrent use.
type Dispatcher[In, Out any] struct {
	cfg    Config
	exec   ExecFunc[In, Out]
	obs    Observer
	maxLat int64 // MaxLatency in ns
	slack  int64 // dispatch this much before the predicted last moment
	// ends holds the predicted end times of the batches in flight; the
	// earliest tells when a worker is expected to free up.
	ends  []int64
	epoch time.Time

	// running are the batches dispatched and not finished, whose contexts
	// a Stop cut short cancels.
	running []*batch[In, Out]

	work    chan *batch[In, Out] // capacity Workers; sends never block
	done    chan struct{}        // closed when the last worker exits
	calls   sync.Pool
	batches sync.Pool

	mu       sync.Mutex
	q        ring[*call[In, Out]]
	queued   int // live items in q
	idle     int // workers with no batch assigned
	yielding int // workers done with a batch, letting its callers run (see runBatch)
	live     int // worker goroutines running
	started  bool
	stopping bool
	closed   bool // work is closed
	model    costModel
	arr      arrivals
	timer    *time.Timer
	timerAt  int64
	timerSet bool
}

// New returns a dispatcher for exec. It validates cfg; obs may be nil. The
// dispatcher runs batches only after [Dispatcher.Start].
func New[In, Out any](cfg Config, exec ExecFunc[In, Out], obs Observer) (*Dispatcher[In, Out], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if exec == nil {
		return nil, errors.New("batching: nil ExecFunc")
	}
	if obs == nil {
		obs = nopObserver{}
	}
	d := &Dispatcher[In, Out]{
		cfg:    cfg,
		exec:   exec,
		obs:    obs,
		maxLat: int64(cfg.MaxLatency),
		slack:  int64(min(cfg.MaxLatency/10, time.Millisecond)),
		epoch:  time.Now(),
		work:   make(chan *batch[In, Out], cfg.Workers),
		done:   make(chan struct{}),
		idle:   cfg.Workers,
	}
	return d, nil
}

// Start launches the worker goroutines. Calls submitted before Start wait
// in the queue. Start after Stop, or a second Start, does nothing.
func (d *Dispatcher[In, Out]) Start() {
	d.mu.Lock()
	if !d.started && !d.stopping {
		d.startLocked()
	}
	d.mu.Unlock()
}

func (d *Dispatcher[In, Out]) startLocked() {
	d.started = true
	d.live = d.cfg.Workers
	for range d.cfg.Workers {
		go d.worker()
	}
}

func (d *Dispatcher[In, Out]) now() int64 { return int64(time.Since(d.epoch)) }

// Submit queues items and blocks until their outputs are ready, returning
// exactly one output per item, in order. The call's items may be split over
// several batches and may share batches with other calls.
//
// It returns [ErrShed] if the call was shed, [ErrStopped] after Stop, an
// error wrapping the ExecFunc's error (or [ErrBatchSize], or a
// [*PanicError]) if a batch holding its items failed, and context.Cause(ctx)
// if ctx ended first: queued items are then removed, and a batch already
// running completes for its other callers. Submit with no items returns
// nil, nil. items must not be modified until Submit returns.
func (d *Dispatcher[In, Out]) Submit(ctx context.Context, items []In) ([]Out, error) {
	if len(items) == 0 {
		return nil, nil
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	c := d.getCall()
	c.ctx = ctx
	c.items = items
	c.remaining = len(items)

	d.mu.Lock()
	if d.stopping {
		d.mu.Unlock()
		d.putCall(c)
		return nil, ErrStopped
	}
	now := d.now()
	d.arr.note(now, len(items), d.maxLat)
	c.enq = now
	c.idleArrival = d.queued == 0 && d.idle+d.yielding == d.cfg.Workers
	d.q.push(c)
	d.queued += len(items)
	shed := d.pumpLocked(now)
	d.mu.Unlock()
	if shed > 0 {
		d.obs.Shed(shed)
	}

	select {
	case <-c.done:
	case <-ctx.Done():
		d.mu.Lock()
		if !c.finished {
			err := context.Cause(ctx)
			d.finishLocked(c, err) // c is abandoned: a batch may still hold it
			for _, b := range c.running {
				b.live--
				switch {
				case b.live == 0:
					b.cancel(ErrCallersGone)
				case !b.deadline.IsZero() && !time.Now().Before(b.deadline):
					// The caller with the earliest deadline has just left
					// at that deadline: the batch's deadline has passed.
					b.cancel(context.DeadlineExceeded)
				}
			}
			c.running = nil
			d.maybeCloseLocked()
			d.mu.Unlock()
			return nil, err
		}
		d.mu.Unlock()
		<-c.done
	}
	out, err := c.out, c.err
	if err == nil {
		d.putCall(c) // every part completed: nothing refers to c any more
	}
	return out, err
}

// Stop stops accepting calls (Submit returns ErrStopped), dispatches what
// is queued (ReasonDrain), and waits for all batches to finish or for ctx
// to end, whichever comes first. If ctx ends first, the context given to
// running ExecFuncs is cancelled, calls still queued get ErrStopped, and
// Stop returns an error wrapping context.Cause(ctx); the workers exit once
// their ExecFuncs return. Stop may be called more than once; a Stop on a
// dispatcher that was never started starts it to drain the queue.
func (d *Dispatcher[In, Out]) Stop(ctx context.Context) error {
	d.mu.Lock()
	if !d.stopping {
		d.stopping = true
		if !d.started {
			d.startLocked()
		}
		d.pumpLocked(d.now())
	}
	d.mu.Unlock()

	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
	}
	cause := context.Cause(ctx)
	d.mu.Lock()
	for _, b := range d.running {
		b.cancel(fmt.Errorf("batching: stop cut short: %w", cause))
	}
	for d.q.n > 0 {
		c := d.q.front()
		d.q.pop()
		d.finishLocked(c, ErrStopped)
	}
	d.maybeCloseLocked()
	d.mu.Unlock()
	return fmt.Errorf("batching: stop: %w", cause)
}

// Stats returns a snapshot of the dispatcher's state.
func (d *Dispatcher[In, Out]) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	s := Stats{
		Queued:          d.queued,
		InFlight:        d.cfg.Workers - d.idle,
		Workers:         d.cfg.Workers,
		MaxBatchSize:    d.cfg.MaxBatchSize,
		A:               time.Duration(math.Round(d.model.a)),
		B:               time.Duration(math.Round(d.model.b)),
		Fitted:          d.model.fitted,
		Samples:         d.model.len,
		ArrivalRate:     d.arr.rate(now) * 1e9,
		TargetBatchSize: d.targetLocked(now),
		Stopping:        d.stopping,
	}
	if math.IsInf(s.ArrivalRate, 0) {
		s.ArrivalRate = math.MaxFloat64
	}
	if c := d.headLocked(); c != nil {
		s.OldestWait = time.Duration(now - c.enq)
	}
	mbs := d.cfg.MaxBatchSize
	work := int64(d.queued/mbs) * d.model.predict(mbs)
	if r := d.queued % mbs; r > 0 {
		work += d.model.predict(r)
	}
	s.DrainEstimate = time.Duration(work / int64(d.cfg.Workers))
	return s
}

// pumpLocked makes every decision that is due at time now: it dispatches
// batches to free workers, sheds hopeless calls while all workers are busy,
// and arms the timer for the next decision. It returns how many calls it
// shed.
func (d *Dispatcher[In, Out]) pumpLocked(now int64) (shed int) {
	for {
		c := d.headLocked()
		if c == nil {
			d.maybeCloseLocked()
			return shed
		}
		if d.idle == 0 {
			if d.stopping || !d.cfg.Enabled || d.model.len == 0 {
				return shed
			}
			// The oldest call can start when the first worker frees up
			// (predicted, never before now) and then runs in a batch of n:
			// it is hopeless once that start + predict(n) > enq + MaxLatency
			// - slack. The slack (min(L/10, 1 ms)) absorbs scheduling
			// jitter the model cannot see, so that calls admitted right at
			// the limit still finish within MaxLatency.
			last := c.enq + d.maxLat - d.slack - d.model.predict(min(d.queued, d.cfg.MaxBatchSize))
			if max(now, d.earliestEndLocked()) > last {
				d.finishLocked(c, ErrShed)
				shed++
				continue
			}
			d.armLocked(now, last+1)
			return shed
		}
		reason, wake := d.decideLocked(now, c)
		if reason == "" {
			d.armLocked(now, wake)
			return shed
		}
		b := d.takeLocked(now, reason)
		b.end = now + d.model.predict(len(b.items))
		d.ends = append(d.ends, b.end)
		d.idle--
		d.work <- b
	}
}

// earliestEndLocked is the earliest predicted end of a batch in flight
// (math.MaxInt64 with none; with every worker busy there is at least one).
func (d *Dispatcher[In, Out]) earliestEndLocked() int64 {
	e := int64(math.MaxInt64)
	for _, t := range d.ends {
		e = min(e, t)
	}
	if e == math.MaxInt64 {
		return math.MinInt64
	}
	return e
}

// decideLocked decides, with a free worker and head as the oldest queued
// call, whether to dispatch now (and why) or else until when to wait.
func (d *Dispatcher[In, Out]) decideLocked(now int64, head *call[In, Out]) (Reason, int64) {
	mbs := d.cfg.MaxBatchSize
	switch {
	case d.stopping:
		return ReasonDrain, 0
	case !d.cfg.Enabled:
		if len(head.items)-head.next >= mbs {
			return ReasonFull, 0
		}
		return ReasonCost, 0
	case d.queued >= mbs:
		return ReasonFull, 0
	}
	q := d.queued
	deadline := head.enq + d.maxLat - d.model.predict(q) - d.slack
	if now >= deadline {
		return ReasonDeadline, 0
	}
	if head.idleArrival && q == len(head.items)-head.next {
		return ReasonCost, 0
	}
	target := d.targetLocked(now)
	if q >= target {
		return ReasonCost, 0
	}
	// Never hold a batch longer than it is expected to run: a busy worker
	// would have made the items wait that long anyway.
	wake := min(deadline, head.enq+d.model.predict(target), d.decayAtLocked(q))
	if now >= wake {
		return ReasonCost, 0
	}
	return "", wake
}

// targetLocked is the smallest batch size n that keeps up with the
// estimated arrival rate λ on all workers at the target utilization u:
// λ·(a·n+b)/n ≤ u·Workers, i.e. n ≥ λ·b/(u·Workers − λ·a). It is 1 with
// no evidence of traffic and MaxBatchSize when no size keeps up.
func (d *Dispatcher[In, Out]) targetLocked(now int64) int {
	mbs := d.cfg.MaxBatchSize
	lam := d.arr.rate(now)
	if lam == 0 {
		return 1
	}
	w := float64(d.cfg.Workers) * targetUtilization
	if math.IsInf(lam, 1) || lam*d.model.a >= w {
		return mbs
	}
	n := math.Ceil(lam * d.model.b / (w - lam*d.model.a))
	switch {
	case n >= float64(mbs):
		return mbs
	case n < 1:
		return 1
	}
	return int(n)
}

// decayAtLocked is when, if no call arrives, the falling rate estimate
// brings the target batch size down to q (see targetLocked).
func (d *Dispatcher[In, Out]) decayAtLocked(q int) int64 {
	per := d.model.b + float64(q)*d.model.a
	if per <= 0 {
		return math.MinInt64
	}
	gap := d.arr.items * per / (float64(q) * float64(d.cfg.Workers) * targetUtilization)
	if gap >= float64(math.MaxInt64/2) {
		return math.MaxInt64
	}
	return d.arr.last + int64(math.Ceil(gap))
}

// takeLocked removes up to MaxBatchSize of the oldest queued items (only
// the oldest call's when batching is disabled) into a new batch.
func (d *Dispatcher[In, Out]) takeLocked(now int64, reason Reason) *batch[In, Out] {
	b := d.getBatch()
	b.reason = reason
	room := d.cfg.MaxBatchSize
	// The items slice is handed to user code, which may keep it or return
	// it as its outputs, so every batch gets a fresh one.
	b.items = make([]In, 0, min(d.queued, room))
	var deadline time.Time
	for room > 0 {
		c := d.headLocked()
		if c == nil {
			break
		}
		if dl, ok := c.ctx.Deadline(); ok && (deadline.IsZero() || dl.Before(deadline)) {
			deadline = dl
		}
		c.running = append(c.running, b)
		b.live++
		k := min(len(c.items)-c.next, room)
		b.parts = append(b.parts, part[In, Out]{c: c, off: c.next, n: k})
		b.items = append(b.items, c.items[c.next:c.next+k]...)
		b.waits = append(b.waits, time.Duration(now-c.enq))
		c.next += k
		d.queued -= k
		room -= k
		if c.next == len(c.items) {
			d.q.pop()
		}
		if !d.cfg.Enabled {
			break
		}
	}
	// The batch's context is not derived from any caller's, nor from a
	// dispatcher context: cancelling it is the dispatcher's job (Stop cut
	// short, every caller gone, the earliest deadline passed), so it costs
	// one cancelCtx and no timer or registration with a parent.
	cctx, cancel := context.WithCancelCause(context.Background())
	b.ctx, b.cancel, b.deadline = cctx, cancel, deadline
	if !deadline.IsZero() {
		b.ctx = &deadlineCtx{Context: cctx, deadline: deadline}
	}
	d.running = append(d.running, b)
	return b
}

// headLocked returns the oldest call with queued items, dropping finished
// (shed, cancelled or failed) calls from the front of the queue.
func (d *Dispatcher[In, Out]) headLocked() *call[In, Out] {
	for d.q.n > 0 {
		c := d.q.front()
		if !c.finished {
			return c
		}
		d.q.pop()
	}
	return nil
}

// finishLocked makes err (nil: success) the call's final result, drops its
// queued items and wakes its caller. Later results for it are ignored.
func (d *Dispatcher[In, Out]) finishLocked(c *call[In, Out], err error) {
	if c.finished {
		return
	}
	c.finished = true
	c.err = err
	if err != nil {
		c.out = nil
	}
	d.queued -= len(c.items) - c.next
	c.next = len(c.items)
	c.done <- struct{}{}
}

// maybeCloseLocked closes the work channel once a stopping dispatcher has
// an empty queue, so that the workers exit after their last batch.
func (d *Dispatcher[In, Out]) maybeCloseLocked() {
	if d.stopping && !d.closed && d.headLocked() == nil {
		d.closed = true
		close(d.work)
		if d.timer != nil {
			d.timer.Stop()
			d.timerSet = false
		}
	}
}

// armLocked makes sure a decision runs at time at (or earlier).
func (d *Dispatcher[In, Out]) armLocked(now, at int64) {
	if d.closed || (d.timerSet && d.timerAt <= at) {
		return
	}
	d.timerAt, d.timerSet = at, true
	dur := time.Duration(max(at-now, 0))
	if d.timer == nil {
		d.timer = time.AfterFunc(dur, d.onTimer)
	} else {
		d.timer.Reset(dur)
	}
}

func (d *Dispatcher[In, Out]) onTimer() {
	d.mu.Lock()
	d.timerSet = false
	shed := d.pumpLocked(d.now())
	d.mu.Unlock()
	if shed > 0 {
		d.obs.Shed(shed)
	}
}

func (d *Dispatcher[In, Out]) worker() {
	for b := range d.work {
		d.runBatch(b)
	}
	d.mu.Lock()
	d.live--
	if d.live == 0 {
		close(d.done)
	}
	d.mu.Unlock()
}

// around calls Config.Around for b. The calls' fields it reads (ctx, enq)
// are set once at Submit and never change.
//
//go:noinline
func (d *Dispatcher[In, Out]) around(b *batch[In, Out]) (context.Context, func(error)) {
	callers := make([]Caller, len(b.parts))
	for i, p := range b.parts {
		callers[i] = Caller{Ctx: p.c.ctx, Enqueued: d.epoch.Add(time.Duration(p.c.enq)), Items: p.n}
	}
	return d.cfg.Around(b.ctx, callers, b.reason)
}

// runBatch executes b, hands each caller its outputs (or the error) and
// then lets the now free worker take the next batch.
func (d *Dispatcher[In, Out]) runBatch(b *batch[In, Out]) {
	n := len(b.items)
	d.obs.Dispatched(n, b.reason, b.waits)
	ctx := b.ctx
	var end func(error)
	if d.cfg.Around != nil {
		ctx, end = d.around(b)
	}
	start := time.Now()
	outs, err := d.safeExec(ctx, b.items)
	took := time.Since(start)
	if end != nil {
		end(err)
	}
	b.cancel(nil)
	ie, perItem := err.(ItemErrors)
	if perItem && outs == nil && len(ie) == n && !slices.Contains(ie, nil) {
		outs = make([]Out, n) // every item failed: no outputs needed
	}
	switch {
	case perItem && len(ie) != n:
		err = fmt.Errorf("%w: ItemErrors has %d entries for a batch of %d items (want one per item, nil where it succeeded)",
			ErrBatchSize, len(ie), n)
	case perItem && len(outs) != n:
		err = fmt.Errorf("%w: %d outputs for %d items (with ItemErrors)", ErrBatchSize, len(outs), n)
	case perItem && !ie.failed():
		err = nil
	case perItem:
	case err != nil:
		err = fmt.Errorf("batching: batch of %d items: %w", n, err)
	case len(outs) != n:
		err = fmt.Errorf("%w: %d outputs for %d items", ErrBatchSize, len(outs), n)
	}
	if _, ok := err.(ItemErrors); !ok {
		ie = nil // the whole batch failed, or none of it
	}
	d.obs.Executed(n, took, err)

	d.mu.Lock()
	if i := slices.Index(d.running, b); i >= 0 {
		d.running = slices.Delete(d.running, i, i+1)
	}
	if err == nil || ie != nil {
		d.model.add(n, took)
	}
	pos := 0
	for _, p := range b.parts {
		c := p.c
		if i := slices.Index(c.running, b); i >= 0 {
			c.running = slices.Delete(c.running, i, i+1)
		}
		var partErrs ItemErrors
		if ie != nil {
			partErrs = ie[pos : pos+p.n]
		}
		switch {
		case c.finished: // shed, cancelled or failed elsewhere: drop
		case ie == nil && err != nil:
			d.finishLocked(c, err)
		case p.n == len(c.items) && !partErrs.failed(): // the whole call: hand out a sub-slice
			c.out = outs[pos : pos+p.n : pos+p.n]
			c.remaining = 0
			d.finishLocked(c, nil)
		default: // one part of a split call, or items of it failed
			if c.out == nil {
				c.out = make([]Out, len(c.items))
			}
			copy(c.out[p.off:], outs[pos:pos+p.n])
			if partErrs.failed() {
				if c.itemErrs == nil {
					c.itemErrs = make([]error, len(c.items))
				}
				copy(c.itemErrs[p.off:], partErrs)
			}
			c.remaining -= p.n
			if c.remaining == 0 {
				if c.itemErrs != nil {
					d.finishLocked(c, ItemErrors(c.itemErrs))
				} else {
					d.finishLocked(c, nil)
				}
			}
		}
		pos += p.n
	}
	// Let the callers just released run before the next batch is chosen:
	// a closed-loop caller resubmits at once, but only if it gets a CPU.
	// When the model keeps every P busy (GOMAXPROCS 1 and a CPU-bound Go
	// model, as in a 1-CPU container), this goroutine would otherwise take
	// the next batch and run the model straight away, the released callers
	// would not run until the queue ran dry, and batches would form from
	// whoever happened to be queued: 0.68 of the ideal throughput and p99
	// latency well past MaxLatency under overload. The worker counts as
	// busy until it is back, so a caller arriving meanwhile queues instead
	// of being dispatched alone (if it found the queue empty it still
	// counts as arriving to an idle dispatcher, so a lone closed-loop
	// caller is dispatched at once). The yield also hands the callers
	// their results now rather than after the next batch. It is only
	// needed when the workers can occupy every P; with a P to spare the
	// callers run there, and the yield would only delay the next batch
	// behind whatever else is runnable here (about 1% of throughput).
	if runtime.GOMAXPROCS(0) <= d.cfg.Workers {
		d.yielding++
		d.mu.Unlock()
		runtime.Gosched()
		d.mu.Lock()
		d.yielding--
	}
	d.idle++
	if i := slices.Index(d.ends, b.end); i >= 0 {
		d.ends = slices.Delete(d.ends, i, i+1)
	}
	shed := d.pumpLocked(d.now())
	d.mu.Unlock()
	d.putBatch(b)
	if shed > 0 {
		d.obs.Shed(shed)
	}
}

// safeExec runs the ExecFunc, turning a panic into a *PanicError.
func (d *Dispatcher[In, Out]) safeExec(ctx context.Context, items []In) (outs []Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return d.exec(ctx, items)
}

func (d *Dispatcher[In, Out]) getCall() *call[In, Out] {
	if c, ok := d.calls.Get().(*call[In, Out]); ok {
		return c
	}
	return &call[In, Out]{done: make(chan struct{}, 1)}
}

// putCall recycles a call whose every part has completed.
func (d *Dispatcher[In, Out]) putCall(c *call[In, Out]) {
	*c = call[In, Out]{done: c.done, running: c.running[:0]}
	d.calls.Put(c)
}

func (d *Dispatcher[In, Out]) getBatch() *batch[In, Out] {
	if b, ok := d.batches.Get().(*batch[In, Out]); ok {
		return b
	}
	return &batch[In, Out]{parts: make([]part[In, Out], 0, 4), waits: make([]time.Duration, 0, 4)}
}

func (d *Dispatcher[In, Out]) putBatch(b *batch[In, Out]) {
	clear(b.parts)
	b.items, b.parts, b.waits = nil, b.parts[:0], b.waits[:0]
	b.ctx, b.cancel, b.deadline, b.live = nil, nil, time.Time{}, 0
	d.batches.Put(b)
}

// deadlineCtx is a batch's context when its callers have deadlines: the
// dispatcher cancels it (with cause context.DeadlineExceeded) when the
// caller with the earliest deadline leaves at that deadline, which spares a
// timer per batch.
type deadlineCtx struct {
	context.Context // the batch's cancelCtx, so that context.Cause works
	deadline        time.Time
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Err reports DeadlineExceeded, as a context whose deadline passed does.
func (c *deadlineCtx) Err() error {
	err := c.Context.Err()
	if err != nil && context.Cause(c.Context) == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return err
}

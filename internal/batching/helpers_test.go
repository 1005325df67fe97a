package batching

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// Special items understood by testModel.exec; real items are >= 0.
const (
	itemBlock = -1 // wait for the model's gate (or ctx), then fail
	itemBoom  = -2 // fail the batch with errBoom
	itemPanic = -3 // panic
	itemShort = -4 // return one output too few
)

var (
	errBoom    = errors.New("boom")
	errBlocked = errors.New("blocked batch released")
)

// testModel is a small deterministic model: each output is 10× its input,
// a batch of n items takes a·n+b (fake time under synctest), and every
// batch is recorded.
type testModel struct {
	a, b time.Duration
	gate chan struct{} // closed or sent to, to release blocked batches

	mu          sync.Mutex
	batches     [][]int
	inFlight    int
	maxInFlight int
}

func newTestModel(a, b time.Duration) *testModel {
	return &testModel{a: a, b: b, gate: make(chan struct{})}
}

func (m *testModel) exec(ctx context.Context, items []int) ([]int, error) {
	m.mu.Lock()
	m.batches = append(m.batches, slices.Clone(items))
	m.inFlight++
	m.maxInFlight = max(m.maxInFlight, m.inFlight)
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.inFlight--
		m.mu.Unlock()
	}()
	out := make([]int, len(items))
	for i, x := range items {
		switch x {
		case itemBlock:
			select {
			case <-m.gate:
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
			return nil, errBlocked
		case itemBoom:
			return nil, errBoom
		case itemPanic:
			panic("model exploded")
		case itemShort:
			return out[:len(out)-1], nil
		}
		out[i] = 10 * x
	}
	if d := m.a*time.Duration(len(items)) + m.b; d > 0 {
		time.Sleep(d)
	}
	return out, nil
}

// release unblocks one blocked batch.
func (m *testModel) release() { m.gate <- struct{}{} }

func (m *testModel) recorded() [][]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.batches)
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu         sync.Mutex
	dispatched []dispatchEvent
	executed   []executeEvent
	shed       int
}

type dispatchEvent struct {
	size   int
	reason Reason
	waits  []time.Duration
}

type executeEvent struct {
	size int
	d    time.Duration
	err  error
}

func (r *recorder) Dispatched(size int, reason Reason, waits []time.Duration) {
	r.mu.Lock()
	r.dispatched = append(r.dispatched, dispatchEvent{size, reason, slices.Clone(waits)})
	r.mu.Unlock()
}

func (r *recorder) Executed(size int, d time.Duration, err error) {
	r.mu.Lock()
	r.executed = append(r.executed, executeEvent{size, d, err})
	r.mu.Unlock()
}

func (r *recorder) Shed(n int) {
	r.mu.Lock()
	r.shed += n
	r.mu.Unlock()
}

func (r *recorder) events() []dispatchEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.dispatched)
}

func (r *recorder) shedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.shed
}

func (r *recorder) sizes() []int {
	var s []int
	for _, e := range r.events() {
		s = append(s, e.size)
	}
	return s
}

func (r *recorder) reasons() []Reason {
	var s []Reason
	for _, e := range r.events() {
		s = append(s, e.reason)
	}
	return s
}

func start(t testing.TB, cfg Config, exec ExecFunc[int, int], obs Observer) *Dispatcher[int, int] {
	t.Helper()
	d, err := New(cfg, exec, obs)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	d.Start()
	return d
}

func stop(t testing.TB, d *Dispatcher[int, int]) {
	t.Helper()
	if err := d.Stop(context.Background()); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

type result struct {
	out []int
	err error
	at  time.Time
}

// submitAsync runs Submit on a new goroutine; the result arrives on the
// returned channel. Under synctest, call synctest.Wait before relying on
// the call having been queued.
func submitAsync(ctx context.Context, d *Dispatcher[int, int], items ...int) <-chan result {
	ch := make(chan result, 1)
	go func() {
		out, err := d.Submit(ctx, items)
		ch <- result{out, err, time.Now()}
	}()
	return ch
}

// ready reports whether a result has arrived, without blocking.
func ready(ch <-chan result) (result, bool) {
	select {
	case r := <-ch:
		return r, true
	default:
		return result{}, false
	}
}

func times10(items ...int) []int {
	out := make([]int, len(items))
	for i, x := range items {
		out[i] = 10 * x
	}
	return out
}

func seq(from, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = from + i
	}
	return s
}

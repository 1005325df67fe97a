package batching

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// gatedExec blocks on gate for item -1; items ≥ 100 fail alone (an
// ItemErrors entry); every other item x gives 10x. It records each batch's
// context.
type gatedExec struct {
	gate chan struct{}
	mu   sync.Mutex
	ctxs []context.Context
	// itemErrs, when set, replaces the ItemErrors the batch returns.
	itemErrs func(n int) ItemErrors
}

func (g *gatedExec) exec(ctx context.Context, items []int) ([]int, error) {
	g.mu.Lock()
	g.ctxs = append(g.ctxs, ctx)
	g.mu.Unlock()
	out := make([]int, len(items))
	errs := make(ItemErrors, len(items))
	for i, x := range items {
		switch {
		case x == -1:
			<-g.gate
		case x >= 100:
			errs[i] = fmt.Errorf("bad %d", x)
		}
		out[i] = 10 * x
	}
	if g.itemErrs != nil {
		ie := g.itemErrs(len(items))
		if len(ie) == len(items) && !slices.Contains(ie, nil) {
			return nil, ie // every item failed: no outputs
		}
		return out, ie
	}
	return out, errs
}

func (g *gatedExec) batchCtx(i int) context.Context {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ctxs[i]
}

// TestItemErrors checks that an ItemErrors fails only the callers of the
// failed items, each with its own items' errors, and that a split call
// collects its errors from every batch it ran in.
func TestItemErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gatedExec{gate: make(chan struct{})}
		d := start(t, cfg4, g.exec, nil)
		defer stop(t, d)
		blocked := submitAsync(context.Background(), d, -1)
		synctest.Wait()
		var chs []<-chan result
		// batches: [1 100 2 103] and [4 5 102 6]
		for _, items := range [][]int{{1}, {100}, {2, 103, 4}, {5, 102}, {6}} {
			chs = append(chs, submitAsync(context.Background(), d, items...))
			synctest.Wait()
		}
		close(g.gate)
		<-blocked
		want := []struct {
			out  []int
			errs []string // "" for nil; nil slice for success
		}{
			{out: []int{10}},
			{errs: []string{"bad 100"}},
			{errs: []string{"", "bad 103", ""}},
			{errs: []string{"", "bad 102"}},
			{out: []int{60}},
		}
		for i, ch := range chs {
			r := <-ch
			w := want[i]
			if w.errs == nil {
				if r.err != nil || !slices.Equal(r.out, w.out) {
					t.Errorf("call %d: %v, %v; want %v", i, r.out, r.err, w.out)
				}
				continue
			}
			var ie ItemErrors
			if !errors.As(r.err, &ie) || len(ie) != len(w.errs) {
				t.Errorf("call %d: err %v, want ItemErrors %q", i, r.err, w.errs)
				continue
			}
			for j, e := range ie {
				if got := fmt.Sprint(e); (e == nil) != (w.errs[j] == "") || e != nil && got != w.errs[j] {
					t.Errorf("call %d item %d: %v, want %q", i, j, e, w.errs[j])
				}
			}
		}
	})
}

func TestItemErrorsWrongLength(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gatedExec{gate: make(chan struct{}), itemErrs: func(n int) ItemErrors {
			if n == 1 {
				return make(ItemErrors, 1) // no failure: a success
			}
			return ItemErrors{errors.New("only one")}
		}}
		close(g.gate)
		d := start(t, cfg4, g.exec, nil)
		defer stop(t, d)
		if out, err := d.Submit(context.Background(), []int{1}); err != nil || !slices.Equal(out, []int{10}) {
			t.Errorf("all-nil ItemErrors: %v, %v", out, err)
		}
		g.itemErrs = func(n int) ItemErrors {
			if n == 3 {
				return ItemErrors{errBoom, errBoom, errBoom}
			}
			return ItemErrors{errors.New("only one")}
		}
		// every item failed: nil outputs are fine
		var ie ItemErrors
		if _, err := d.Submit(context.Background(), []int{1, 2, 3}); !errors.As(err, &ie) || len(ie) != 3 {
			t.Errorf("every item failed: %v", err)
		}
		_, err := d.Submit(context.Background(), []int{1, 2})
		if !errors.Is(err, ErrBatchSize) || !errorsContain(err, "ItemErrors has 1 entries for a batch of 2 items") {
			t.Errorf("wrong-length ItemErrors: %v", err)
		}
	})
}

func errorsContain(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

// TestBatchContext checks that a batch's ctx carries the earliest deadline
// of its callers and is cancelled once every caller has gone.
func TestBatchContext(t *testing.T) {
	t.Run("earliest deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := &gatedExec{gate: make(chan struct{})}
			d := start(t, cfg4, g.exec, nil)
			defer stop(t, d)
			blocked := submitAsync(context.Background(), d, -1)
			synctest.Wait()
			now := time.Now()
			ctx5, cancel5 := context.WithDeadline(context.Background(), now.Add(5*time.Second))
			defer cancel5()
			ctx3, cancel3 := context.WithDeadline(context.Background(), now.Add(3*time.Second))
			defer cancel3()
			var chs []<-chan result
			for _, ctx := range []context.Context{context.Background(), ctx5, ctx3} {
				chs = append(chs, submitAsync(ctx, d, 1))
				synctest.Wait()
			}
			close(g.gate)
			<-blocked
			for _, ch := range chs {
				if r := <-ch; r.err != nil {
					t.Fatal(r.err)
				}
			}
			if _, ok := g.batchCtx(0).Deadline(); ok {
				t.Error("the blocker's batch has a deadline; its caller had none")
			}
			if dl, ok := g.batchCtx(1).Deadline(); !ok || !dl.Equal(now.Add(3*time.Second)) {
				t.Errorf("batch deadline %v (set %v), want %v", dl, ok, now.Add(3*time.Second))
			}
		})
	})
	t.Run("cancelled at the earliest deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			gate := make(chan struct{})
			errs := make(chan error, 1)
			d := start(t, cfg4, func(ctx context.Context, items []int) ([]int, error) {
				if items[0] == -1 {
					<-gate
					return []int{0}, nil
				}
				<-ctx.Done()
				errs <- ctx.Err()
				return nil, context.Cause(ctx)
			}, nil)
			defer stop(t, d)
			blocked := submitAsync(context.Background(), d, -1)
			synctest.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			a := submitAsync(ctx, d, 1)
			synctest.Wait()
			b := submitAsync(context.Background(), d, 2)
			synctest.Wait()
			close(gate) // the next batch is [1 2], with a's deadline
			<-blocked
			start := time.Now()
			if r := <-a; !errors.Is(r.err, context.DeadlineExceeded) {
				t.Errorf("caller with the deadline: %v", r.err)
			}
			if err := <-errs; err != context.DeadlineExceeded {
				t.Errorf("batch ctx.Err() = %v, want DeadlineExceeded", err)
			}
			if waited := time.Since(start); waited != time.Second {
				t.Errorf("batch cancelled after %v, want 1s", waited)
			}
			if r := <-b; !errors.Is(r.err, context.DeadlineExceeded) {
				t.Errorf("the other caller: %v, want the batch's DeadlineExceeded", r.err)
			}
		})
	})
	t.Run("cancelled when every caller has gone", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			gate := make(chan struct{})
			causes := make(chan error, 1)
			d := start(t, cfg4, func(ctx context.Context, items []int) ([]int, error) {
				if items[0] == -1 {
					<-gate
					return []int{0}, nil
				}
				<-ctx.Done()
				causes <- context.Cause(ctx)
				return nil, context.Cause(ctx)
			}, nil)
			defer stop(t, d)
			blocked := submitAsync(context.Background(), d, -1)
			synctest.Wait()
			ctxA, cancelA := context.WithCancel(context.Background())
			ctxB, cancelB := context.WithCancel(context.Background())
			a := submitAsync(ctxA, d, 1, 2)
			synctest.Wait()
			b := submitAsync(ctxB, d, 3)
			synctest.Wait()
			close(gate) // the next batch is [1 2 3]
			<-blocked
			synctest.Wait()
			cancelA()
			synctest.Wait()
			if r := <-a; !errors.Is(r.err, context.Canceled) {
				t.Errorf("first caller: %v", r.err)
			}
			select {
			case err := <-causes:
				t.Fatalf("the batch was cancelled (%v) while a caller was still waiting", err)
			default:
			}
			cancelB()
			synctest.Wait()
			if r := <-b; !errors.Is(r.err, context.Canceled) {
				t.Errorf("second caller: %v", r.err)
			}
			if err := <-causes; !errors.Is(err, ErrCallersGone) {
				t.Errorf("batch ctx cause %v, want ErrCallersGone", err)
			}
			if s := d.Stats(); s.InFlight != 0 {
				t.Errorf("%d batches in flight after every caller left", s.InFlight)
			}
		})
	})
}

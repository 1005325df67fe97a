package modelpool

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

type model struct {
	id     int
	closed *atomic.Int32
	err    error
}

func (m model) Close() error { m.closed.Add(1); return m.err }

func TestAcquireRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var closed atomic.Int32
		p := New([]model{{1, &closed, nil}, {2, &closed, nil}})
		ctx := context.Background()
		a, _ := p.Acquire(ctx)
		b, _ := p.Acquire(ctx)
		if p.Busy() != 2 || a.Index == b.Index {
			t.Fatalf("busy %d, workers %d and %d", p.Busy(), a.Index, b.Index)
		}
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := p.Acquire(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Acquire with every worker busy: %v", err)
		}
		got := make(chan *Worker[model], 1)
		go func() { w, _ := p.Acquire(ctx); got <- w }()
		synctest.Wait()
		p.Release(a)
		if w := <-got; w != a {
			t.Errorf("waiting Acquire got worker %d, want %d", w.Index, a.Index)
		}
		p.Release(a)
		p.Release(b)
		if p.Busy() != 0 {
			t.Errorf("busy %d after every release", p.Busy())
		}
	})
}

// TestStop checks that Stop refuses new Acquires, waits for lent workers
// (or its ctx), closes every model once, and reports close errors.
func TestStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var closed atomic.Int32
		boom := errors.New("close failed")
		p := New([]model{{1, &closed, nil}, {2, &closed, boom}})
		w, _ := p.Acquire(context.Background())
		waiting := make(chan error, 1)
		go func() {
			w2, err := p.Acquire(context.Background()) // the other worker
			if err != nil {
				waiting <- err
				return
			}
			_, err = p.Acquire(context.Background()) // waits until Stop
			p.Release(w2)
			waiting <- err
		}()
		synctest.Wait()
		short, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := p.Stop(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Stop with a worker lent out: %v", err)
		}
		if err := <-waiting; !errors.Is(err, ErrStopped) {
			t.Errorf("Acquire waiting at Stop: %v", err)
		}
		if closed.Load() != 0 {
			t.Fatal("models closed while a worker was lent out")
		}
		if _, err := p.Acquire(context.Background()); !errors.Is(err, ErrStopped) {
			t.Errorf("Acquire after Stop: %v", err)
		}
		p.Release(w)
		if err := p.Stop(context.Background()); !errors.Is(err, boom) {
			t.Errorf("Stop: %v, want the close error", err)
		}
		if err := p.Stop(context.Background()); !errors.Is(err, boom) || closed.Load() != 2 {
			t.Errorf("second Stop: %v, %d closes", err, closed.Load())
		}
	})
}

func TestBuild(t *testing.T) {
	var closed atomic.Int32
	n := 0
	_, err := Build(context.Background(), 3, func() (model, error) {
		n++
		if n == 3 {
			panic("third")
		}
		return model{n, &closed, nil}, nil
	})
	if err == nil || err.Error() != "constructing the model for worker 3: panic: third" {
		t.Errorf("Build: %v", err)
	}
	if closed.Load() != 2 {
		t.Errorf("%d models closed, want the 2 built", closed.Load())
	}
}

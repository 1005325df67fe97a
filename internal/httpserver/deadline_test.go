package httpserver

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

func TestLazyDeadline(t *testing.T) {
	t.Run("err by the clock without Done", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newLazyDeadline(context.Background(), 50*time.Millisecond)
			defer c.release()
			if d, ok := c.Deadline(); !ok || !d.Equal(time.Now().Add(50*time.Millisecond)) {
				t.Fatalf("Deadline %v %v", d, ok)
			}
			if c.Err() != nil {
				t.Fatal("expired early")
			}
			time.Sleep(50 * time.Millisecond)
			if !errors.Is(c.Err(), context.DeadlineExceeded) {
				t.Fatalf("Err %v", c.Err())
			}
			if c.inner.Load() != nil {
				t.Error("Err armed the real context")
			}
		})
	})
	t.Run("done closes at the deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newLazyDeadline(context.Background(), 50*time.Millisecond)
			defer c.release()
			start := time.Now()
			<-c.Done()
			if el := time.Since(start); el != 50*time.Millisecond {
				t.Errorf("Done after %v", el)
			}
			if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(c), context.DeadlineExceeded) {
				t.Errorf("Err %v Cause %v", c.Err(), context.Cause(c))
			}
		})
	})
	t.Run("parent cancellation", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := newLazyDeadline(parent, time.Hour)
		defer c.release()
		cancel()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err before Done: %v", c.Err())
		}
		<-c.Done()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err after Done: %v", c.Err())
		}
	})
	t.Run("derived contexts need no goroutine", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := newLazyDeadline(parent, time.Hour)
		defer c.release()
		before := runtime.NumGoroutine()
		children := make([]context.CancelFunc, 50)
		for i := range children {
			_, children[i] = context.WithCancel(c)
		}
		if n := runtime.NumGoroutine(); n > before+2 {
			t.Errorf("%d goroutines for 50 derived contexts", n-before)
		}
		cancel()
		for _, cc := range children {
			cc()
		}
	})
	t.Run("values come from the parent", func(t *testing.T) {
		type key struct{}
		parent := context.WithValue(context.Background(), key{}, "v")
		c := newLazyDeadline(parent, time.Hour)
		defer c.release()
		if c.Value(key{}) != "v" {
			t.Error("value lost before Done")
		}
		c.Done()
		if c.Value(key{}) != "v" {
			t.Error("value lost after Done")
		}
	})
}

// TestTimeoutTimerClaim: exactly one of the handler and the timer writes,
// whoever comes first, and a timer that never fired is reusable.
func TestTimeoutTimerClaim(t *testing.T) {
	tt := &timeoutTimer{t: time.AfterFunc(time.Hour, func() {})}
	tt.t.Stop()
	if !tt.claim() {
		t.Fatal("first claim refused")
	}
	tt.mu.Unlock()
	if tt.claim() {
		t.Fatal("second claim granted")
	}
	// the lock is free again after a refused claim
	done := make(chan struct{})
	go func() { tt.mu.Lock(); tt.mu.Unlock(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("a refused claim kept the lock")
	}
}

package deadline

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

func TestContext(t *testing.T) {
	t.Run("err by the clock without Done", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := New(context.Background(), 50*time.Millisecond)
			defer c.Release()
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
			c := New(context.Background(), 50*time.Millisecond)
			defer c.Release()
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
	t.Run("an earlier parent deadline wins", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			parent, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			c := New(parent, time.Hour)
			defer c.Release()
			if d, _ := c.Deadline(); !d.Equal(time.Now().Add(20 * time.Millisecond)) {
				t.Fatalf("Deadline %v, want the parent's, 20ms from now", d)
			}
			time.Sleep(20 * time.Millisecond)
			if !errors.Is(c.Err(), context.DeadlineExceeded) {
				t.Fatalf("Err %v at the parent's deadline", c.Err())
			}
			later := New(context.Background(), time.Hour)
			defer later.Release()
			if d, _ := later.Deadline(); !d.Equal(time.Now().Add(time.Hour)) {
				t.Errorf("without a parent deadline: %v", d)
			}
		})
	})
	t.Run("parent cancellation", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := New(parent, time.Hour)
		defer c.Release()
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
		c := New(parent, time.Hour)
		defer c.Release()
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
		c := New(parent, time.Hour)
		defer c.Release()
		if c.Value(key{}) != "v" {
			t.Error("value lost before Done")
		}
		c.Done()
		if c.Value(key{}) != "v" {
			t.Error("value lost after Done")
		}
	})
}

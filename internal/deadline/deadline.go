// Package deadline provides a request context whose deadline machinery is
// built only when someone waits on it.
package deadline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Context is a context with a deadline whose machinery (a channel, a
// timer and a registration with the parent) is only set up when someone
// asks for Done. Most APIs never look at their context, and a
// context.WithTimeout per request costs about 1 µs and four allocations,
// mostly to register with net/http's request context.
//
// Before Done is first called, Err reports the deadline by the clock and
// otherwise the parent's error. After, every method defers to a real
// context.WithDeadline, so derived contexts (context.WithCancel and friends)
// hook into it directly, without a goroutine.
type Context struct {
	parent   context.Context
	deadline time.Time
	once     sync.Once
	inner    atomic.Pointer[context.Context]
	cancel   context.CancelFunc
}

var _ context.Context = (*Context)(nil)

// New returns a context that ends timeout from now or when parent ends.
// Its deadline is the earlier of the two when parent has one (a gRPC
// client's grpc-timeout, say), as with context.WithTimeout. Call
// [Context.Release] when the request is done.
func New(parent context.Context, timeout time.Duration) *Context {
	d := time.Now().Add(timeout)
	if pd, ok := parent.Deadline(); ok && pd.Before(d) {
		d = pd
	}
	return &Context{parent: parent, deadline: d}
}

func (c *Context) init() context.Context {
	c.once.Do(func() {
		inner, cancel := context.WithDeadline(c.parent, c.deadline)
		c.cancel = cancel
		c.inner.Store(&inner)
	})
	return *c.inner.Load()
}

// Deadline returns the request deadline.
func (c *Context) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed at the deadline or when the parent ends.
func (c *Context) Done() <-chan struct{} { return c.init().Done() }

// Err reports why the context ended, or nil.
func (c *Context) Err() error {
	if p := c.inner.Load(); p != nil {
		return (*p).Err()
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value looks key up in the real context once there is one, else in the
// parent.
func (c *Context) Value(key any) any {
	if p := c.inner.Load(); p != nil {
		return (*p).Value(key)
	}
	return c.parent.Value(key)
}

// Release frees the inner context's timer and parent registration, if any.
func (c *Context) Release() {
	if c.inner.Load() != nil {
		c.cancel()
	}
}

package invoke

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/gobento/bento/internal/deadline"
)

// The parts of the request path, shared by [Do] (API calls over HTTP and
// gRPC) and by runner method calls, whose failures are Go errors returned
// to the API function rather than answers: one admission counter, one
// deadline, one panic log.

// Slots is a max_concurrency admission counter. The zero value admits
// everything.
type Slots struct {
	max      int64
	inFlight atomic.Int64
}

// NewSlots returns slots for at most max calls at once (0: no cap).
func NewSlots(max int) *Slots { return &Slots{max: int64(max)} }

// Take takes a slot, or reports false (taking nothing) when all are taken.
// Without a cap it takes nothing and reports true.
func (s *Slots) Take() bool {
	if s.max <= 0 {
		return true
	}
	if s.inFlight.Add(1) > s.max {
		s.inFlight.Add(-1)
		return false
	}
	return true
}

// Release gives back a slot taken by Take.
func (s *Slots) Release() {
	if s.max > 0 {
		s.inFlight.Add(-1)
	}
}

// Capped reports whether the slots have a cap (so that Take and Release
// count).
func (s *Slots) Capped() bool { return s.max > 0 }

// Deadline bounds ctx by timeout (0: ctx as it is, and a no-op release).
// The context is allocated lazily; release it when the call is done.
func Deadline(ctx context.Context, timeout time.Duration) (context.Context, func()) {
	if timeout <= 0 {
		return ctx, func() {}
	}
	dl := deadline.New(ctx, timeout)
	return dl, dl.Release
}

// LogPanic logs a panic recovered from user code (v), with its stack and
// what identifies the call (attrs: "api" or "runner", request id, ...), at
// Error level, and returns it as an error for whoever reports it.
func LogPanic(log *slog.Logger, where string, v any, attrs ...any) error {
	log.Error("panic in "+where, append(attrs, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))...)
	return fmt.Errorf("panic: %v", v)
}

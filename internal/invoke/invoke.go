// Package invoke is gobento's one request path: the policy every API call
// goes through, whatever transport it came in on. The HTTP and gRPC servers
// are adapters around [Do]: they read the request and write the answer;
// admission, the deadline, panic recovery, error classification and the
// logging of server faults happen here, once.
//
// # Order
//
//  1. Admission: a call takes a max_concurrency slot or is refused (429,
//     RESOURCE_EXHAUSTED). A transport calls [Do] only once the request is
//     in memory, and the slot is given back as soon as the API returns,
//     before the answer is written: neither a slow upload nor a client that
//     does not read its answer holds a slot.
//  2. Deadline: the API's context ends at traffic.timeout (504,
//     DEADLINE_EXCEEDED), or earlier with the caller's own deadline.
//  3. The API runs on the caller's goroutine. A panic is recovered, logged
//     with its stack and answered 500 with a generic message.
//  4. An error is classified by errs.Classify; an error returned after the
//     API's deadline passed (the client still waiting) is a 504, whatever
//     it says; 5xx are logged at Error level, others at Debug.
//
// # Cost
//
// A call that succeeds allocates nothing here (the deadline context is
// allocated only when a timeout is configured). Failures may allocate.
package invoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc/status"

	"github.com/gobento/bento/internal/deadline"
	"github.com/gobento/bento/internal/errs"
)

// Options configures [New]. Every field works at its zero value.
type Options struct {
	// MaxConcurrency caps calls in flight (429 beyond); 0 means no cap.
	MaxConcurrency int
	// Timeout bounds each call (504 after it); 0 means none.
	Timeout time.Duration
	// Log receives server faults; nil means slog.Default().
	Log *slog.Logger
	// Abort is a panic value [Do] does not recover but passes on, after
	// giving the slot back (net/http's ErrAbortHandler); nil means none.
	Abort error
}

// Path is the request path of one server. It is safe for concurrent use.
type Path struct {
	slots   *Slots // max_concurrency
	timeout time.Duration
	log     *slog.Logger
	abort   error
	expired *Failure // the 504 of a call past its deadline; read-only
}

// New returns the request path o describes.
func New(o Options) *Path {
	p := &Path{slots: NewSlots(o.MaxConcurrency), timeout: o.Timeout, log: o.Log, abort: o.Abort}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.expired = &Failure{Status: http.StatusGatewayTimeout, Type: errs.TypeTimeout,
		Msg: "Not able to process the request in time"}
	if o.Timeout > 0 {
		p.expired.Msg = fmt.Sprintf("Not able to process the request in %v", o.Timeout)
	}
	return p
}

// Failure is what a client is told about a call that failed.
type Failure struct {
	Status int    // HTTP status; errs.StatusClientClosed when nobody is there to tell
	Type   string // the "type" of the JSON error body
	Msg    string // the "msg" of the JSON error body, safe to show
	grpc   error  // the API's error when it carries its own gRPC status
}

// GRPCError is f as the error a gRPC handler returns: the API's own error
// when it carries a gRPC status (grpc-go sends that status), else a status
// with the code the status table maps Status to, and Msg.
func (f *Failure) GRPCError() error {
	if f.grpc != nil {
		return f.grpc
	}
	return status.Error(errs.GRPCCode(f.Status), f.Msg)
}

// The failures of every call refused or panicking; read-only.
var (
	// TooMany refuses a call over max_concurrency.
	TooMany = &Failure{Status: http.StatusTooManyRequests, Type: errs.TypeTooManyRequests, Msg: "Too many requests"}
	// Panicked answers a call whose API panicked.
	Panicked = &Failure{Status: http.StatusInternalServerError, Type: errs.TypeInternal, Msg: errs.GenericInternal}
)

// Expired is the 504 a transport answers when a call outlives its deadline
// and the transport answers before the API returns (the HTTP server's
// timer does). It is shared: do not modify it.
func (p *Path) Expired() *Failure { return p.expired }

// Timeout is Options.Timeout.
func (p *Path) Timeout() time.Duration { return p.timeout }

// Watcher is told the API's context of a call with a deadline, just before
// the API runs: the HTTP server arms its 504 timer there, so that an API
// that ignores its context still gets its 504 at the deadline.
type Watcher interface {
	Watch(ctx context.Context)
}

// Call is one API call as a transport hands it to [Do].
type Call[In, Out any] struct {
	API   string // the API's name, for the log
	ID    string // the request id, for the log; "" means none
	In    In
	Run   func(ctx context.Context, in In) (Out, error)
	Watch Watcher // nil means none
}

// Do runs one call through the request path (see the package doc) with
// parent, the request's own context, and returns the API's result, or the
// failure to answer (nil on success; shared values must not be modified).
//
// Do is one frame under the API (the slot, the recovery and the deadline
// live here, not in helpers): user code runs on top of the transport's
// stack, and a connection goroutine whose stack was shrunk between
// requests pays for a copy whenever a request needs more.
func Do[In, Out any](p *Path, parent context.Context, c *Call[In, Out]) (out Out, f *Failure) {
	if !p.slots.Take() {
		return out, TooMany
	}
	held := p.slots.Capped()
	defer func() {
		if held {
			p.slots.Release() // the API panicked
		}
		if v := recover(); v != nil {
			if p.abort != nil && v == any(p.abort) {
				panic(v)
			}
			p.logPanic(c.API, c.ID, v)
			var zero Out
			out, f = zero, Panicked
		}
	}()
	ctx := parent
	if p.timeout > 0 {
		dl := deadline.New(parent, p.timeout)
		defer dl.Release()
		ctx = dl
		if c.Watch != nil {
			c.Watch.Watch(dl)
		}
	}
	out, err := c.Run(ctx, c.In)
	if held {
		p.slots.Release() // back as soon as the API returns
		held = false
	}
	if err != nil {
		f = p.fail(ctx, parent, c.API, c.ID, err)
	}
	return out, f
}

func (p *Path) logPanic(api, id string, v any) {
	attrs := []any{"api", api}
	if id != "" {
		attrs = append(attrs, "request_id", id)
	}
	LogPanic(p.log, "API", v, attrs...)
}

// fail classifies and logs an API's error; ctx is the API's context,
// parent the request's.
func (p *Path) fail(ctx, parent context.Context, api, id string, err error) *Failure {
	var f *Failure
	node := errs.Find(err)
	// Past its deadline, with the client still there, a call is a 504
	// whatever it returned: the error is most likely the deadline's
	// consequence, and the HTTP timer answers 504 then too.
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(parent.Err(), context.Canceled) {
		f = p.expired
	} else {
		f = new(Failure)
		if _, ok := node.(errs.GRPCStatuser); ok {
			f.grpc = err // grpc-go finds the status in the chain
		}
		f.Status, f.Type, f.Msg = errs.Classify(err)
		if node == nil && f.Status == http.StatusGatewayTimeout {
			f.Msg = p.expired.Msg // a context's deadline: say which
		}
	}
	if f.Status >= 500 {
		p.logError(slog.LevelError, api, id, f.Status, err)
	} else if p.log.Enabled(ctx, slog.LevelDebug) {
		p.logError(slog.LevelDebug, api, id, f.Status, err)
	}
	return f
}

func (p *Path) logError(level slog.Level, api, id string, status int, err error) {
	attrs := []any{"api", api, "status", status, "error", err.Error()}
	if id != "" {
		attrs = append(attrs, "request_id", id)
	}
	p.log.Log(context.Background(), level, "API error", attrs...)
}

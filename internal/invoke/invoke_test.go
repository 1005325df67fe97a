package invoke

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gobento/bento/internal/errs"
)

// forbidden is a user error type that chooses its status.
type forbidden struct{}

func (forbidden) Error() string   { return "not yours" }
func (forbidden) HTTPStatus() int { return http.StatusForbidden }

var errAbort = errors.New("abort")

func newPath(o Options) (*Path, *bytes.Buffer) {
	var log bytes.Buffer
	o.Log = slog.New(slog.NewTextHandler(&log, nil))
	o.Abort = errAbort
	return New(o), &log
}

func call(fn func(ctx context.Context, in string) (string, error)) *Call[string, string] {
	return &Call[string, string]{API: "api", ID: "id-1", In: "in", Run: fn}
}

func TestDo(t *testing.T) {
	cases := []struct {
		name    string
		timeout time.Duration
		client  func(context.Context) (context.Context, context.CancelFunc)
		fn      func(ctx context.Context, in string) (string, error)
		want    Failure
		code    codes.Code // over gRPC
		log     []string   // substrings of the log; nil means nothing logged
	}{
		{name: "ok", fn: func(_ context.Context, in string) (string, error) { return in + "!", nil }},
		{name: "bad input", fn: func(context.Context, string) (string, error) { return "", forbidden{} },
			want: Failure{Status: 403, Type: errs.TypeBadInput, Msg: "not yours"}, code: codes.PermissionDenied},
		{name: "plain error", fn: func(context.Context, string) (string, error) { return "", errors.New("db down") },
			want: Failure{Status: 500, Type: errs.TypeInternal, Msg: errs.GenericInternal}, code: codes.Internal,
			log: []string{"API error", "api=api", "status=500", `error="db down"`, "request_id=id-1"}},
		{name: "panic", fn: func(context.Context, string) (string, error) { panic("boom") },
			want: *Panicked, code: codes.Internal,
			log: []string{"panic in API", "panic=boom", "request_id=id-1", "stack=", "invoke_test.go"}},
		{name: "grpc status", fn: func(context.Context, string) (string, error) {
			return "", status.Error(codes.NotFound, "no item 7")
		}, want: Failure{Status: 404, Type: errs.TypeNotFound, Msg: "no item 7"}, code: codes.NotFound},
		{name: "deadline", timeout: 50 * time.Millisecond, fn: func(ctx context.Context, _ string) (string, error) {
			<-ctx.Done()
			return "", fmt.Errorf("model: %w", ctx.Err())
		}, want: Failure{Status: 504, Type: errs.TypeTimeout, Msg: "Not able to process the request in 50ms"},
			code: codes.DeadlineExceeded, log: []string{"status=504"}},
		{name: "error past the deadline", timeout: 50 * time.Millisecond, fn: func(context.Context, string) (string, error) {
			time.Sleep(60 * time.Millisecond)
			return "", forbidden{}
		}, want: Failure{Status: 504, Type: errs.TypeTimeout, Msg: "Not able to process the request in 50ms"},
			code: codes.DeadlineExceeded, log: []string{"status=504"}},
		{name: "client gone", timeout: time.Second, client: context.WithCancel,
			fn:   func(ctx context.Context, _ string) (string, error) { <-ctx.Done(); return "", ctx.Err() },
			want: Failure{Status: 499, Type: errs.TypeClientClosedRequest, Msg: "Request cancelled"}, code: codes.Canceled},
		{name: "caller's deadline", timeout: time.Second,
			client: func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(ctx, 10*time.Millisecond)
			},
			fn:   func(ctx context.Context, _ string) (string, error) { <-ctx.Done(); return "", ctx.Err() },
			want: Failure{Status: 504, Type: errs.TypeTimeout, Msg: "Not able to process the request in 1s"},
			code: codes.DeadlineExceeded, log: []string{"status=504"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, log := newPath(Options{Timeout: tc.timeout, MaxConcurrency: 1})
				ctx := context.Background()
				if tc.client != nil {
					var cancel context.CancelFunc
					ctx, cancel = tc.client(ctx)
					defer cancel()
					if tc.timeout == time.Second && tc.want.Status == 499 {
						go func() { time.Sleep(10 * time.Millisecond); cancel() }()
					}
				}
				out, f := Do(p, ctx, call(tc.fn))
				if f == nil {
					f = &Failure{}
				}
				if f.Status != tc.want.Status || f.Type != tc.want.Type || f.Msg != tc.want.Msg {
					t.Fatalf("failure %+v, want %+v", f, tc.want)
				}
				if f.Status == 0 && out != "in!" {
					t.Fatalf("out %q", out)
				}
				if f.Status != 0 {
					if got := status.Code(f.GRPCError()); got != tc.code {
						t.Errorf("gRPC code %v, want %v", got, tc.code)
					}
				}
				for _, s := range tc.log {
					if !strings.Contains(log.String(), s) {
						t.Errorf("log lacks %q:\n%s", s, log)
					}
				}
				if tc.log == nil && log.Len() > 0 {
					t.Errorf("logged:\n%s", log)
				}
				if n := p.slots.inFlight.Load(); n != 0 {
					t.Errorf("%d slots still held", n)
				}
			})
		})
	}
}

// TestDoGRPCStatusPassesThrough: an error carrying its own gRPC status is
// sent as it is, details and all.
func TestDoGRPCStatusPassesThrough(t *testing.T) {
	p, _ := newPath(Options{})
	st, _ := status.New(codes.FailedPrecondition, "warming up").WithDetails()
	want := fmt.Errorf("model: %w", st.Err())
	_, f := Do(p, context.Background(), call(func(context.Context, string) (string, error) { return "", want }))
	if f.GRPCError() != want {
		t.Fatalf("GRPCError %v, want the API's own error", f.GRPCError())
	}
	if f.Status != 422 {
		t.Fatalf("HTTP status %d, want 422", f.Status)
	}
}

// TestDoAdmission: a call over MaxConcurrency is refused with 429, and the
// slot comes back when the API returns, panics or aborts.
func TestDoAdmission(t *testing.T) {
	p, _ := newPath(Options{MaxConcurrency: 1})
	in, release := make(chan struct{}), make(chan struct{})
	done := make(chan *Failure)
	go func() {
		_, f := Do(p, context.Background(), call(func(context.Context, string) (string, error) {
			close(in)
			<-release
			return "", nil
		}))
		done <- f
	}()
	<-in
	if _, f := Do(p, context.Background(), call(func(context.Context, string) (string, error) {
		t.Error("admitted over max_concurrency")
		return "", nil
	})); f != TooMany {
		t.Fatalf("second call: %+v, want TooMany", f)
	}
	close(release)
	if f := <-done; f != nil {
		t.Fatalf("first call: %+v", f)
	}
	for _, fn := range []func(context.Context, string) (string, error){
		func(context.Context, string) (string, error) { panic("boom") },
		func(context.Context, string) (string, error) { panic(errAbort) },
		func(context.Context, string) (string, error) { return "", nil },
	} {
		func() {
			defer func() {
				if v := recover(); v != nil && v != any(errAbort) {
					t.Fatalf("panic %v passed on", v)
				}
			}()
			Do(p, context.Background(), call(fn))
		}()
		if n := p.slots.inFlight.Load(); n != 0 {
			t.Fatalf("%d slots held after a call", n)
		}
	}
}

// TestDoWatch: the watcher sees the API's context, with its deadline,
// before the API runs; without a timeout there is nothing to watch.
func TestDoWatch(t *testing.T) {
	for _, timeout := range []time.Duration{0, time.Second} {
		p, _ := newPath(Options{Timeout: timeout})
		w := &watcher{}
		c := call(func(ctx context.Context, _ string) (string, error) {
			if timeout > 0 && w.ctx != ctx {
				t.Error("API runs with another context than the watched one")
			}
			return "", nil
		})
		c.Watch = w
		Do(p, context.Background(), c)
		if _, ok := w.deadline(); ok != (timeout > 0) {
			t.Errorf("timeout %v: watched a deadline: %v", timeout, ok)
		}
	}
}

type watcher struct{ ctx context.Context }

func (w *watcher) Watch(ctx context.Context) { w.ctx = ctx }

func (w *watcher) deadline() (time.Time, bool) {
	if w.ctx == nil {
		return time.Time{}, false
	}
	return w.ctx.Deadline()
}

// BenchmarkDo is the policy's own cost per successful call.
func BenchmarkDo(b *testing.B) {
	for _, o := range []Options{{}, {MaxConcurrency: 10, Timeout: time.Second}} {
		b.Run(fmt.Sprintf("max=%d,timeout=%v", o.MaxConcurrency, o.Timeout), func(b *testing.B) {
			p := New(o)
			c := call(func(_ context.Context, in string) (string, error) { return in, nil })
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				Do(p, ctx, c)
			}
		})
	}
}

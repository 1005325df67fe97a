// Package accesslog writes one structured log line per HTTP request, as
// BentoML's access log middleware does (api_server.logging.access), and,
// with [UnaryInterceptor], one per gRPC call.
//
// Each line is an Info record with the message "access" and the attributes
// remote, method, path, scheme, status, duration_ms and request_id (the
// X-BentoML-Request-ID the server answered with), plus the optional
// request_content_length, request_content_type, response_content_length
// and response_content_type that [Options] switches on.
//
// # Performance
//
// When the logger is not enabled for Info, a request costs one call to
// Enabled. Otherwise it costs a small response-writer wrapper (pooled) and
// one LogAttrs call; see BENCHMARKS.md for the measured cost.
package accesslog

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gobento/bento/internal/respwriter"
)

// Options configures [New]. The zero value logs the always-present fields
// only.
type Options struct {
	// Log receives the records; nil means slog.Default().
	Log *slog.Logger
	// RequestIDHeader is the response header holding the request id.
	RequestIDHeader string
	// Skip, if set, reports requests that are not logged (BentoML does not
	// log /metrics, which its metrics middleware answers before the access
	// log sees it).
	Skip func(*http.Request) bool

	RequestContentLength  bool
	RequestContentType    bool
	ResponseContentLength bool
	ResponseContentType   bool
}

type logger struct {
	next http.Handler
	o    Options
	log  *slog.Logger
}

// New returns next wrapped in the access log.
func New(next http.Handler, o Options) http.Handler {
	l := &logger{next: next, o: o, log: o.Log}
	if l.log == nil {
		l.log = slog.Default()
	}
	return l
}

var recorders = sync.Pool{New: func() any { return new(respwriter.Recorder) }}

func (l *logger) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !l.log.Enabled(ctx, slog.LevelInfo) || l.o.Skip != nil && l.o.Skip(r) {
		l.next.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	rec := recorders.Get().(*respwriter.Recorder)
	rec.Reset(w)
	defer func() {
		l.write(ctx, r, rec, start)
		rec.Reset(nil)
		recorders.Put(rec)
	}()
	l.next.ServeHTTP(rec, r)
}

func (l *logger) write(ctx context.Context, r *http.Request, rec *respwriter.Recorder, start time.Time) {
	status := rec.Status()
	if status == 0 {
		status = http.StatusOK
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	h := rec.ResponseWriter.Header()
	var buf [12]slog.Attr
	attrs := append(buf[:0],
		slog.String("remote", r.RemoteAddr),
		slog.String("scheme", scheme),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
	)
	if l.o.RequestContentLength {
		attrs = append(attrs, slog.Int64("request_content_length", max(r.ContentLength, 0)))
	}
	if l.o.RequestContentType {
		attrs = append(attrs, slog.String("request_content_type", r.Header.Get("Content-Type")))
	}
	attrs = append(attrs, slog.Int("status", status))
	if l.o.ResponseContentLength {
		attrs = append(attrs, slog.Int64("response_content_length", rec.Written()))
	}
	if l.o.ResponseContentType {
		attrs = append(attrs, slog.String("response_content_type", h.Get("Content-Type")))
	}
	attrs = append(attrs,
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("request_id", h.Get(l.o.RequestIDHeader)),
	)
	l.log.LogAttrs(ctx, slog.LevelInfo, "access", attrs...)
}

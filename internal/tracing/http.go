package tracing

import (
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/gobento/bento/internal/respwriter"
)

// HTTP wraps next so that every request makes a server span (unless its
// path is excluded): the W3C traceparent and baggage of the request are
// continued, the span is named after the method and the route, and its
// status follows the response code. routes lists the declared API routes;
// any other path is named by the fixed paths gobento serves (/metrics,
// /livez...) or "<unmatched>", so that span names stay a bounded set.
// With tracing off, next is returned as it is.
func (t *Tracing) HTTP(next http.Handler, routes []string) http.Handler {
	if !t.On() {
		return next
	}
	names := make(map[string]struct{}, len(routes)+8)
	for _, r := range routes {
		names[r] = struct{}{}
	}
	for _, r := range []string{"/metrics", "/livez", "/healthz", "/readyz", "/docs.json", "/docs", "/", "/dashboard"} {
		names[r] = struct{}{}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if t.Excluded(path) {
			next.ServeHTTP(w, r)
			return
		}
		route := path
		if _, ok := names[path]; !ok {
			route = "<unmatched>"
		}
		ctx := t.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, r.Method+" "+route, serverKind)
		if span.IsRecording() {
			span.SetAttributes(
				semconv.HTTPRequestMethodKey.String(r.Method),
				semconv.URLPath(path),
				semconv.HTTPRoute(route),
				semconv.URLScheme(scheme(r)),
				semconv.NetworkPeerAddress(r.RemoteAddr),
				semconv.UserAgentOriginal(r.UserAgent()),
			)
		}
		rec := &respwriter.Recorder{ResponseWriter: w}
		defer func() {
			p := recover()
			code := rec.Status()
			if p == http.ErrAbortHandler {
				code = 499 // the client went away, or was cut off
			} else if code == 0 {
				code = http.StatusOK
			}
			span.SetAttributes(semconv.HTTPResponseStatusCode(code))
			if code >= 500 || code == 499 {
				span.SetStatus(codes.Error, strconv.Itoa(code))
			}
			span.End()
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// serverKind is made once: a span start option allocates.
var serverKind = trace.WithSpanKind(trace.SpanKindServer)

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

package tracing

import (
	"net/http"
	"net/textproto"
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
	// Span names are made once per route and method, not per request.
	names := make(map[string]*spanNames, len(routes)+8)
	for _, r := range append(append([]string(nil), routes...), "/metrics", "/livez", "/healthz", "/readyz", "/docs.json", "/docs", "/", "/dashboard") {
		names[r] = newSpanNames(r)
	}
	unmatched := newSpanNames("<unmatched>")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if t.Excluded(path) {
			next.ServeHTTP(w, r)
			return
		}
		n, ok := names[path]
		if !ok {
			n = unmatched
		}
		route := n.route
		ctx := t.propagator.Extract(r.Context(), headerCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, n.name(r.Method), serverKind)
		if s, ok := span.(*tspan); ok {
			// Called on the concrete type, the attributes stay on the stack.
			s.SetAttributes(
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

// spanNames are the server span names of one route.
type spanNames struct {
	route, get, post string
}

func newSpanNames(route string) *spanNames {
	return &spanNames{route: route, get: "GET " + route, post: "POST " + route}
}

func (n *spanNames) name(method string) string {
	switch method {
	case http.MethodPost:
		return n.post
	case http.MethodGet:
		return n.get
	}
	return method + " " + n.route
}

// headerCarrier reads and writes W3C trace context in HTTP headers as
// propagation.HeaderCarrier does, without canonicalizing the propagators'
// own keys on every request (an allocation each).
type headerCarrier http.Header

var _ propagation.TextMapCarrier = headerCarrier(nil)

func canonicalKey(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	case "baggage":
		return "Baggage"
	}
	return textproto.CanonicalMIMEHeaderKey(key)
}

func (h headerCarrier) Get(key string) string {
	if v := h[canonicalKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h headerCarrier) Values(key string) []string { return h[canonicalKey(key)] }

func (h headerCarrier) Set(key, value string) { h[canonicalKey(key)] = []string{value} }

func (h headerCarrier) Keys() []string { return propagation.HeaderCarrier(h).Keys() }

// serverKind is made once: a span start option allocates.
var serverKind = trace.WithSpanKind(trace.SpanKindServer)

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

package tracing

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// scope names the tracer of spans started from a request's span provider.
const scope = "github.com/gobento/bento"

// Phase records a finished step of a sampled request (decoding its input,
// encoding its output) as a child span of ctx's, from start to end. It
// does nothing when ctx carries no sampled span.
func Phase(ctx context.Context, name string, start, end time.Time) {
	sp := trace.SpanFromContext(ctx)
	if !sp.SpanContext().IsSampled() {
		return
	}
	if p, ok := sp.(*span); ok {
		p.tracer.finished(p.sc, name, start, end)
		return
	}
	_, s := sp.TracerProvider().Tracer(scope).Start(ctx, name, trace.WithTimestamp(start))
	s.End(trace.WithTimestamp(end))
}

// Step starts a child span of ctx's sampled span (the API function, under
// which its runner calls go) and returns its ctx and the function that ends
// it with the step's error; without a sampled span, ctx and a no-op.
func Step(ctx context.Context, name string) (context.Context, func(error)) {
	sp := trace.SpanFromContext(ctx)
	if !sp.SpanContext().IsSampled() {
		return ctx, func(error) {}
	}
	ctx, s := sp.TracerProvider().Tracer(scope).Start(ctx, name)
	return ctx, func(err error) { endWith(s, err) }
}

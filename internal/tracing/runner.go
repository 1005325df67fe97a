package tracing

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gobento/bento/internal/batching"
)

// Span attributes of runner calls and batches.
const (
	RunnerKey      = attribute.Key("bentoml.runner")
	MethodKey      = attribute.Key("bentoml.runner.method")
	ItemsKey       = attribute.Key("bentoml.batch.items")
	BatchSizeKey   = attribute.Key("bentoml.batch.size")
	BatchReasonKey = attribute.Key("bentoml.batch.dispatch_reason")
	CallersKey     = attribute.Key("bentoml.batch.callers")
)

// RunnerCall starts the span of one call of a runner method ("runner
// iris_clf.classify"), a child of the request's span; end it with the
// call's error. It returns ctx and a no-op when ctx carries no sampled
// span: a runner call starts no trace of its own.
func (t *Tracing) RunnerCall(ctx context.Context, runner, method string, items int) (context.Context, func(error)) {
	if !trace.SpanContextFromContext(ctx).IsSampled() {
		return ctx, func(error) {}
	}
	ctx, span := t.tracer.Start(ctx, "runner "+runner+"."+method, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(RunnerKey.String(runner), MethodKey.String(method), ItemsKey.Int(items)))
	return ctx, func(err error) { endWith(span, err) }
}

func endWith(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// BatchAround is the batching.Config.Around of a batchable method with
// tracing on. For each dispatched batch with at least one sampled caller it
// makes:
//
//   - a batch span ("batch iris_clf.classify"), linked to the span of every
//     caller in it (their runner-call spans), with the batch size, the
//     dispatch reason and the number of callers; it is a child of the first
//     sampled caller's span, so that sampling keeps it, and it is the span
//     in the ctx the batch function gets;
//   - for each sampled caller, a queue span ("queue iris_clf.classify")
//     under its call, from its submission to the dispatch, linked to the
//     batch span: from any one slow request, the batch it waited for, and
//     from the batch, every request it served.
func (t *Tracing) BatchAround(runner, method string) func(context.Context, []batching.Caller, batching.Reason) (context.Context, func(error)) {
	batchName, queueName := "batch "+runner+"."+method, "queue "+runner+"."+method
	return func(ctx context.Context, callers []batching.Caller, reason batching.Reason) (context.Context, func(error)) {
		var parent trace.SpanContext
		links := make([]trace.Link, 0, len(callers))
		size := 0
		for _, c := range callers {
			size += c.Items
			sc := trace.SpanContextFromContext(c.Ctx)
			if !sc.IsValid() {
				continue
			}
			links = append(links, trace.Link{SpanContext: sc})
			if !parent.IsValid() && sc.IsSampled() {
				parent = sc
			}
		}
		if !parent.IsValid() {
			return ctx, nil // no sampled caller: no batch span
		}
		now := time.Now()
		bctx, span := t.tracer.Start(trace.ContextWithSpanContext(ctx, parent), batchName,
			trace.WithSpanKind(trace.SpanKindInternal), trace.WithTimestamp(now), trace.WithLinks(links...),
			trace.WithAttributes(RunnerKey.String(runner), MethodKey.String(method), BatchSizeKey.Int(size),
				BatchReasonKey.String(string(reason)), CallersKey.Int(len(callers))))
		toBatch := trace.WithLinks(trace.Link{SpanContext: span.SpanContext()})
		for _, c := range callers {
			if !trace.SpanContextFromContext(c.Ctx).IsSampled() {
				continue
			}
			_, q := t.tracer.Start(c.Ctx, queueName, trace.WithSpanKind(trace.SpanKindInternal),
				trace.WithTimestamp(c.Enqueued), toBatch, trace.WithAttributes(ItemsKey.Int(c.Items)))
			q.End(trace.WithTimestamp(now))
		}
		return bctx, func(err error) { endWith(span, err) }
	}
}

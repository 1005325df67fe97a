package tracing

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// The spans of a server are recorded by a tracer of this package rather
// than the OpenTelemetry SDK's: the SDK makes a span, then a snapshot of it
// at End for its processors, and costs about 3 µs and 1.6 KB per span in a
// busy server, which at four spans a request is several times the
// request's own cost. A span here is one allocation that is also the
// finished, read-only span the SDK's exporters take (it implements
// sdktrace.ReadOnlySpan), so ending it only appends it to the export queue.
// Sampling is the SDK's sampler, export the SDK's exporters (or the Zipkin
// one of this package), propagation and the span API OpenTelemetry's.

// provider is the trace.TracerProvider of a server's spans: every tracer
// it hands out is the one tracer of the server.
type provider struct {
	embedded.TracerProvider
	t *tracer
}

func (p *provider) Tracer(string, ...trace.TracerOption) trace.Tracer { return p.t }

// tracer starts spans, samples them with the SDK's sampler and queues the
// ended ones for export.
type tracer struct {
	embedded.Tracer
	provider *provider
	sampler  sdktrace.Sampler // parent-based: Start answers for sampled local parents itself
	queue    *queue
	resource *resource.Resource
	scope    instrumentation.Scope
	// valueLimit is the most characters an attribute's string value keeps
	// (tracing.max_tag_value_length); negative: no limit.
	valueLimit int
}

func newTracer(sampler sdktrace.Sampler, q *queue, res *resource.Resource, valueLimit int) *tracer {
	t := &tracer{sampler: sampler, queue: q, resource: res, scope: instrumentation.Scope{Name: scope}, valueLimit: valueLimit}
	t.provider = &provider{t: t}
	return t
}

// maxAttributes bounds the attributes of one span (the SDK's default limit
// too); the attributes past it are counted as dropped.
const maxAttributes = 128

// Start implements trace.Tracer.
func (t *tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	parent := trace.SpanContextFromContext(ctx)
	if cfg.NewRoot() {
		parent = trace.SpanContext{}
		ctx = trace.ContextWithSpanContext(ctx, parent)
	}
	var tid trace.TraceID
	if parent.TraceID().IsValid() {
		tid = parent.TraceID()
	} else {
		tid = newTraceID()
	}
	var res sdktrace.SamplingResult
	if parent.IsSampled() && !parent.IsRemote() {
		// The parent-based sampler's answer for a sampled local parent,
		// without asking it: most spans of a request are such children.
		res = sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: parent.TraceState()}
	} else {
		res = t.sampler.ShouldSample(sdktrace.SamplingParameters{
			ParentContext: ctx, TraceID: tid, Name: name, Kind: cfg.SpanKind(),
			Attributes: cfg.Attributes(), Links: cfg.Links(),
		})
	}
	scc := trace.SpanContextConfig{TraceID: tid, SpanID: newSpanID(), TraceState: res.Tracestate}
	if res.Decision == sdktrace.RecordAndSample {
		scc.TraceFlags = parent.TraceFlags() | trace.FlagsSampled
	} else {
		scc.TraceFlags = parent.TraceFlags() &^ trace.FlagsSampled
	}
	sc := trace.NewSpanContext(scc)
	if res.Decision == sdktrace.Drop {
		return trace.ContextWithSpanContext(ctx, sc), nonRecording{sc: sc, p: t.provider}
	}
	s := &span{tracer: t, sc: sc, parent: parent, name: name, kind: cfg.SpanKind(), start: cfg.Timestamp()}
	if s.kind == trace.SpanKindUnspecified {
		s.kind = trace.SpanKindInternal
	}
	if s.start.IsZero() {
		s.start = time.Now()
	}
	s.addAttributes(cfg.Attributes())
	s.addAttributes(res.Attributes)
	if links := cfg.Links(); len(links) > 0 {
		s.links = make([]sdktrace.Link, 0, len(links))
		for _, l := range links {
			s.addLink(l)
		}
	}
	return trace.ContextWithSpan(ctx, s), s
}

// tspan is span under a name that does not clash with the span variables
// of callers.
type tspan = span

// finished queues a span that has already ended, a sampled child of
// parent with no attributes: a step of a request timed by its caller. It
// is what Start and End make for such a step, without the options and the
// context they need.
func (t *tracer) finished(parent trace.SpanContext, name string, start, end time.Time) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: parent.TraceID(), SpanID: newSpanID(), TraceFlags: parent.TraceFlags(), TraceState: parent.TraceState(),
	})
	s := stepSpans.Get().(*span)
	s.tracer, s.sc, s.parent, s.name, s.kind, s.start, s.end, s.ended, s.pooled = t, sc, parent, name, trace.SpanKindInternal, start, end, true, true
	t.queue.enqueue(s)
}

// stepSpans recycles the spans of finished: nothing but the export queue
// ever refers to them, and the exporters are done with a batch when
// ExportSpans returns (they encode it before sending).
var stepSpans = sync.Pool{New: func() any { return new(span) }}

// release returns s to its pool once exported, if it came from one.
func release(s sdktrace.ReadOnlySpan) {
	if p, ok := s.(*span); ok && p.pooled {
		*p = span{}
		stepSpans.Put(p)
	}
}

func newTraceID() trace.TraceID {
	var id trace.TraceID
	for !id.IsValid() {
		a, b := rand.Uint64(), rand.Uint64()
		for i := range 8 {
			id[i], id[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
		}
	}
	return id
}

func newSpanID() trace.SpanID {
	var id trace.SpanID
	for !id.IsValid() {
		a := rand.Uint64()
		for i := range 8 {
			id[i] = byte(a >> (8 * i))
		}
	}
	return id
}

// span is a sampled span while it is open and the finished span exported
// after End: the exporters read it through sdktrace.ReadOnlySpan, whose
// unexported method the embedded (nil) interface provides; it is never
// called.
type span struct {
	embedded.Span
	sdktrace.ReadOnlySpan

	tracer *tracer
	sc     trace.SpanContext
	parent trace.SpanContext
	kind   trace.SpanKind

	mu           sync.Mutex
	ended        bool
	pooled       bool // made by finished; back to stepSpans after export
	name         string
	start, end   time.Time
	attrs        []attribute.KeyValue
	links        []sdktrace.Link
	events       []sdktrace.Event
	status       sdktrace.Status
	droppedAttrs int
}

var (
	_ trace.TracerProvider  = (*provider)(nil)
	_ trace.Tracer          = (*tracer)(nil)
	_ trace.Span            = (*span)(nil)
	_ sdktrace.ReadOnlySpan = (*span)(nil)
	_ trace.Span            = nonRecording{}
)

// addAttributes appends kvs, truncating string values to the limit and
// dropping what passes maxAttributes. The caller holds s.mu or owns s.
func (s *span) addAttributes(kvs []attribute.KeyValue) {
	if len(kvs) == 0 {
		return
	}
	if s.attrs == nil {
		s.attrs = make([]attribute.KeyValue, 0, len(kvs)+1) // room for one more: a status code
	}
	for _, kv := range kvs {
		if !kv.Valid() {
			continue
		}
		if len(s.attrs) >= maxAttributes {
			s.droppedAttrs++
			continue
		}
		if s.tracer.valueLimit >= 0 {
			kv = s.tracer.truncate(kv)
		}
		s.attrs = append(s.attrs, kv)
	}
}

func (s *span) addLink(l trace.Link) {
	if !l.SpanContext.IsValid() {
		return
	}
	s.links = append(s.links, sdktrace.Link{SpanContext: l.SpanContext, Attributes: l.Attributes})
}

// truncate cuts a string value (or each of a string slice's) to the
// tracer's limit in characters.
func (t *tracer) truncate(kv attribute.KeyValue) attribute.KeyValue {
	switch kv.Value.Type() {
	case attribute.STRING:
		if v := kv.Value.AsString(); len(v) > t.valueLimit {
			return kv.Key.String(truncateString(v, t.valueLimit))
		}
	case attribute.STRINGSLICE:
		vs := kv.Value.AsStringSlice()
		for i, v := range vs {
			vs[i] = truncateString(v, t.valueLimit)
		}
		return kv.Key.StringSlice(vs)
	}
	return kv
}

func truncateString(s string, limit int) string {
	n := 0
	for i := range s {
		if n == limit {
			return s[:i]
		}
		n++
	}
	return s
}

// End implements trace.Span: it records the end time and queues the span
// for export. Later calls do nothing.
func (s *span) End(opts ...trace.SpanEndOption) {
	var end time.Time
	if len(opts) > 0 {
		cfg := trace.NewSpanEndConfig(opts...)
		end = cfg.Timestamp()
	}
	if end.IsZero() {
		end = time.Now()
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.end = true, end
	s.mu.Unlock()
	s.tracer.queue.enqueue(s)
}

// AddEvent implements trace.Span.
func (s *span) AddEvent(name string, opts ...trace.EventOption) {
	cfg := trace.NewEventConfig(opts...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.events = append(s.events, sdktrace.Event{Name: name, Attributes: cfg.Attributes(), Time: cfg.Timestamp()})
}

// AddLink implements trace.Span.
func (s *span) AddLink(l trace.Link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.addLink(l)
	}
}

// IsRecording implements trace.Span: true until End.
func (s *span) IsRecording() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended
}

// RecordError implements trace.Span as the SDK does: an "exception" event.
func (s *span) RecordError(err error, opts ...trace.EventOption) {
	if err == nil {
		return
	}
	opts = append(opts, trace.WithAttributes(semconv.ExceptionMessage(err.Error())))
	s.AddEvent(semconv.ExceptionEventName, opts...)
}

// SpanContext implements trace.Span and sdktrace.ReadOnlySpan.
func (s *span) SpanContext() trace.SpanContext { return s.sc }

// SetStatus implements trace.Span: Ok overrides Error, Error overrides
// Unset, and a description is kept for Error only.
func (s *span) SetStatus(code codes.Code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || code < s.status.Code {
		return
	}
	st := sdktrace.Status{Code: code}
	if code == codes.Error {
		st.Description = description
	}
	s.status = st
}

// SetName implements trace.Span.
func (s *span) SetName(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.name = name
	}
}

// SetAttributes implements trace.Span.
func (s *span) SetAttributes(kvs ...attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.addAttributes(kvs)
	}
}

// TracerProvider implements trace.Span.
func (s *span) TracerProvider() trace.TracerProvider { return s.tracer.provider }

// The sdktrace.ReadOnlySpan side, read by the exporters after End (when
// nothing changes the span any more).

func (s *span) Name() string                     { return s.name }
func (s *span) Parent() trace.SpanContext        { return s.parent }
func (s *span) SpanKind() trace.SpanKind         { return s.kind }
func (s *span) StartTime() time.Time             { return s.start }
func (s *span) EndTime() time.Time               { return s.end }
func (s *span) Attributes() []attribute.KeyValue { return s.attrs }
func (s *span) Links() []sdktrace.Link           { return s.links }
func (s *span) Events() []sdktrace.Event         { return s.events }
func (s *span) Status() sdktrace.Status          { return s.status }
func (s *span) InstrumentationScope() instrumentation.Scope {
	return s.tracer.scope
}

//lint:ignore SA1019 part of sdktrace.ReadOnlySpan
func (s *span) InstrumentationLibrary() instrumentation.Library { return s.tracer.scope }
func (s *span) Resource() *resource.Resource                    { return s.tracer.resource }
func (s *span) DroppedAttributes() int                          { return s.droppedAttrs }
func (s *span) DroppedLinks() int                               { return 0 }
func (s *span) DroppedEvents() int                              { return 0 }
func (s *span) ChildSpanCount() int                             { return 0 }

// nonRecording is a span the sampler dropped: it carries its span context
// so that the trace goes on downstream (unsampled), and records nothing.
type nonRecording struct {
	embedded.Span
	sc trace.SpanContext
	p  *provider
}

func (nonRecording) End(...trace.SpanEndOption)              {}
func (nonRecording) AddEvent(string, ...trace.EventOption)   {}
func (nonRecording) AddLink(trace.Link)                      {}
func (nonRecording) IsRecording() bool                       { return false }
func (nonRecording) RecordError(error, ...trace.EventOption) {}
func (n nonRecording) SpanContext() trace.SpanContext        { return n.sc }
func (nonRecording) SetStatus(codes.Code, string)            {}
func (nonRecording) SetName(string)                          {}
func (nonRecording) SetAttributes(...attribute.KeyValue)     {}
func (n nonRecording) TracerProvider() trace.TracerProvider  { return n.p }

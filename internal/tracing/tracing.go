// Package tracing sets up OpenTelemetry tracing from BentoML 1.1's tracing
// keys: the exporter (Zipkin, OTLP over HTTP or gRPC, Jaeger sent as OTLP),
// parent-based ratio sampling, excluded URLs, span limits, and a bounded
// export queue whose drops are counted rather than ever slowing a request.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/gobento/bento/config"
)

// Options are what the server knows that the tracing keys do not.
type Options struct {
	// ServiceName and ServiceVersion name the resource every span belongs
	// to; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override them, as
	// the OpenTelemetry SDK specifies.
	ServiceName, ServiceVersion string
	// Log receives the start-up notes (what a Jaeger config was mapped to)
	// and rate-limited export failures. Nil means slog.Default().
	Log *slog.Logger
	// Registerer, when set, receives the tracing's own metrics
	// (gobento_tracing_spans_*_total).
	Registerer prometheus.Registerer
	// QueueSize bounds the spans waiting for export (default 2048); past
	// it, ended spans are dropped and counted.
	QueueSize int
	// BatchSize is the most spans one export sends (default 512), and
	// BatchTimeout how long a partial batch waits (default 1 s).
	BatchSize    int
	BatchTimeout time.Duration
}

// Tracing is the tracer provider of one server. The zero value is not
// usable; New returns one that is off (a no-op tracer) when no exporter is
// configured.
type Tracing struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	excluded   []*regexp.Regexp
	queue      *queue // nil when tracing is off
}

// SpansFamily is the metric family counting spans by outcome.
const SpansFamily = "gobento_tracing_spans_total"

// DefaultSampleRate is the sample rate used when tracing.sample_rate is not
// set, as in BentoML: an exporter alone samples no new trace (an incoming
// sampled traceparent is still continued).
const DefaultSampleRate = 0.0

// New builds the tracing of a server from cfg. With no exporter_type it
// returns a Tracing that is off and costs nothing. Values that cannot be
// honoured are an error naming the key.
func New(ctx context.Context, cfg config.Tracing, o Options) (*Tracing, error) {
	t := &Tracing{
		tracer:     noop.NewTracerProvider().Tracer(""),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
	for _, u := range cfg.ExcludedURLs {
		for _, part := range strings.Split(u, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			re, err := regexp.Compile(part)
			if err != nil {
				return nil, fmt.Errorf("tracing.excluded_urls: %q is not a regular expression: %w", part, err)
			}
			t.excluded = append(t.excluded, re)
		}
	}
	typ := ""
	if cfg.ExporterType != nil {
		typ = strings.ToLower(*cfg.ExporterType)
	}
	if typ == "" {
		return t, nil
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	exp, notes, err := newExporter(ctx, typ, cfg)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		log.Info(n)
	}
	rate := DefaultSampleRate
	if cfg.SampleRate != nil {
		rate = *cfg.SampleRate
	} else {
		log.Info(fmt.Sprintf("tracing.exporter_type=%s without tracing.sample_rate: no new trace is sampled (BentoML's default 0); incoming sampled traceparents are continued. Set tracing.sample_rate (0 to 1) to sample new traces", typ))
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(o.ServiceName), semconv.ServiceVersion(o.ServiceVersion)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	valueLimit := -1
	if cfg.MaxTagValueLength != nil && *cfg.MaxTagValueLength >= 0 {
		valueLimit = *cfg.MaxTagValueLength
	}
	t.queue = newQueue(exp, o, log)
	t.tracer = newTracer(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(rate)), t.queue, res, valueLimit)
	return t, nil
}

// On reports whether spans are exported.
func (t *Tracing) On() bool { return t.queue != nil }

// Tracer is the tracer every span of the server starts from (a no-op one
// when tracing is off).
func (t *Tracing) Tracer() trace.Tracer { return t.tracer }

// Propagator reads and writes W3C traceparent, tracestate and baggage.
func (t *Tracing) Propagator() propagation.TextMapPropagator { return t.propagator }

// Excluded reports whether requests to path make no spans
// (tracing.excluded_urls: each entry a regular expression searched for in
// the path).
func (t *Tracing) Excluded(path string) bool {
	for _, re := range t.excluded {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// Shutdown exports what is queued, within ctx, and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.queue == nil {
		return nil
	}
	return t.queue.Shutdown(ctx)
}

// queue is the export queue of ended spans, a bounded buffer: enqueue never blocks and
// wakes nobody (a span is appended under a mutex; the exporting goroutine
// is signalled only when a batch is full); a span that finds the buffer
// full is dropped and counted, so an exporter that is down or slow never
// slows or fails a request. One goroutine exports, every BatchTimeout or
// when a batch is full. At most 2 × QueueSize spans are held: the buffer
// and the batch being exported.
type queue struct {
	exp       sdktrace.SpanExporter
	size      int
	batchSize int
	wait      time.Duration
	log       *slog.Logger

	mu  sync.Mutex
	buf []sdktrace.ReadOnlySpan
	// spare is the buffer of the previous flush, emptied: the next flush
	// swaps it in, so buffers are not made anew each time.
	spare []sdktrace.ReadOnlySpan
	kick  chan struct{} // a batch is full

	exported, dropFull, dropFailed prometheus.Counter

	flushReq chan chan struct{}
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	lastErrLog time.Time
}

func newQueue(exp sdktrace.SpanExporter, o Options, log *slog.Logger) *queue {
	size, batch, wait := o.QueueSize, o.BatchSize, o.BatchTimeout
	if size <= 0 {
		size = 2048
	}
	if batch <= 0 {
		batch = 512
	}
	batch = min(batch, size)
	if wait <= 0 {
		wait = time.Second
	}
	spans := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: SpansFamily,
		Help: "Spans ended while tracing is on, by outcome: exported, dropped_queue_full (the export queue was full) or dropped_export_failed (the exporter returned an error or timed out).",
	}, []string{"outcome"})
	q := &queue{
		exp: exp, size: size, batchSize: batch, wait: wait, log: log,
		buf:        make([]sdktrace.ReadOnlySpan, 0, size),
		spare:      make([]sdktrace.ReadOnlySpan, 0, size),
		kick:       make(chan struct{}, 1),
		exported:   spans.WithLabelValues("exported"),
		dropFull:   spans.WithLabelValues("dropped_queue_full"),
		dropFailed: spans.WithLabelValues("dropped_export_failed"),
		flushReq:   make(chan chan struct{}),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(spans); err != nil {
			log.Warn("tracing: metrics not registered", "error", err)
		}
	}
	go q.run()
	return q
}

// enqueue adds an ended span to the buffer; it never blocks.
func (q *queue) enqueue(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	q.mu.Lock()
	if len(q.buf) >= q.size {
		q.mu.Unlock()
		q.dropFull.Inc()
		release(s)
		return
	}
	q.buf = append(q.buf, s)
	full := len(q.buf) == q.batchSize
	q.mu.Unlock()
	if full {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
}

func (q *queue) run() {
	defer close(q.done)
	timer := time.NewTimer(q.wait)
	defer timer.Stop()
	for {
		select {
		case <-q.kick:
		case <-timer.C:
			timer.Reset(q.wait)
		case ack := <-q.flushReq:
			q.flush()
			close(ack)
			continue
		case <-q.stop:
			q.flush()
			return
		}
		q.flush()
	}
}

// flush exports every span buffered now, in batches.
func (q *queue) flush() {
	q.mu.Lock()
	all := q.buf
	q.buf = q.spare[:0]
	q.mu.Unlock()
	for batch := all; len(batch) > 0; {
		n := min(len(batch), q.batchSize)
		q.export(batch[:n])
		batch = batch[n:]
	}
	clear(all) // the spans may be reused (release) or collected
	q.mu.Lock()
	q.spare = all[:0]
	q.mu.Unlock()
}

// export sends one batch, counting its spans as exported or dropped.
func (q *queue) export(batch []sdktrace.ReadOnlySpan) {
	ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	err := q.exp.ExportSpans(ctx, batch)
	cancel()
	for _, s := range batch {
		release(s)
	}
	if err != nil {
		q.dropFailed.Add(float64(len(batch)))
		if time.Since(q.lastErrLog) > time.Minute {
			q.lastErrLog = time.Now()
			q.log.Warn("tracing: export failed; spans dropped (logged at most once a minute, counted in gobento_tracing_spans_total)", "spans", len(batch), "error", err)
		}
		return
	}
	q.exported.Add(float64(len(batch)))
}

// exportTimeout bounds one export; tracing.timeout sets the exporter's own.
const exportTimeout = 30 * time.Second

// Shutdown exports what is queued and stops the exporter, within ctx.
func (q *queue) Shutdown(ctx context.Context) error {
	q.stopOnce.Do(func() { close(q.stop) })
	select {
	case <-q.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return q.exp.Shutdown(ctx)
}

// ForceFlush exports what is queued.
func (q *queue) ForceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case q.flushReq <- ack:
	case <-q.done:
		return errors.New("tracing: shut down")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

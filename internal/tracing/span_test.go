package tracing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// captured is an exporter that keeps a copy of every span it is given, as
// the network exporters keep their encoding of it: the spans themselves
// may be reused once ExportSpans returns.
type captured struct {
	mu    sync.Mutex
	spans tracetest.SpanStubs
}

func (c *captured) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range spans {
		stub := tracetest.SpanStubFromReadOnlySpan(s)
		stub.Attributes = append([]attribute.KeyValue(nil), stub.Attributes...)
		c.spans = append(c.spans, stub)
	}
	return nil
}

func (c *captured) Shutdown(context.Context) error { return nil }

func (c *captured) get() tracetest.SpanStubs {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(tracetest.SpanStubs(nil), c.spans...)
}

// newTestTracer is a tracer sampling new traces at rate, exporting to a
// capturing exporter; flush exports what has ended.
func newTestTracer(t *testing.T, rate float64, valueLimit int) (tr *tracer, exp *captured, flush func()) {
	t.Helper()
	exp = &captured{}
	q := newQueue(exp, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { q.Shutdown(context.Background()) })
	tr = newTracer(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(rate)), q, resource.Empty(), valueLimit)
	return tr, exp, func() {
		if err := q.ForceFlush(context.Background()); err != nil {
			t.Error(err)
		}
	}
}

func remoteParent(sampled bool) trace.SpanContext {
	cfg := trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:  trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		Remote:  true,
	}
	if sampled {
		cfg.TraceFlags = trace.FlagsSampled
	}
	return trace.NewSpanContext(cfg)
}

func TestParentBasedSampling(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rate    float64
		parent  trace.SpanContext
		sampled bool
	}{
		{"new trace at rate 0", 0, trace.SpanContext{}, false},
		{"new trace at rate 1", 1, trace.SpanContext{}, true},
		{"sampled remote parent at rate 0", 0, remoteParent(true), true},
		{"unsampled remote parent at rate 1", 1, remoteParent(false), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, exp, flush := newTestTracer(t, tc.rate, -1)
			ctx := trace.ContextWithRemoteSpanContext(context.Background(), tc.parent)
			ctx, s := tr.Start(ctx, "server")
			sc := s.SpanContext()
			if !sc.IsValid() || sc.IsSampled() != tc.sampled || s.IsRecording() != tc.sampled {
				t.Fatalf("span context %v recording %v, want valid, sampled %v", sc, s.IsRecording(), tc.sampled)
			}
			if tc.parent.IsValid() && (sc.TraceID() != tc.parent.TraceID() || sc.SpanID() == tc.parent.SpanID()) {
				t.Fatalf("span %v does not continue parent %v", sc, tc.parent)
			}
			// A child inherits the decision; a finished step too.
			_, child := tr.Start(ctx, "child")
			if child.SpanContext().IsSampled() != tc.sampled || child.SpanContext().TraceID() != sc.TraceID() {
				t.Fatalf("child %v of %v", child.SpanContext(), sc)
			}
			now := time.Now()
			Phase(ctx, "step", now, now.Add(time.Millisecond))
			child.End()
			s.End()
			flush()
			got := exp.get()
			if !tc.sampled {
				if len(got) != 0 {
					t.Fatalf("exported %d spans of an unsampled trace", len(got))
				}
				return
			}
			if len(got) != 3 {
				t.Fatalf("exported %d spans, want 3", len(got))
			}
			byName := map[string]tracetest.SpanStub{}
			for _, g := range got {
				byName[g.Name] = g
			}
			if p := byName["server"].Parent; p.IsValid() != tc.parent.IsValid() || (p.IsValid() && !p.Equal(tc.parent)) {
				t.Errorf("server parent %v, want %v", p, tc.parent)
			}
			for _, n := range []string{"child", "step"} {
				if byName[n].Parent.SpanID() != sc.SpanID() || byName[n].SpanContext.TraceID() != sc.TraceID() {
					t.Errorf("%s: parent %v, want %v", n, byName[n].Parent, sc)
				}
			}
			if st := byName["step"]; !st.EndTime.Equal(st.StartTime.Add(time.Millisecond)) {
				t.Errorf("step lasted %v, want 1ms", st.EndTime.Sub(st.StartTime))
			}
		})
	}
}

func TestSpanRecording(t *testing.T) {
	tr, exp, flush := newTestTracer(t, 1, 4)
	link := remoteParent(true)
	_, s := tr.Start(context.Background(), "s", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithLinks(trace.Link{SpanContext: link}),
		trace.WithAttributes(attribute.String("short", "abc"), attribute.String("long", "héllo wörld")))
	s.SetAttributes(attribute.StringSlice("list", []string{"abcdef", "ab"}), attribute.Int("n", 7))
	s.SetStatus(codes.Error, "boom")
	s.SetStatus(codes.Unset, "") // cannot undo an error
	s.RecordError(errors.New("bad input"))
	s.SetName("renamed")
	s.End()
	// After End nothing changes, and a second End exports nothing more.
	s.SetAttributes(attribute.String("late", "x"))
	s.SetStatus(codes.Ok, "")
	s.End()
	if s.IsRecording() {
		t.Error("span still recording after End")
	}
	flush()
	got := exp.get()
	if len(got) != 1 {
		t.Fatalf("exported %d spans, want 1", len(got))
	}
	g := got[0]
	want := map[attribute.Key]string{"short": "abc", "long": "héll", "list": `["abcd","ab"]`, "n": "7"}
	if len(g.Attributes) != len(want) {
		t.Errorf("attributes %v, want %v", g.Attributes, want)
	}
	for _, kv := range g.Attributes {
		if want[kv.Key] != kv.Value.String() {
			t.Errorf("attribute %s = %q, want %q (max_tag_value_length 4, in characters)", kv.Key, kv.Value.String(), want[kv.Key])
		}
	}
	if g.Name != "renamed" || g.SpanKind != trace.SpanKindServer {
		t.Errorf("name %q kind %v", g.Name, g.SpanKind)
	}
	if g.Status != (sdktrace.Status{Code: codes.Error, Description: "boom"}) {
		t.Errorf("status %+v, want Error boom", g.Status)
	}
	if len(g.Events) != 1 || g.Events[0].Name != "exception" {
		t.Errorf("events %+v, want one exception", g.Events)
	}
	if len(g.Links) != 1 || !g.Links[0].SpanContext.Equal(link) {
		t.Errorf("links %+v, want %v", g.Links, link)
	}

	// Ok overrides Error, and an Ok status has no description.
	_, s = tr.Start(context.Background(), "ok")
	s.SetStatus(codes.Error, "boom")
	s.SetStatus(codes.Ok, "fine")
	s.End()
	flush()
	if got := exp.get(); got[len(got)-1].Status != (sdktrace.Status{Code: codes.Ok}) {
		t.Errorf("status %+v, want Ok", got[len(got)-1].Status)
	}
}

// TestStepSpansReused: the spans of finished steps are reused after their
// export; concurrent requests must still each export their own steps.
func TestStepSpansReused(t *testing.T) {
	tr, exp, flush := newTestTracer(t, 1, -1)
	const requests, steps = 50, 20
	var wg sync.WaitGroup
	parents := make([]trace.SpanContext, requests)
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, s := tr.Start(context.Background(), fmt.Sprint("req", i))
			parents[i] = s.SpanContext()
			for j := range steps {
				now := time.Now()
				Phase(ctx, fmt.Sprintf("req%d step%d", i, j), now, now)
				if j%5 == 0 {
					flush() // export (and reuse) while others record
				}
			}
			s.End()
		}()
	}
	wg.Wait()
	flush()
	got := exp.get()
	if len(got) != requests*(steps+1) {
		t.Fatalf("exported %d spans, want %d", len(got), requests*(steps+1))
	}
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g.Name] {
			t.Fatalf("span %q exported twice", g.Name)
		}
		seen[g.Name] = true
		var i, j int
		if n, _ := fmt.Sscanf(g.Name, "req%d step%d", &i, &j); n == 2 && !g.Parent.Equal(parents[i]) {
			t.Fatalf("%s: parent %v, want %v", g.Name, g.Parent, parents[i])
		}
	}
}

package tracing

import (
	"context"
	"testing"

	"github.com/gobento/bento/config"
)

// BenchmarkSpan is one sampled span started and ended, exported to a
// discarding exporter through the bounded queue.
func BenchmarkSpan(b *testing.B) {
	typ, rate := "in_memory", 1.0
	tr, err := New(context.Background(), config.Tracing{ExporterType: &typ, SampleRate: &rate}, Options{ServiceName: "b"})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, s := tr.Tracer().Start(ctx, "x")
		s.End()
	}
}

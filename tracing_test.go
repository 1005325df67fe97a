package bento_test

import (
	"context"
	"encoding/hex"
	"net"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// spanSink is a real OTLP/gRPC trace receiver: it keeps every span it is
// sent.
type spanSink struct {
	coltracepb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []sunkSpan
}

type sunkSpan struct {
	traceID, spanID, parentID, name string
	links                           []string // span ids
	attrs                           map[string]string
}

func (s *spanSink) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				k := sunkSpan{traceID: hex.EncodeToString(sp.TraceId), spanID: hex.EncodeToString(sp.SpanId),
					parentID: hex.EncodeToString(sp.ParentSpanId), name: sp.Name, attrs: map[string]string{}}
				for _, l := range sp.Links {
					k.links = append(k.links, hex.EncodeToString(l.SpanId))
				}
				for _, a := range sp.Attributes {
					k.attrs[a.Key] = a.GetValue().String()
				}
				s.spans = append(s.spans, k)
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// names returns the names of the spans of one trace.
func (s *spanSink) names(traceID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, sp := range s.spans {
		if sp.traceID == traceID {
			out = append(out, sp.name)
		}
	}
	return out
}

func (s *spanSink) all() []sunkSpan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunkSpan(nil), s.spans...)
}

// traceReceiver starts a spanSink on loopback and returns it with its
// address.
func traceReceiver(t *testing.T) (*spanSink, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &spanSink{}
	g := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(g, sink)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return sink, lis.Addr().String()
}

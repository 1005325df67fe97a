package bento_test

import (
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/pb"
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

// With tracing on: an incoming sampled traceparent is continued even at
// sample_rate 0, excluded paths make no span, and an OpenMetrics scrape
// shows the span's trace id as the exemplar of the request's duration.
func TestTracingHTTP(t *testing.T) {
	sink, addr := traceReceiver(t)
	svc := bento.NewService("traced")
	bento.API(svc, "echo", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) { return s, nil })
	cfg := testConfig(t)
	typ, rate := "otlp", 0.0
	cfg.Tracing.ExporterType, cfg.Tracing.SampleRate = &typ, &rate
	cfg.Tracing.ExcludedURLs = config.StringList{"^/livez$"}
	proto, ep := "grpc", "http://"+addr
	cfg.Tracing.OTLP.Protocol, cfg.Tracing.OTLP.Endpoint = &proto, &ep
	srv := startHTTPWith(t, svc, cfg, quietLogger(t))

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req, _ := http.NewRequest("POST", srv.URL()+"/echo", strings.NewReader("hi"))
	req.Header.Set("traceparent", parent)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// Not sampled (rate 0, no traceparent): no span.
	relSend(http.DefaultClient, "POST", srv.URL()+"/echo", "text/plain", []byte("x"))
	// Excluded, even with a sampled parent.
	req, _ = http.NewRequest("GET", srv.URL()+"/livez", nil)
	req.Header.Set("traceparent", parent)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	// The exemplar of the traced request carries its trace id.
	req, _ = http.NewRequest("GET", srv.URL()+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `trace_id="4bf92f3577b34da6a3ce929d0e0e4736"`) {
		t.Errorf("no trace_id exemplar in the OpenMetrics scrape:\n%.3000s", body)
	}

	shutdown(t, srv)
	// One traced request: its server span, and decode, API and encode
	// spans under it.
	var server sunkSpan
	names := map[string]sunkSpan{}
	for _, s := range sink.all() {
		names[s.name] = s
		if s.name == "POST /echo" {
			server = s
		}
	}
	if len(names) != 4 || server.traceID != "4bf92f3577b34da6a3ce929d0e0e4736" || server.parentID != "00f067aa0ba902b7" {
		t.Fatalf("spans %v, want POST /echo under the traceparent's span, with decode, api and encode spans", names)
	}
	for _, n := range []string{"decode echo", "api echo", "encode echo"} {
		if s, ok := names[n]; !ok || s.parentID != server.spanID || s.traceID != server.traceID {
			t.Errorf("%s: %+v, want a child of the server span", n, s)
		}
	}
}

// Requests through a batched runner, traced at sample rate 1: every
// request has its span tree (server span → decode, API function → runner
// call → queue wait, encode), each
// queue span links to the batch that served it, and each batch span links
// exactly the runner-call spans of its callers, with its size.
func TestTracingBatches(t *testing.T) {
	sink, addr := traceReceiver(t)
	svc := bento.NewService("traced_batches")
	r := bento.NewRunner(svc, "double", func() (int, error) { return 2, nil })
	m := bento.BatchMethod(r, "apply", func(k int, ctx context.Context, xs []float64) ([]float64, error) {
		time.Sleep(2 * time.Millisecond) // a model: calls pile up meanwhile
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = x * float64(k)
		}
		return out, nil
	}, bento.MaxBatchSize(8), bento.MaxLatency(2*time.Second))
	bento.API(svc, "double", bento.JSON[float64](), bento.JSON[float64](), m.Run)
	cfg := testConfig(t)
	typ, rate, proto, ep := "otlp", 1.0, "grpc", "http://"+addr
	cfg.Tracing.ExporterType, cfg.Tracing.SampleRate, cfg.Tracing.OTLP.Protocol, cfg.Tracing.OTLP.Endpoint = &typ, &rate, &proto, &ep
	srv := startHTTPWith(t, svc, cfg, quietLogger(t))
	const n = 48
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, body, err := relSend(http.DefaultClient, "POST", srv.URL()+"/double", "application/json", []byte(strconv.Itoa(i)))
			if err != nil || st != 200 || string(body) != strconv.Itoa(2*i) {
				t.Errorf("double(%d): %d %s %v", i, st, body, err)
			}
		})
	}
	wg.Wait()
	shutdown(t, srv)

	byID := map[string]sunkSpan{}
	kinds := map[string][]sunkSpan{}
	for _, s := range sink.all() {
		byID[s.spanID] = s
		kinds[strings.Fields(s.name)[0]] = append(kinds[strings.Fields(s.name)[0]], s)
	}
	servers, runners, queues, batches := kinds["POST"], kinds["runner"], kinds["queue"], kinds["batch"]
	if len(servers) != n || len(runners) != n || len(queues) != n {
		t.Fatalf("%d server, %d runner-call and %d queue spans for %d requests", len(servers), len(runners), len(queues), n)
	}
	// Decoding, the API function and encoding: one span each per request,
	// under its server span.
	for _, k := range []string{"decode", "api", "encode"} {
		if len(kinds[k]) != n {
			t.Fatalf("%d %s spans for %d requests", len(kinds[k]), k, n)
		}
		for _, sp := range kinds[k] {
			if byID[sp.parentID].name != "POST /double" {
				t.Fatalf("%s span %+v is not under the server span", k, sp)
			}
		}
	}
	if len(batches) == 0 || len(batches) >= n {
		t.Fatalf("%d batch spans for %d requests: want batching", len(batches), n)
	}
	// The tree of every request.
	for _, q := range queues {
		rc, ok := byID[q.parentID]
		if !ok || rc.name != "runner double.apply" {
			t.Fatalf("queue span %+v: parent is not a runner-call span", q)
		}
		ap, ok := byID[rc.parentID]
		if !ok || ap.name != "api double" {
			t.Fatalf("runner-call span %+v: parent is not the API function's span", rc)
		}
		if sv, ok := byID[ap.parentID]; !ok || sv.name != "POST /double" || sv.traceID != q.traceID {
			t.Fatalf("API span %+v: parent is not the request's server span", ap)
		}
		if len(q.links) != 1 {
			t.Fatalf("queue span links %v, want its batch", q.links)
		}
	}
	// Each batch links exactly the runner calls whose queue spans link it.
	total := 0
	for _, b := range batches {
		var want []string
		for _, q := range queues {
			if q.links[0] == b.spanID {
				want = append(want, q.parentID)
			}
		}
		slices.Sort(want)
		got := slices.Sorted(slices.Values(b.links))
		if !slices.Equal(got, want) || len(got) == 0 {
			t.Errorf("batch %s links %v, want the runner calls %v", b.spanID, got, want)
		}
		size, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimSuffix(b.attrs["bentoml.batch.size"], "}"), "int_value:"))
		total += size
	}
	if total != n {
		t.Errorf("batch sizes add up to %d, want %d", total, n)
	}
}

// BentoML 1.1 configurations with each exporter type start unchanged and
// serve; with the collector absent, requests still succeed and shutdown
// ends within tracing.timeout.
func TestBentoMLTracingConfigsStart(t *testing.T) {
	for name, yml := range map[string]string{
		"zipkin":         "tracing: {exporter_type: zipkin, sample_rate: 1.0, timeout: 1, zipkin: {endpoint: 'http://127.0.0.1:9/api/v2/spans'}}",
		"jaeger":         "tracing: {exporter_type: jaeger, sample_rate: 1.0, timeout: 1, jaeger: {protocol: thrift, thrift: {agent_host_name: 127.0.0.1, agent_port: 6831}}}",
		"jaeger grpc":    "tracing: {exporter_type: jaeger, sample_rate: 1.0, timeout: 1, jaeger: {protocol: grpc, collector_endpoint: '127.0.0.1:14250', grpc: {insecure: true}}}",
		"otlp http":      "tracing: {exporter_type: otlp, sample_rate: 1.0, timeout: 1, otlp: {protocol: http, endpoint: 'http://127.0.0.1:9/v1/traces', compression: gzip, http: {headers: {x-k: v}}}}",
		"otlp grpc":      "tracing: {exporter_type: otlp, sample_rate: 0.5, timeout: 1, excluded_urls: 'readyz,livez', otlp: {protocol: grpc, endpoint: '127.0.0.1:9', grpc: {insecure: true, headers: ['x-k=v']}}}",
		"in_memory":      "tracing: {exporter_type: in_memory, sample_rate: 1.0}",
		"otlp, defaults": "tracing: {exporter_type: otlp, max_tag_value_length: 64, otlp: {endpoint: 'http://127.0.0.1:9'}}",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Parse([]byte("version: 1\napi_server: {http: {host: 127.0.0.1, port: 0}}\n"+yml+"\n"), "bentoml_configuration.yaml")
			if err != nil {
				t.Fatal(err)
			}
			svc := bento.NewService("traced")
			bento.API(svc, "echo", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) { return s, nil })
			srv, err := bento.StartHTTP(context.Background(), svc, cfg, bento.Logger(quietLogger(t)))
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				if st, body, err := relSend(http.DefaultClient, "POST", srv.URL()+"/echo", "text/plain", []byte("hi")); err != nil || st != 200 || string(body) != "hi" {
					t.Fatalf("echo: %d %q %v", st, body, err)
				}
			}
			start := time.Now()
			shutdown(t, srv)
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("shutdown took %v with no collector", el)
			}
		})
	}
}

// A gRPC call continues the traceparent of its metadata: its server span
// and its decode, API and encode spans are exported, and the call's
// duration carries the trace exemplar.
func TestTracingGRPC(t *testing.T) {
	sink, addr := traceReceiver(t)
	svc := bento.NewService("traced_grpc")
	bento.API(svc, "echo", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) { return s, nil })
	cfg := testConfig(t)
	typ, rate, proto, ep := "otlp", 0.0, "grpc", "http://"+addr
	cfg.Tracing.ExporterType, cfg.Tracing.SampleRate, cfg.Tracing.OTLP.Protocol, cfg.Tracing.OTLP.Endpoint = &typ, &rate, &proto, &ep
	srv, c := relStartGRPC(t, svc, cfg)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := c.Call(ctx, &pb.Request{ApiName: "echo", Content: &pb.Request_Text{Text: wrapperspb.String("hi")}})
	if err != nil || resp.GetText().GetValue() != "hi" {
		t.Fatalf("echo: %v %v", resp, err)
	}
	shutdown(t, srv)
	names := map[string]sunkSpan{}
	for _, s := range sink.all() {
		names[s.name] = s
	}
	server, ok := names["bentoml.grpc.v1.BentoService/Call"]
	if !ok || server.traceID != "4bf92f3577b34da6a3ce929d0e0e4736" || server.parentID != "00f067aa0ba902b7" {
		t.Fatalf("spans %v, want the Call server span under the traceparent", names)
	}
	for _, n := range []string{"decode echo", "api echo", "encode echo"} {
		if s, ok := names[n]; !ok || s.parentID != server.spanID {
			t.Errorf("%s: %+v, want a child of the server span", n, s)
		}
	}
}

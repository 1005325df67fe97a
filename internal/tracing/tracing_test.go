package tracing

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/gobento/bento/config"
)

// received is what a test receiver got: span names by hex trace id.
type received struct {
	mu      sync.Mutex
	spans   []recvSpan
	headers http.Header
}

type recvSpan struct{ traceID, name, service string }

func (r *received) add(s ...recvSpan) {
	r.mu.Lock()
	r.spans = append(r.spans, s...)
	r.mu.Unlock()
}

func (r *received) snapshot() []recvSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recvSpan(nil), r.spans...)
}

func (r *received) fromOTLP(req *coltracepb.ExportTraceServiceRequest) {
	for _, rs := range req.ResourceSpans {
		svc := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				svc = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.add(recvSpan{traceID: hex.EncodeToString(s.TraceId), name: s.Name, service: svc})
			}
		}
	}
}

// otlpHTTPReceiver is a real OTLP/HTTP endpoint decoding the protobuf
// requests.
func otlpHTTPReceiver(t *testing.T) (*received, string) {
	r := &received{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "unexpected "+req.URL.Path+" "+req.Header.Get("Content-Type"), http.StatusBadRequest)
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var m coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.headers = req.Header.Clone()
		r.mu.Unlock()
		r.fromOTLP(&m)
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

type grpcTraceService struct {
	coltracepb.UnimplementedTraceServiceServer
	r *received
}

func (s grpcTraceService) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.r.fromOTLP(req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// otlpGRPCReceiver is a real OTLP/gRPC endpoint.
func otlpGRPCReceiver(t *testing.T) (*received, string) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &received{}
	s := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(s, grpcTraceService{r: r})
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return r, lis.Addr().String()
}

// zipkinReceiver is a Zipkin v2 JSON endpoint.
func zipkinReceiver(t *testing.T) (*received, string) {
	r := &received{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var spans []struct {
			TraceID       string `json:"traceId"`
			Name          string `json:"name"`
			LocalEndpoint struct {
				ServiceName string `json:"serviceName"`
			} `json:"localEndpoint"`
		}
		if req.URL.Path != "/api/v2/spans" {
			http.NotFound(w, req)
			return
		}
		if err := json.NewDecoder(req.Body).Decode(&spans); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, s := range spans {
			r.add(recvSpan{traceID: s.TraceID, name: s.Name, service: s.LocalEndpoint.ServiceName})
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL + "/api/v2/spans"
}

func ptr[T any](v T) *T { return &v }

// startSpans makes n root spans named name and returns their trace ids.
func startSpans(tr *Tracing, n int, name string) []string {
	ids := make([]string, n)
	for i := range n {
		_, s := tr.Tracer().Start(context.Background(), name)
		ids[i] = s.SpanContext().TraceID().String()
		s.End()
	}
	return ids
}

func newTracing(t *testing.T, cfg config.Tracing, reg prometheus.Registerer) *Tracing {
	t.Helper()
	tr, err := New(context.Background(), cfg, Options{ServiceName: "iris_classifier", ServiceVersion: "1.0", Registerer: reg, BatchTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	return tr
}

// Every exporter type delivers the spans it was given to a real receiver,
// with the service's name.
func TestExportersDeliver(t *testing.T) {
	httpRecv, httpURL := otlpHTTPReceiver(t)
	gzRecv, gzURL := otlpHTTPReceiver(t)
	grpcRecv, grpcAddr := otlpGRPCReceiver(t)
	zRecv, zURL := zipkinReceiver(t)
	cases := []struct {
		name string
		cfg  config.Tracing
		recv *received
	}{
		{"otlp http", config.Tracing{ExporterType: ptr("otlp"), OTLP: config.OTLP{Protocol: ptr("http"), Endpoint: ptr(httpURL + "/v1/traces"),
			HTTP: config.OTLPHTTP{Headers: config.StringMap{"x-team": "ml"}}}}, httpRecv},
		{"otlp http gzip, endpoint without path", config.Tracing{ExporterType: ptr("otlp"), OTLP: config.OTLP{Endpoint: ptr(gzURL), Compression: ptr("gzip")}}, gzRecv},
		{"otlp grpc", config.Tracing{ExporterType: ptr("OTLP"), OTLP: config.OTLP{Protocol: ptr("grpc"), Endpoint: ptr(grpcAddr),
			GRPC: config.OTLPGRPC{Insecure: ptr(true), Headers: config.StringList{"x-team=ml"}}}}, grpcRecv},
		{"zipkin", config.Tracing{ExporterType: ptr("zipkin"), Zipkin: config.Zipkin{Endpoint: ptr(zURL)}}, zRecv},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.SampleRate = ptr(1.0)
			tr := newTracing(t, c.cfg, nil)
			if !tr.On() {
				t.Fatal("tracing is off")
			}
			ids := startSpans(tr, 20, "POST /classify")
			if err := tr.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := c.recv.snapshot()
			if len(got) != len(ids) {
				t.Fatalf("receiver got %d spans, want %d", len(got), len(ids))
			}
			for i, s := range got {
				if s.traceID != ids[i] || s.name != "POST /classify" || s.service != "iris_classifier" {
					t.Fatalf("span %d = %+v, want trace %s of iris_classifier", i, s, ids[i])
				}
			}
		})
	}
	if h := httpRecv.headers.Get("X-Team"); h != "ml" {
		t.Errorf("tracing.otlp.http.headers not sent: X-Team %q", h)
	}
}

// sample_rate keeps about that share of new traces; an incoming sampled
// traceparent is continued whatever the rate (parent-based), with its
// trace id.
func TestSampling(t *testing.T) {
	recv, url := otlpHTTPReceiver(t)
	tr := newTracing(t, config.Tracing{ExporterType: ptr("otlp"), SampleRate: ptr(0.25), OTLP: config.OTLP{Endpoint: ptr(url)}}, nil)
	const n = 4000
	startSpans(tr, n, "root")
	parent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := tr.Propagator().Extract(context.Background(), propagation.MapCarrier{"traceparent": parent})
	for range 10 {
		_, s := tr.Tracer().Start(ctx, "child", trace.WithSpanKind(trace.SpanKindServer))
		s.End()
	}
	tr.Shutdown(context.Background())
	roots, children := 0, 0
	for _, s := range recv.snapshot() {
		switch s.name {
		case "root":
			roots++
		case "child":
			children++
			if s.traceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
				t.Errorf("continued span in trace %s, want the traceparent's", s.traceID)
			}
		}
	}
	if share := float64(roots) / n; share < 0.20 || share > 0.30 {
		t.Errorf("sample_rate 0.25 kept %d of %d traces (%.3f)", roots, n, share)
	}
	if children != 10 {
		t.Errorf("%d of 10 spans under a sampled traceparent exported", children)
	}
}

// Without sample_rate (BentoML's default 0) no new trace is sampled.
func TestDefaultSampleRateSamplesNoNewTrace(t *testing.T) {
	recv, url := otlpHTTPReceiver(t)
	tr := newTracing(t, config.Tracing{ExporterType: ptr("otlp"), OTLP: config.OTLP{Endpoint: ptr(url)}}, nil)
	startSpans(tr, 100, "root")
	tr.Shutdown(context.Background())
	if n := len(recv.snapshot()); n != 0 {
		t.Errorf("%d spans exported without sample_rate, want 0", n)
	}
}

// A receiver that is down or stuck never slows span ends: spans past the
// queue are dropped and counted, and failed exports are counted.
func TestReceiverDownOrStuck(t *testing.T) {
	stuck := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stuck }))
	defer slow.Close()
	defer close(stuck)
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "http://" + lis.Addr().String()
	lis.Close()
	for _, c := range []struct{ name, url, outcome string }{
		{"stuck", slow.URL, "dropped_queue_full"},
		{"down", down, "dropped_export_failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			tr, err := New(context.Background(), config.Tracing{ExporterType: ptr("otlp"), SampleRate: ptr(1.0), Timeout: ptr(1),
				OTLP: config.OTLP{Endpoint: ptr(c.url)}}, Options{ServiceName: "s", Registerer: reg, QueueSize: 64, BatchSize: 16, BatchTimeout: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			startSpans(tr, 5000, "x")
			if el := time.Since(start); el > 500*time.Millisecond {
				t.Errorf("5000 spans took %v to end with the receiver %s", el, c.name)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			tr.Shutdown(ctx)
			if n := testutil.ToFloat64(tr.queue.dropFull) + testutil.ToFloat64(tr.queue.dropFailed); n == 0 {
				t.Errorf("no span counted as dropped")
			}
			out, _ := testutil.GatherAndCount(reg, "gobento_tracing_spans_total")
			if out == 0 {
				t.Errorf("gobento_tracing_spans_total not registered")
			}
			if c.outcome == "dropped_queue_full" && testutil.ToFloat64(tr.queue.dropFull) == 0 {
				t.Errorf("a stuck receiver dropped nothing at the queue")
			}
			if c.outcome == "dropped_export_failed" && testutil.ToFloat64(tr.queue.dropFailed) == 0 {
				t.Errorf("a receiver that is down counted no failed export")
			}
		})
	}
}

func TestExcludedURLs(t *testing.T) {
	tr, err := New(context.Background(), config.Tracing{ExcludedURLs: config.StringList{"^/livez$,/readyz", "metrics"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"/livez": true, "/livez2": false, "/readyz": true, "/metrics": true, "/classify": false} {
		if got := tr.Excluded(path); got != want {
			t.Errorf("Excluded(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  config.Tracing
		key  string
	}{
		{"deflate", config.Tracing{ExporterType: ptr("otlp"), OTLP: config.OTLP{Compression: ptr("deflate")}}, "tracing.otlp.compression"},
		{"bad regexp", config.Tracing{ExcludedURLs: config.StringList{"("}}, "tracing.excluded_urls"},
		{"grpc header", config.Tracing{ExporterType: ptr("otlp"), OTLP: config.OTLP{Protocol: ptr("grpc"), GRPC: config.OTLPGRPC{Headers: config.StringList{"novalue"}}}}, "tracing.otlp.grpc.headers"},
		{"certificate file", config.Tracing{ExporterType: ptr("otlp"), OTLP: config.OTLP{HTTP: config.OTLPHTTP{CertificateFile: ptr("/nonexistent.pem")}}}, "tracing.otlp.http.certificate_file"},
		{"jaeger endpoint", config.Tracing{ExporterType: ptr("jaeger"), Jaeger: config.Jaeger{CollectorEndpoint: ptr("nohostport")}}, "tracing.jaeger.collector_endpoint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(context.Background(), c.cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Fatalf("err = %v, want one naming %s", err, c.key)
			}
		})
	}
}

func TestJaegerGoesToOTLP(t *testing.T) {
	for _, c := range []struct {
		name string
		j    config.Jaeger
		want jaegerOTLP
	}{
		{"thrift default", config.Jaeger{}, jaegerOTLP{endpoint: "http://localhost:4318/v1/traces"}},
		{"thrift collector", config.Jaeger{Protocol: ptr("thrift"), CollectorEndpoint: ptr("http://jaeger:14268/api/traces")}, jaegerOTLP{endpoint: "http://jaeger:4318/v1/traces"}},
		{"thrift agent", config.Jaeger{Thrift: config.JaegerThrift{AgentHostName: ptr("agent"), AgentPort: ptr(6831)}}, jaegerOTLP{endpoint: "http://agent:4318/v1/traces"}},
		{"grpc", config.Jaeger{Protocol: ptr("grpc"), CollectorEndpoint: ptr("jaeger:14250")}, jaegerOTLP{grpc: true, endpoint: "jaeger:4317", insecure: true}},
		{"grpc tls", config.Jaeger{Protocol: ptr("grpc"), CollectorEndpoint: ptr("jaeger:14250"), GRPC: config.JaegerGRPC{Insecure: ptr(false)}}, jaegerOTLP{grpc: true, endpoint: "jaeger:4317"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := jaegerTarget(c.j)
			if err != nil {
				t.Fatal(err)
			}
			if got.grpc != c.want.grpc || got.endpoint != c.want.endpoint || got.insecure != c.want.insecure || !strings.Contains(got.note, got.endpoint) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// With no exporter, tracing is off (the servers then start no span at all)
// and its tracer makes no recording spans.
func TestOffCostsNothing(t *testing.T) {
	tr, err := New(context.Background(), config.Tracing{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.On() {
		t.Fatal("on without an exporter")
	}
	_, s := tr.Tracer().Start(context.Background(), "x")
	if s.IsRecording() {
		t.Error("a recording span while off")
	}
}

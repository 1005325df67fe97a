package bento_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/gobento/bento"
)

// otlpMetricsSink keeps the last value of every sum data point pushed to
// it, by metric name and the endpoint and http_response_code attributes.
type otlpMetricsSink struct {
	mu      sync.Mutex
	sums    map[[3]string]float64
	service string
	pushes  int
}

func newOTLPMetricsSink() *otlpMetricsSink {
	return &otlpMetricsSink{sums: map[[3]string]float64{}}
}

func (s *otlpMetricsSink) take(req *colmetricspb.ExportMetricsServiceRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushes++
	for _, rm := range req.ResourceMetrics {
		for _, a := range rm.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				s.service = a.GetValue().GetStringValue()
			}
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				sum, ok := m.Data.(*metricspb.Metric_Sum)
				if !ok {
					continue
				}
				for _, dp := range sum.Sum.DataPoints {
					endpoint, code := "", ""
					for _, a := range dp.Attributes {
						switch a.Key {
						case "endpoint":
							endpoint = a.GetValue().GetStringValue()
						case "http_response_code":
							code = a.GetValue().GetStringValue()
						}
					}
					s.sums[[3]string{m.Name, endpoint, code}] = dp.GetAsDouble()
				}
			}
		}
	}
}

func (s *otlpMetricsSink) get(name, endpoint string) (float64, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sums[[3]string{name, endpoint, "200"}], s.service
}

type otlpMetricsGRPC struct {
	colmetricspb.UnimplementedMetricsServiceServer
	sink *otlpMetricsSink
}

func (g otlpMetricsGRPC) Export(_ context.Context, req *colmetricspb.ExportMetricsServiceRequest) (*colmetricspb.ExportMetricsServiceResponse, error) {
	g.sink.take(req)
	return &colmetricspb.ExportMetricsServiceResponse{}, nil
}

// api_server.metrics.otlp pushes the metrics of /metrics, with their
// Prometheus names and labels, to a real OTLP receiver over HTTP and over
// gRPC; the last push happens at shutdown.
func TestOTLPMetricsPush(t *testing.T) {
	httpSink := newOTLPMetricsSink()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req colmetricspb.ExportMetricsServiceRequest
		if r.URL.Path != "/v1/metrics" || proto.Unmarshal(b, &req) != nil {
			http.Error(w, "bad push", http.StatusBadRequest)
			return
		}
		httpSink.take(&req)
		out, _ := proto.Marshal(&colmetricspb.ExportMetricsServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	defer hs.Close()
	grpcSink := newOTLPMetricsSink()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	colmetricspb.RegisterMetricsServiceServer(gs, otlpMetricsGRPC{sink: grpcSink})
	go gs.Serve(lis)
	defer gs.Stop()

	for _, c := range []struct {
		protocol, endpoint string
		sink               *otlpMetricsSink
	}{
		{"http", hs.URL, httpSink},
		{"grpc", lis.Addr().String(), grpcSink},
	} {
		t.Run(c.protocol, func(t *testing.T) {
			svc := bento.NewService("pushed")
			bento.API(svc, "echo", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) { return s, nil })
			cfg := testConfig(t)
			o := &cfg.APIServer.Metrics.OTLP
			o.Enabled, o.Protocol, o.Endpoint, o.Interval, o.Insecure = true, c.protocol, c.endpoint, 0.05, true
			srv, err := bento.StartHTTP(context.Background(), svc, cfg, bento.Logger(quietLogger(t)))
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				if st, _, err := relSend(http.DefaultClient, "POST", srv.URL()+"/echo", "text/plain", []byte("x")); err != nil || st != 200 {
					t.Fatalf("echo: %d %v", st, err)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				if v, _ := c.sink.get("bentoml_api_server_request_total", "/echo"); v == 5 {
					break
				}
				if time.Now().After(deadline) {
					v, _ := c.sink.get("bentoml_api_server_request_total", "/echo")
					t.Fatalf("bentoml_api_server_request_total{endpoint=/echo} pushed as %v, want 5", v)
				}
				time.Sleep(20 * time.Millisecond)
			}
			shutdown(t, srv)
			if _, svcName := c.sink.get("bentoml_api_server_request_total", "/echo"); svcName != "pushed" {
				t.Errorf("pushed as service %q, want pushed", svcName)
			}
			// With an hour between pushes, only the one at shutdown can
			// carry these calls.
			cfg.APIServer.Metrics.OTLP.Interval = 3600
			svc2 := bento.NewService("pushed_at_exit")
			bento.API(svc2, "echo2", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) { return s, nil })
			srv2, err := bento.StartHTTP(context.Background(), svc2, cfg, bento.Logger(quietLogger(t)))
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				relSend(http.DefaultClient, "POST", srv2.URL()+"/echo2", "text/plain", []byte("x"))
			}
			shutdown(t, srv2)
			if v, _ := c.sink.get("bentoml_api_server_request_total", "/echo2"); v != 3 {
				t.Errorf("after shutdown: request_total{endpoint=/echo2} pushed as %v, want 3", v)
			}
		})
	}
}

// A collector that is down costs requests nothing; shutdown still ends.
func TestOTLPMetricsCollectorDown(t *testing.T) {
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := lis.Addr().String()
	lis.Close()
	svc := bento.NewService("pushed")
	bento.API(svc, "echo", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) { return s, nil })
	cfg := testConfig(t)
	o := &cfg.APIServer.Metrics.OTLP
	o.Enabled, o.Endpoint, o.Interval, o.Timeout = true, "http://"+addr, 0.01, 0.2
	srv, err := bento.StartHTTP(context.Background(), svc, cfg, bento.Logger(quietLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if st, _, err := relSend(http.DefaultClient, "POST", srv.URL()+"/echo", "text/plain", []byte("x")); err != nil || st != 200 {
			t.Fatalf("echo with the collector down: %d %v", st, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("Shutdown took %v with the collector down", el)
	}
}

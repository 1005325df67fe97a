package bento_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/pb"
	"github.com/gobento/bento/internal/tlsconf/tlstest"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsonLogger logs JSON lines at Info into a buffer.
func jsonLogger() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewJSONHandler(&buf, nil)), &buf
}

// logLines returns the records of buf whose msg is msg.
func logLines(t *testing.T, buf *syncBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func sslConfig(t *testing.T, f tlstest.Files, mod func(s *config.SSL)) *config.Config {
	cfg := testConfig(t)
	cfg.APIServer.SSL.Certfile, cfg.APIServer.SSL.Keyfile = &f.ServerCert, &f.ServerKey
	if mod != nil {
		mod(&cfg.APIServer.SSL)
	}
	return cfg
}

func tlsClient(f tlstest.Files, withCert bool) *http.Client {
	tc := &tls.Config{RootCAs: f.CAPool}
	if withCert {
		tc.Certificates = []tls.Certificate{f.ClientPair}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}, Timeout: 10 * time.Second}
}

// TestHTTPS serves over TLS with a certificate made in the test: plain
// TLS, and mutual TLS where a client without a certificate is refused.
func TestHTTPS(t *testing.T) {
	f := tlstest.Generate(t, t.TempDir())
	tests := []struct {
		name      string
		mod       func(s *config.SSL)
		withCert  bool
		wantOK    bool
		wantHTTP2 bool
	}{
		{"server TLS", nil, false, true, true},
		{"mutual TLS, client certificate", func(s *config.SSL) { s.CACerts, s.CertReqs = &f.CA, ptr(2) }, true, true, true},
		{"mutual TLS, no client certificate", func(s *config.SSL) { s.CACerts, s.CertReqs = &f.CA, ptr(2) }, false, false, false},
		{"optional client certificate, none given", func(s *config.SSL) { s.CACerts, s.CertReqs = &f.CA, ptr(1) }, false, true, true},
		{"TLS 1.2 only", func(s *config.SSL) { s.Version = ptr(5) }, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startHTTP(t, kitchenSink(t), sslConfig(t, f, tt.mod))
			if !strings.HasPrefix(srv.URL(), "https://") {
				t.Fatalf("URL %s", srv.URL())
			}
			resp, err := tlsClient(f, tt.withCert).Post(srv.URL()+"/echo", "text/plain", strings.NewReader("over tls"))
			if !tt.wantOK {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("request without a client certificate got %d", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "over tls" || (resp.ProtoMajor == 2) != tt.wantHTTP2 {
				t.Errorf("got %d %q over %s", resp.StatusCode, body, resp.Proto)
			}
			// Plain HTTP to the TLS port is refused.
			if resp, err := http.Get("http://" + srv.Addr().String() + "/livez"); err == nil {
				if resp.StatusCode == 200 {
					t.Error("plain HTTP served on the TLS port")
				}
				resp.Body.Close()
			}
		})
	}
}

// TestTLSStartErrors checks that bad api_server.ssl values stop start-up
// with an error naming the key.
func TestTLSStartErrors(t *testing.T) {
	dir := t.TempDir()
	f := tlstest.Generate(t, dir)
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		mod  func(s *config.SSL)
		want string
	}{
		{"missing cert file", func(s *config.SSL) { s.Certfile = &missing }, "api_server.ssl.certfile: cannot read the certificate file"},
		{"wrong key", func(s *config.SSL) { s.Keyfile = &f.ClientKey }, "api_server.ssl.keyfile: the key in"},
		{"cipher keyword", func(s *config.SSL) { s.Ciphers = ptr("HIGH:!aNULL") }, "api_server.ssl.ciphers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bento.StartHTTP(context.Background(), kitchenSink(t), sslConfig(t, f, tt.mod), bento.Logger(quietLogger(t)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("StartHTTP error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestGRPCTLS serves gRPC over TLS; with ca_certs a client needs a
// certificate, as with BentoML's serve-grpc.
func TestGRPCTLS(t *testing.T) {
	f := tlstest.Generate(t, t.TempDir())
	for _, mutual := range []bool{false, true} {
		t.Run(map[bool]string{false: "server TLS", true: "mutual TLS"}[mutual], func(t *testing.T) {
			cfg := sslConfig(t, f, nil)
			if mutual {
				cfg.APIServer.SSL.CACerts = &f.CA
			}
			srv, err := bento.StartGRPC(context.Background(), kitchenSink(t), cfg, bento.Logger(quietLogger(t)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { shutdown(t, srv) })
			call := func(withCert bool) (string, error) {
				tc := &tls.Config{RootCAs: f.CAPool}
				if withCert {
					tc.Certificates = []tls.Certificate{f.ClientPair}
				}
				conn, err := grpc.NewClient(srv.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(tc)))
				if err != nil {
					return "", err
				}
				defer conn.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				resp, err := pb.NewBentoServiceClient(conn).Call(ctx, &pb.Request{ApiName: "echo", Content: &pb.Request_Text{Text: wrapperspb.String("hi")}})
				return resp.GetText().GetValue(), err
			}
			if got, err := call(true); err != nil || got != "hi" {
				t.Fatalf("Call with a client certificate: %q, %v", got, err)
			}
			_, err = call(false)
			if mutual && err == nil {
				t.Fatal("Call without a client certificate succeeded under mutual TLS")
			}
			if !mutual && err != nil {
				t.Fatalf("Call without a client certificate: %v", err)
			}
		})
	}
}

// counterValue is the value of request_total{endpoint, http_response_code}.
func counterValue(t *testing.T, srv *bento.Server, endpoint, code string) float64 {
	t.Helper()
	mfs, err := srv.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "bentoml_api_server_request_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label(m, "endpoint") == endpoint && label(m, "http_response_code") == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestCORSConfig enables CORS with BentoML's keys: a preflight is answered
// by the middleware and is not API traffic; a cross-origin POST gets the
// CORS headers and is counted.
func TestCORSConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.APIServer.HTTP.CORS = config.CORS{Enabled: true, AccessControlAllowOrigins: config.StringList{"https://app.example.com"},
		AccessControlAllowMethods: config.StringList{"POST"}, AccessControlAllowHeaders: config.StringList{"X-Custom"},
		AccessControlExposeHeaders: config.StringList{"X-BentoML-Request-ID"}}
	srv := startHTTP(t, kitchenSink(t), cfg)
	pre, _ := http.NewRequest("OPTIONS", srv.URL()+"/echo", nil)
	pre.Header.Set("Origin", "https://app.example.com")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "content-type,x-custom")
	resp, err := http.DefaultClient.Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || resp.Header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	do(t, "POST", srv.URL()+"/echo", "text/plain", []byte("x"))
	req, _ := http.NewRequest("POST", srv.URL()+"/echo", strings.NewReader("x"))
	req.Header.Set("Origin", "https://app.example.com")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || resp.Header.Get("Access-Control-Expose-Headers") != "X-BentoML-Request-ID" {
		t.Fatalf("cross-origin POST: %d %v", resp.StatusCode, resp.Header)
	}
	if n := counterValue(t, srv, "/echo", "200"); n != 2 {
		t.Errorf("request_total{/echo,200} = %v, want 2 (the preflight is not counted)", n)
	}
}

// TestAccessLogConfig checks the access log of a running server: one line
// per API request with the request id the client received, the fields the
// logging.access keys switch on, no line for /metrics, and none at all
// when disabled.
func TestAccessLogConfig(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(a *config.APIAccessLog)
		lines   int
		present []string
		absent  []string
	}{
		{"default: on, every field", nil, 1, []string{"request_content_length", "request_content_type", "response_content_length", "response_content_type"}, nil},
		{"content fields off", func(a *config.APIAccessLog) {
			a.RequestContentLength, a.RequestContentType, a.ResponseContentType = ptr(false), nil, ptr(false)
		}, 1, []string{"response_content_length"}, []string{"request_content_length", "request_content_type", "response_content_type"}},
		{"disabled", func(a *config.APIAccessLog) { a.Enabled = false }, 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tt.mod != nil {
				tt.mod(&cfg.APIServer.Logging.Access)
			}
			log, buf := jsonLogger()
			srv := startHTTPWith(t, kitchenSink(t), cfg, log)
			r := do(t, "POST", srv.URL()+"/echo", "text/plain", []byte("hello"))
			do(t, "GET", srv.URL()+"/metrics", "", nil)
			lines := logLines(t, buf, "access")
			if len(lines) != tt.lines {
				t.Fatalf("%d access lines, want %d:\n%s", len(lines), tt.lines, buf.String())
			}
			if tt.lines == 0 {
				return
			}
			l := lines[0]
			if l["path"] != "/echo" || l["method"] != "POST" || l["status"] != 200.0 || l["request_id"] != r.header.Get("X-BentoML-Request-ID") || l["request_id"] == "" {
				t.Errorf("line %v (response request id %q)", l, r.header.Get("X-BentoML-Request-ID"))
			}
			for _, k := range tt.present {
				if _, ok := l[k]; !ok {
					t.Errorf("%s missing from %v", k, l)
				}
			}
			for _, k := range tt.absent {
				if _, ok := l[k]; ok {
					t.Errorf("%s present in %v", k, l)
				}
			}
		})
	}
}

// TestTraceIDResponseHeader checks api_server.http.response.trace_id.
func TestTraceIDResponseHeader(t *testing.T) {
	for _, on := range []bool{false, true} {
		cfg := testConfig(t)
		cfg.APIServer.HTTP.Response.TraceID = on
		srv := startHTTP(t, kitchenSink(t), cfg)
		r := do(t, "POST", srv.URL()+"/echo", "text/plain", []byte("x"))
		if got := r.header.Get("X-BentoML-Trace-ID"); (got != "") != on {
			t.Errorf("trace_id=%v: X-BentoML-Trace-ID %q", on, got)
		}
	}
}

// TestBentoMLConfigStarts starts gobento with a BentoML 1.1 configuration
// that sets every key of issue 13 (TLS files made in the test), and checks
// the log lines that explain the keys of BentoML's process model and
// tracing, and the runner's worker count from resources.
func TestBentoMLConfigStarts(t *testing.T) {
	spans, otlpAddr := traceReceiver(t)
	dir := t.TempDir()
	f := tlstest.Generate(t, dir)
	yml := `
version: 1
api_server:
  workers: 4
  http: {host: 127.0.0.1, port: 0, cors: {enabled: true, access_control_allow_origins: "*", access_control_allow_methods: "*"}, response: {trace_id: true}}
  logging: {access: {enabled: true, request_content_length: true, request_content_type: true, response_content_length: true, response_content_type: true, format: {trace_id: 032x, span_id: 016x}}}
  ssl: {enabled: true, certfile: "` + f.ServerCert + `", keyfile: "` + f.ServerKey + `", ca_certs: "` + f.CA + `", cert_reqs: 1, version: 17, ciphers: TLSv1}
runners:
  resources: {cpu: 3}
  workers_per_resource: 1
  logging: {access: {enabled: true}}
tracing: {exporter_type: otlp, sample_rate: 1.0, otlp: {protocol: grpc, endpoint: "http://` + otlpAddr + `"}}
`
	path := filepath.Join(dir, "bentoml_configuration.yaml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.LoadOptions{File: path, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	log, buf := jsonLogger()
	srv := startHTTPWith(t, kitchenSink(t), cfg, log)
	resp, err := tlsClient(f, false).Post(srv.URL()+"/v1/shout", "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "HI" || resp.Header.Get("X-BentoML-Trace-ID") == "" {
		t.Errorf("shout: %q %v", body, resp.Header)
	}
	out := buf.String()
	for _, want := range []string{
		"api_server.workers=4: gobento serves from one process",
		"runner upper: resources and workers_per_resource give 3 workers (cpu 3 × workers_per_resource 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	// The request's server span went to the OTLP receiver, with the trace
	// id the response header gave in decimal.
	id, _ := new(big.Int).SetString(resp.Header.Get("X-BentoML-Trace-ID"), 10)
	shutdown(t, srv)
	if got := spans.names(fmt.Sprintf("%032x", id)); !slices.Contains(got, "POST /v1/shout") {
		t.Errorf("spans of trace %032x: %q, want the server span POST /v1/shout", id, got)
	}
	mfs, _ := srv.Gatherer().Gather()
	for _, mf := range mfs {
		if mf.GetName() == "bentoml_runner_workers" {
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != 3 {
				t.Errorf("bentoml_runner_workers = %v, want 3", v)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestSSLFlags serves with serve-http's and serve-grpc's --ssl-* flags: a
// wrong --ssl-keyfile-password stops start-up with an error naming the
// key; the right flags serve HTTPS (and gRPC over TLS).
func TestSSLFlags(t *testing.T) {
	dir := t.TempDir()
	f := tlstest.Generate(t, dir)
	var out, errOut syncBuffer
	err := bento.Execute(context.Background(), kitchenSink(t), []string{"serve-http", "--host", "127.0.0.1", "--port", "0",
		"--ssl-certfile", f.ServerCert, "--ssl-keyfile", filepath.Join(dir, "missing-key.pem")}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "api_server.ssl.keyfile") {
		t.Errorf("missing --ssl-keyfile: err = %v", err)
	}
	for _, cmd := range []string{"serve-http", "serve-grpc"} {
		t.Run(cmd, func(t *testing.T) {
			port := freePort(t)
			args := []string{cmd, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--ssl-certfile", f.ServerCert, "--ssl-keyfile", f.ServerKey, "--ssl-ca-certs", f.CA}
			if cmd == "serve-http" {
				args = append(args, "--ssl-cert-reqs", "2", "--ssl-version", "17", "--ssl-ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256")
			}
			t.Setenv("BENTOML_CONFIG_OPTIONS", "api_server.grpc.metrics.host=127.0.0.1 api_server.grpc.metrics.port="+strconv.Itoa(freePort(t)))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- bento.Execute(ctx, kitchenSink(t), args, &out, &errOut) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("%s exit: %v", cmd, err)
				}
			}()
			addr := "127.0.0.1:" + strconv.Itoa(port)
			tc := &tls.Config{RootCAs: f.CAPool, Certificates: []tls.Certificate{f.ClientPair}}
			deadline := time.Now().Add(10 * time.Second)
			for {
				var ok bool
				if cmd == "serve-http" {
					c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: time.Second}
					if resp, err := c.Get("https://" + addr + "/readyz"); err == nil {
						ok = resp.StatusCode == 200
						resp.Body.Close()
					}
				} else if conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(tc))); err == nil {
					cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
					resp, err := pb.NewBentoServiceClient(conn).Call(cctx, &pb.Request{ApiName: "echo", Content: &pb.Request_Text{Text: wrapperspb.String("tls")}})
					ok = err == nil && resp.GetText().GetValue() == "tls"
					ccancel()
					conn.Close()
				}
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s with --ssl-* flags did not serve over TLS: %s", cmd, errOut.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestGRPCAccessLog checks serve-grpc's access log: one line per Call with
// the API name and status, the size fields as configured, none when off.
func TestGRPCAccessLog(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		t.Run(strconv.FormatBool(enabled), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.APIServer.Logging.Access.Enabled = enabled
			cfg.APIServer.Logging.Access.ResponseContentType = nil
			log, buf := jsonLogger()
			_, client, _ := startGRPCWith(t, kitchenSink(t), cfg, log)
			if _, err := client.Call(context.Background(), &pb.Request{ApiName: "echo", Content: &pb.Request_Text{Text: wrapperspb.String("hi")}}); err != nil {
				t.Fatal(err)
			}
			_, _ = client.Call(context.Background(), &pb.Request{ApiName: "nope"})
			var calls []map[string]any
			for _, l := range logLines(t, buf, "access") {
				if l["method"] == "/bentoml.grpc.v1.BentoService/Call" {
					calls = append(calls, l)
				}
			}
			if !enabled {
				if len(calls) != 0 {
					t.Fatalf("access log off, got %v", calls)
				}
				return
			}
			if len(calls) != 2 {
				t.Fatalf("%d Call lines, want 2:\n%s", len(calls), buf.String())
			}
			ok, bad := calls[0], calls[1]
			if ok["api_name"] != "echo" || ok["status"] != "OK" || ok["scheme"] != "grpc" || ok["request_content_length"] == nil || ok["response_content_length"] == nil {
				t.Errorf("echo line %v", ok)
			}
			if _, has := ok["response_content_type"]; has {
				t.Errorf("response_content_type logged while switched off: %v", ok)
			}
			if bad["api_name"] != "nope" || bad["status"] != "InvalidArgument" {
				t.Errorf("unknown API line %v", bad)
			}
		})
	}
}

package tracing

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/otlpendpoint"
)

// Default endpoints, as BentoML's exporters use them.
const (
	defaultZipkin   = "http://localhost:9411/api/v2/spans"
	defaultOTLPHTTP = "http://localhost:4318/v1/traces"
	defaultOTLPGRPC = "localhost:4317"
	// Jaeger's own ports for OTLP (Jaeger ≥ 1.35).
	jaegerOTLPHTTP = "4318"
	jaegerOTLPGRPC = "4317"
)

// newExporter returns the exporter for exporter_type typ and the notes to
// log about how the keys were honoured.
func newExporter(ctx context.Context, typ string, cfg config.Tracing) (sdktrace.SpanExporter, []string, error) {
	var timeout time.Duration
	if cfg.Timeout != nil {
		timeout = time.Duration(*cfg.Timeout) * time.Second
	}
	switch typ {
	case "zipkin":
		return zipkinExporter(cfg, timeout)
	case "otlp":
		proto := "http"
		if p := cfg.OTLP.Protocol; p != nil {
			proto = strings.ToLower(*p)
		}
		endpoint := ""
		if cfg.OTLP.Endpoint != nil {
			endpoint = *cfg.OTLP.Endpoint
		}
		comp := "none"
		if c := cfg.OTLP.Compression; c != nil {
			comp = strings.ToLower(*c)
		}
		if proto == "grpc" {
			headers, err := headerList(cfg.OTLP.GRPC.Headers)
			if err != nil {
				return nil, nil, err
			}
			insecure := cfg.OTLP.GRPC.Insecure != nil && *cfg.OTLP.GRPC.Insecure
			e, err := otlpGRPC(ctx, endpoint, insecure, comp, headers, timeout)
			return e, nil, err
		}
		e, err := otlpHTTP(ctx, endpoint, comp, cfg.OTLP.HTTP.CertificateFile, cfg.OTLP.HTTP.Headers, timeout)
		return e, nil, err
	case "jaeger":
		return jaegerExporter(ctx, cfg, timeout)
	case "in_memory":
		return discard{}, []string{"tracing.exporter_type=in_memory: spans are made, sampled and discarded (BentoML's test exporter; nothing is kept in memory)"}, nil
	}
	return nil, nil, fmt.Errorf("tracing.exporter_type: %q is not one of zipkin, jaeger, otlp, in_memory", typ)
}

func zipkinExporter(cfg config.Tracing, timeout time.Duration) (sdktrace.SpanExporter, []string, error) {
	endpoint := defaultZipkin
	if cfg.Zipkin.Endpoint != nil {
		endpoint = *cfg.Zipkin.Endpoint
	}
	if _, err := url.ParseRequestURI(endpoint); err != nil {
		return nil, nil, fmt.Errorf("tracing.zipkin.endpoint: %q is not a URL: %w", endpoint, err)
	}
	var notes []string
	if cfg.Zipkin.LocalNodeIPv4 != nil || cfg.Zipkin.LocalNodeIPv6 != nil || cfg.Zipkin.LocalNodePort != nil {
		notes = append(notes, "tracing.zipkin.local_node_*: not sent; the OpenTelemetry Go Zipkin exporter names the local endpoint by the service name only")
	}
	client := &http.Client{Timeout: timeout}
	if timeout == 0 {
		client.Timeout = exportTimeout
	}
	return &zipkinJSON{url: endpoint, client: client}, notes, nil
}

func otlpHTTP(ctx context.Context, endpoint, comp string, certFile *string, headers map[string]string, timeout time.Duration) (sdktrace.SpanExporter, error) {
	var opts []otlptracehttp.Option
	switch {
	case endpoint != "":
		ep, err := otlpendpoint.HTTP(endpoint, "/v1/traces")
		if err != nil {
			return nil, fmt.Errorf("tracing.otlp.endpoint: %w", err)
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(ep))
	case os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "":
		opts = append(opts, otlptracehttp.WithEndpointURL(defaultOTLPHTTP))
	}
	switch comp {
	case "gzip":
		opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	case "none", "":
		opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.NoCompression))
	default:
		return nil, fmt.Errorf("tracing.otlp.compression: %q cannot be sent by the OpenTelemetry Go exporter; use gzip or none", comp)
	}
	if certFile != nil && *certFile != "" {
		pem, err := os.ReadFile(*certFile)
		if err != nil {
			return nil, fmt.Errorf("tracing.otlp.http.certificate_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tracing.otlp.http.certificate_file: %s holds no PEM certificate", *certFile)
		}
		opts = append(opts, otlptracehttp.WithTLSClientConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	if len(headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(headers))
	}
	if timeout > 0 {
		opts = append(opts, otlptracehttp.WithTimeout(timeout))
	}
	e, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing.otlp (http): %w", err)
	}
	return e, nil
}

func otlpGRPC(ctx context.Context, endpoint string, insecure bool, comp string, headers map[string]string, timeout time.Duration) (sdktrace.SpanExporter, error) {
	var opts []otlptracegrpc.Option
	switch {
	case endpoint != "":
		hp, plain, err := otlpendpoint.GRPC(endpoint, insecure)
		if err != nil {
			return nil, fmt.Errorf("tracing.otlp.endpoint: %w", err)
		}
		opts, insecure = append(opts, otlptracegrpc.WithEndpoint(hp)), plain
	case os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "":
		opts = append(opts, otlptracegrpc.WithEndpoint(defaultOTLPGRPC))
	}
	if insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	switch comp {
	case "gzip":
		opts = append(opts, otlptracegrpc.WithCompressor("gzip"))
	case "none", "":
	default:
		return nil, fmt.Errorf("tracing.otlp.compression: %q cannot be sent by the OpenTelemetry Go exporter; use gzip or none", comp)
	}
	if len(headers) > 0 {
		opts = append(opts, otlptracegrpc.WithHeaders(headers))
	}
	if timeout > 0 {
		opts = append(opts, otlptracegrpc.WithTimeout(timeout))
	}
	e, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing.otlp (grpc): %w", err)
	}
	return e, nil
}

// jaegerExporter sends a Jaeger configuration's spans as OTLP to the same
// Jaeger host: the OpenTelemetry Go Jaeger exporter no longer exists, and
// Jaeger ≥ 1.35 receives OTLP on ports 4317 (gRPC) and 4318 (HTTP).
func jaegerExporter(ctx context.Context, cfg config.Tracing, timeout time.Duration) (sdktrace.SpanExporter, []string, error) {
	j, err := jaegerTarget(cfg.Jaeger)
	if err != nil {
		return nil, nil, err
	}
	notes := []string{j.note}
	if cfg.Jaeger.Thrift.UDPSplitOversizedBatches != nil || cfg.Jaeger.Thrift.AgentPort != nil {
		notes = append(notes, "tracing.jaeger.thrift.agent_port and udp_split_oversized_batches: not used; spans go to Jaeger's OTLP port")
	}
	if j.grpc {
		e, err := otlpGRPC(ctx, j.endpoint, j.insecure, "none", nil, timeout)
		return e, notes, err
	}
	e, err := otlpHTTP(ctx, j.endpoint, "none", nil, nil, timeout)
	return e, notes, err
}

// jaegerOTLP is where a Jaeger configuration's spans go.
type jaegerOTLP struct {
	grpc     bool
	endpoint string // host:port for gRPC, a URL for HTTP
	insecure bool
	note     string // the start-up log line saying so
}

// jaegerTarget maps BentoML's Jaeger keys to Jaeger's OTLP receiver: the
// collector endpoint's host (or the thrift agent's), port 4317 for the
// grpc protocol (plaintext unless tracing.jaeger.grpc.insecure is false),
// 4318 and HTTP for thrift.
func jaegerTarget(j config.Jaeger) (jaegerOTLP, error) {
	proto := "thrift"
	if j.Protocol != nil {
		proto = strings.ToLower(*j.Protocol)
	}
	host := "localhost"
	if ep := j.CollectorEndpoint; ep != nil && *ep != "" {
		h, err := hostOf(*ep)
		if err != nil {
			return jaegerOTLP{}, fmt.Errorf("tracing.jaeger.collector_endpoint: %w", err)
		}
		host = h
	} else if a := j.Thrift.AgentHostName; a != nil && *a != "" && proto == "thrift" {
		host = *a
	}
	const why = "the OpenTelemetry Go Jaeger exporter no longer exists and Jaeger ≥ 1.35 receives OTLP"
	if proto == "grpc" {
		insecure := j.GRPC.Insecure == nil || *j.GRPC.Insecure
		ep := net.JoinHostPort(host, jaegerOTLPGRPC)
		return jaegerOTLP{grpc: true, endpoint: ep, insecure: insecure,
			note: fmt.Sprintf("tracing.exporter_type=jaeger (grpc): %s: sending OTLP over gRPC to %s (insecure=%t)", why, ep, insecure)}, nil
	}
	ep := "http://" + net.JoinHostPort(host, jaegerOTLPHTTP) + "/v1/traces"
	return jaegerOTLP{endpoint: ep, note: fmt.Sprintf("tracing.exporter_type=jaeger (thrift): %s: sending OTLP over HTTP to %s", why, ep)}, nil
}

// hostOf returns the host of a URL or of host:port.
func hostOf(s string) (string, error) {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Hostname() == "" {
			return "", fmt.Errorf("%q is not a URL", s)
		}
		return u.Hostname(), nil
	}
	h, _, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port or a URL", s)
	}
	return h, nil
}

// headerList reads tracing.otlp.grpc.headers: "key=value" entries.
func headerList(list config.StringList) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(list))
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("tracing.otlp.grpc.headers: %q is not key=value", kv)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, nil
}

// discard is the in_memory exporter: it keeps nothing.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

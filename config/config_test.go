package config_test

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gobento/bento/config"
)

var defaultBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

func ptr[T any](v T) *T { return &v }

// allErrors flattens joined errors into the *config.Error values.
func allErrors(t *testing.T, err error) []*config.Error {
	t.Helper()
	var out []*config.Error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *config.Error
		if !errors.As(e, &ce) {
			t.Errorf("error %v (%T) is not a *config.Error", e, e)
			return
		}
		out = append(out, ce)
	}
	if err != nil {
		walk(err)
	}
	return out
}

// wantErr describes one expected *config.Error; empty fields are not checked.
type wantErr struct {
	key  string
	line int
	msg  string // substring of Error()
}

// checkErrors asserts that every want is matched by some error.
func checkErrors(t *testing.T, err error, wants ...wantErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %+v", wants)
	}
	errs := allErrors(t, err)
	for _, w := range wants {
		found := false
		for _, e := range errs {
			if (w.key == "" || e.Key == w.key) && (w.line == 0 || e.Line == w.line) && strings.Contains(e.Error(), w.msg) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no error matches %+v; got:\n%v", w, err)
		}
	}
}

func mustParse(t *testing.T, y string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(y), "test.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func mustBuckets(t *testing.T, m config.Metrics) []float64 {
	t.Helper()
	b, err := m.Buckets()
	if err != nil {
		t.Fatalf("Buckets: %v", err)
	}
	return b
}

func fmtList(b []float64) string {
	s := make([]string, len(b))
	for i, v := range b {
		s[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

func TestDefault(t *testing.T) {
	c := config.Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", c.Version, 1},
		{"http.host", c.APIServer.HTTP.Host, "0.0.0.0"},
		{"http.port", c.APIServer.HTTP.Port, 3000},
		{"http.max_request_size", c.APIServer.HTTP.MaxRequestSize, int64(20971520)},
		{"http.read_header_timeout", c.APIServer.HTTP.ReadHeaderTimeout, 10.0},
		{"http.read_timeout", c.APIServer.HTTP.ReadTimeout, 60.0},
		{"http.idle_timeout", c.APIServer.HTTP.IdleTimeout, 120.0},
		{"http.max_header_bytes", c.APIServer.HTTP.MaxHeaderBytes, 1048576},
		{"grpc.host", c.APIServer.GRPC.Host, "0.0.0.0"},
		{"grpc.port", c.APIServer.GRPC.Port, 3000},
		{"grpc.metrics", c.APIServer.GRPC.Metrics, config.GRPCMetrics{Host: "0.0.0.0", Port: 3001}},
		{"grpc.reflection", c.APIServer.GRPC.Reflection.Enabled, false},
		{"grpc.max_concurrent_streams", c.APIServer.GRPC.MaxConcurrentStreams, (*uint32)(nil)},
		{"grpc.max_message_length", c.APIServer.GRPC.MaxMessageLength, -1},
		{"grpc.maximum_concurrent_rpcs", c.APIServer.GRPC.MaximumConcurrentRPCs, (*int)(nil)},
		{"traffic", c.APIServer.Traffic, config.Traffic{Timeout: 60}},
		{"metrics.enabled", c.APIServer.Metrics.Enabled, true},
		{"dashboard.enabled", c.APIServer.Dashboard.Enabled, true},
		{"metrics.namespace", c.APIServer.Metrics.Namespace, "bentoml_api_server"},
		{"metrics.duration", c.APIServer.Metrics.Duration, config.Duration{Buckets: defaultBuckets}},
		{"metrics.host", c.APIServer.Metrics.Host, (*string)(nil)},
		{"metrics.port", c.APIServer.Metrics.Port, (*int)(nil)},
		{"shutdown_timeout", c.APIServer.ShutdownTimeout, 30.0},
		{"runners.batching", c.Runners.Batching, config.Batching{Enabled: true, MaxBatchSize: 100, MaxLatencyMs: 60000}},
		{"runners.traffic", c.Runners.Traffic, config.Traffic{Timeout: 900}},
		{"runners.metrics", c.Runners.Metrics, config.Metrics{Enabled: true, Namespace: "bentoml_runner", Duration: config.Duration{Buckets: defaultBuckets}}},
		{"runners.workers", c.Runners.Workers, 0},
		{"per runner", len(c.Runners.PerRunner), 0},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
	if got := mustBuckets(t, c.APIServer.Metrics); !slices.Equal(got, defaultBuckets) {
		t.Errorf("default buckets = %v", got)
	}
	if got := c.Runner("anything"); !reflect.DeepEqual(got, c.Runners.RunnerConfig) {
		t.Errorf("Runner without a block = %+v, want the global block", got)
	}
	// Default returns independent values.
	c.APIServer.Metrics.Duration.Buckets[0] = 42
	if config.Default().APIServer.Metrics.Duration.Buckets[0] != 0.005 {
		t.Error("Default shares its bucket slice between calls")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, c *config.Config)
	}{
		{"empty document", "", func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 3000 || c.Version != 1 {
				t.Errorf("not defaults: %+v", c.APIServer.HTTP)
			}
		}},
		{"null blocks", "version: 1\napi_server:\nrunners:\n", func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 3000 {
				t.Error("null block changed defaults")
			}
		}},
		{"guide duration example", `
api_server:
  metrics:
    duration:
      min: 0.1
      max: 5.0
      factor: 2.0
`, func(t *testing.T, c *config.Config) {
			if got := fmtList(mustBuckets(t, c.APIServer.Metrics)); got != "0.1,0.2,0.4,0.8,1.6,3.2,5" {
				t.Errorf("buckets = %s", got)
			}
			if c.APIServer.Metrics.Duration.Buckets != nil {
				t.Error("the default list should be dropped when min/max/factor are set")
			}
			if got := mustBuckets(t, c.Runners.Metrics); !slices.Equal(got, defaultBuckets) {
				t.Errorf("runner buckets changed: %v", got)
			}
		}},
		{"integers where floats are expected", "api_server:\n  traffic: {timeout: 5}\n  metrics:\n    duration: {min: 1, max: 10, factor: 2}\n", func(t *testing.T, c *config.Config) {
			if got := fmtList(mustBuckets(t, c.APIServer.Metrics)); got != "1,2,4,8,10" {
				t.Errorf("buckets = %s", got)
			}
			if c.APIServer.Traffic.Timeout != 5 {
				t.Errorf("timeout = %v", c.APIServer.Traffic.Timeout)
			}
		}},
		{"explicit buckets with trailing inf", "api_server:\n  metrics:\n    duration:\n      buckets: [0.1, 0.2, 0.5, 1, 2, 5, 10, .inf]\n", func(t *testing.T, c *config.Config) {
			if got := fmtList(mustBuckets(t, c.APIServer.Metrics)); got != "0.1,0.2,0.5,1,2,5,10" {
				t.Errorf("buckets = %s", got)
			}
		}},
		{"null buckets with min/max/factor", "api_server:\n  metrics:\n    duration: {buckets: null, min: 0.1, max: 10, factor: 1.2}\n", func(t *testing.T, c *config.Config) {
			b := mustBuckets(t, c.APIServer.Metrics)
			if !strings.Contains(fmtList(b), "0.17279999999999998") || b[len(b)-1] != 10 {
				t.Errorf("buckets = %s", fmtList(b))
			}
		}},
		{"null buckets alone means default", "runners:\n  metrics:\n    duration: {buckets: ~}\n", func(t *testing.T, c *config.Config) {
			if got := mustBuckets(t, c.Runners.Metrics); !slices.Equal(got, defaultBuckets) {
				t.Errorf("buckets = %v", got)
			}
		}},
		{"every key", `
version: 1
api_server:
  http: {host: "::1", port: 0, max_request_size: 1024, read_header_timeout: 1.5, read_timeout: 2, idle_timeout: 3, max_header_bytes: 4096,
         write_timeout: 4, max_connections: 500, body_memory_limit: 2048, linger_timeout: 0.5, linger_bytes: 1000}
  grpc:
    host: localhost
    max_header_list_size: 8192
    max_connections: 300
    max_connection_age: 60
    port: 50051
    metrics: {host: 127.0.0.1, port: 50052}
    reflection: {enabled: true}
    max_concurrent_streams: 128
    max_message_length: 1048576
    maximum_concurrent_rpcs: 64
  traffic: {timeout: 2.5, max_concurrency: 32}
  metrics: {enabled: false, namespace: "my:ns_1", host: 127.0.0.1, port: 9090,
            native_histograms: {enabled: true, bucket_factor: 1.05, max_buckets: 300},
            otlp: {enabled: true, protocol: grpc, endpoint: "collector:4317", interval: 15, timeout: 5, insecure: true, headers: {api-key: k}}}
  dashboard: {enabled: false}
  shutdown_timeout: 5
runners:
  batching: {enabled: false, max_batch_size: 8, max_latency_ms: 250}
  traffic: {timeout: 30, max_concurrency: 4}
  metrics: {enabled: false, namespace: runner_ns, duration: {buckets: [1, 2]}}
  workers: 3
`, func(t *testing.T, c *config.Config) {
			a := c.APIServer
			want := config.APIServer{
				HTTP: config.HTTP{Host: "::1", Port: 0, MaxRequestSize: 1024, ReadHeaderTimeout: 1.5, ReadTimeout: 2, IdleTimeout: 3, MaxHeaderBytes: 4096,
					WriteTimeout: 4, MaxConnections: 500, BodyMemoryLimit: 2048, LingerTimeout: 0.5, LingerBytes: 1000},
				GRPC: config.GRPC{Host: "localhost", Port: 50051, Metrics: config.GRPCMetrics{Host: "127.0.0.1", Port: 50052},
					Reflection: config.GRPCReflection{Enabled: true}, MaxConcurrentStreams: ptr[uint32](128), MaxMessageLength: 1048576, MaximumConcurrentRPCs: ptr(64),
					MaxHeaderListSize: 8192, MaxConnections: 300, MaxConnectionAge: 60},
				Traffic: config.Traffic{Timeout: 2.5, MaxConcurrency: ptr(32)},
				Metrics: config.Metrics{Namespace: "my:ns_1", Duration: config.Duration{Buckets: defaultBuckets}, Host: ptr("127.0.0.1"), Port: ptr(9090),
					NativeHistograms: config.NativeHistograms{Enabled: true, BucketFactor: 1.05, MaxBuckets: 300},
					OTLP:             config.OTLPMetrics{Enabled: true, Protocol: "grpc", Endpoint: "collector:4317", Interval: 15, Timeout: 5, Insecure: true, Headers: config.StringMap{"api-key": "k"}}},
				ShutdownTimeout: 5,
				Logging:         config.Default().APIServer.Logging,
				SSL:             config.Default().APIServer.SSL,
			}
			if !reflect.DeepEqual(a, want) {
				t.Errorf("api_server =\n%+v\nwant\n%+v", a, want)
			}
			r := c.Runners.RunnerConfig
			wantR := config.RunnerConfig{
				Batching: config.Batching{MaxBatchSize: 8, MaxLatencyMs: 250},
				Traffic:  config.Traffic{Timeout: 30, MaxConcurrency: ptr(4)},
				Metrics:  config.Metrics{Namespace: "runner_ns", Duration: config.Duration{Buckets: []float64{1, 2}}},
				Workers:  3,

				WorkersPerResource: 1,
				Logging:            config.Default().Runners.Logging,
			}
			if !reflect.DeepEqual(r, wantR) {
				t.Errorf("runners =\n%+v\nwant\n%+v", r, wantR)
			}
		}},
		{"YAML 1.1 booleans and anchors", `
runners:
  batching: &b {enabled: no, max_batch_size: 7}
  iris_clf:
    batching: *b
api_server:
  grpc:
    reflection: {enabled: on}
`, func(t *testing.T, c *config.Config) {
			if c.Runners.Batching.Enabled || c.Runners.Batching.MaxBatchSize != 7 || !c.APIServer.GRPC.Reflection.Enabled {
				t.Errorf("got %+v, reflection %v", c.Runners.Batching, c.APIServer.GRPC.Reflection)
			}
			if r := c.Runner("iris_clf"); r.Batching.MaxBatchSize != 7 || r.Batching.Enabled {
				t.Errorf("iris_clf batching %+v", r.Batching)
			}
		}},
		{"runner names", "runners:\n  iris_clf: {workers: 2}\n  my.runner-1: {}\n  \"0\": ~\n", func(t *testing.T, c *config.Config) {
			if len(c.Runners.PerRunner) != 3 || c.Runner("iris_clf").Workers != 2 {
				t.Errorf("PerRunner = %+v", c.Runners.PerRunner)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustParse(t, tt.yaml))
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []wantErr
	}{
		{"unknown key with line", "api_server:\n  metrics:\n    enabled: true\n    namepsace: x\n",
			[]wantErr{{"api_server.metrics.namepsace", 4, "config: api_server.metrics.namepsace (test.yaml line 4): unknown key"}}},
		{"unknown top-level key", "versoin: 1\n", []wantErr{{"versoin", 1, "unknown key"}}},
		{"unknown runner key", "runners:\n  batching:\n    size: 3\n", []wantErr{{"runners.batching.size", 3, "unknown key"}}},
		{"unknown key in runner block", "runners:\n  iris:\n    batching:\n      max_batch: 3\n", []wantErr{{"runners.iris.batching.max_batch", 4, "unknown key"}}},
		{"old key name hint", "api_server:\n  port: 3000\n", []wantErr{{"api_server.port", 2, "did you mean api_server.http.port?"}}},
		{"unsupported BentoML key", "api_server:\n  backlog: 4096\n", []wantErr{{"api_server.backlog", 2, "does not support"}}},
		{"renamed BentoML key", "api_server:\n  cors: {enabled: true}\n", []wantErr{{"api_server.cors", 2, "did you mean api_server.http.cors?"}}},
		{"wrong type string for int", "api_server:\n  http:\n    port: abc\n", []wantErr{{"api_server.http.port", 3, `expected an integer, got string "abc"`}}},
		{"quoted number is a string", "api_server:\n  http:\n    port: \"3000\"\n", []wantErr{{"api_server.http.port", 3, "expected an integer"}}},
		{"float for int", "runners:\n  batching:\n    max_batch_size: 1.5\n", []wantErr{{"runners.batching.max_batch_size", 3, "expected an integer, got number 1.5"}}},
		{"int for string", "api_server:\n  metrics:\n    namespace: 12\n", []wantErr{{"api_server.metrics.namespace", 3, "expected a string"}}},
		{"int for bool", "api_server:\n  metrics:\n    enabled: 3\n", []wantErr{{"api_server.metrics.enabled", 3, "expected a boolean"}}},
		{"quoted yes is not a bool", "api_server:\n  metrics:\n    enabled: \"yes\"\n", []wantErr{{"api_server.metrics.enabled", 3, "expected a boolean"}}},
		{"scalar for block", "api_server: 5\n", []wantErr{{"api_server", 1, "expected a mapping, got integer 5"}}},
		{"list for block", "api_server:\n  http: [1]\n", []wantErr{{"api_server.http", 2, "expected a mapping, got a list"}}},
		{"scalar for list", "api_server:\n  metrics:\n    duration:\n      buckets: 1\n", []wantErr{{"api_server.metrics.duration.buckets", 4, "expected a list of numbers"}}},
		{"bad list element", "api_server:\n  metrics:\n    duration:\n      buckets:\n        - 1\n        - x\n", []wantErr{{"api_server.metrics.duration.buckets[1]", 6, "expected a number"}}},
		{"null scalar", "api_server:\n  http:\n    port:\n", []wantErr{{"api_server.http.port", 3, "must not be null"}}},
		{"top level not a mapping", "- 1\n", []wantErr{{"", 1, "must be a mapping"}}},
		{"int overflow", "api_server:\n  http:\n    max_request_size: 99999999999999999999\n", []wantErr{{"api_server.http.max_request_size", 3, "out of range"}}},
		{"uint32 overflow", "api_server:\n  grpc:\n    max_concurrent_streams: 4294967296\n", []wantErr{{"api_server.grpc.max_concurrent_streams", 3, "between 0 and 4294967295"}}},
		{"negative uint32", "api_server:\n  grpc:\n    max_concurrent_streams: -1\n", []wantErr{{"api_server.grpc.max_concurrent_streams", 3, "between 0 and"}}},
		{"duplicate key", "api_server:\n  http:\n    port: 1\n    port: 2\n", []wantErr{{"api_server.http.port", 4, "duplicate key"}}},
		{"merge key", "base: &b {port: 1}\n", []wantErr{{"base", 1, "unknown key"}}},
		{"merge key in block", "api_server:\n  http:\n    <<: {port: 1}\n", []wantErr{{`api_server.http."<<"`, 3, "merge keys"}}},
		{"syntax error", "api_server:\n  http: [1\n", []wantErr{{"", 0, "invalid YAML"}}},
		{"multiple documents", "version: 1\n---\nversion: 1\n", []wantErr{{"", 0, "multiple YAML documents"}}},
		{"version 2", "version: 2\n", []wantErr{{"version", 1, "unsupported version 2"}}},
		{"version as string", "version: \"1\"\n", []wantErr{{"version", 1, "expected an integer"}}},
		{"port out of range", "api_server:\n  http:\n    port: 70000\n", []wantErr{{"api_server.http.port", 3, "between 0 and 65535"}}},
		{"negative port", "api_server:\n  grpc:\n    metrics:\n      port: -1\n", []wantErr{{"api_server.grpc.metrics.port", 4, "between 0 and 65535"}}},
		{"bad host", "api_server:\n  http:\n    host: example.com\n", []wantErr{{"api_server.http.host", 3, "IP address"}}},
		{"empty host", "api_server:\n  grpc:\n    host: \"\"\n", []wantErr{{"api_server.grpc.host", 3, "IP address"}}},
		{"zero timeout", "api_server:\n  traffic:\n    timeout: 0\n", []wantErr{{"api_server.traffic.timeout", 3, "must be a finite number of seconds > 0, got 0"}}},
		{"negative timeout", "runners:\n  traffic:\n    timeout: -1\n", []wantErr{{"runners.traffic.timeout", 3, "> 0"}}},
		{"infinite timeout", "api_server:\n  http:\n    read_timeout: .inf\n", []wantErr{{"api_server.http.read_timeout", 3, "finite"}}},
		{"nan timeout", "api_server:\n  shutdown_timeout: .nan\n", []wantErr{{"api_server.shutdown_timeout", 2, "> 0"}}},
		{"zero max_concurrency", "api_server:\n  traffic:\n    max_concurrency: 0\n", []wantErr{{"api_server.traffic.max_concurrency", 3, "> 0 or null"}}},
		{"zero max_batch_size", "runners:\n  batching:\n    max_batch_size: 0\n", []wantErr{{"runners.batching.max_batch_size", 3, "> 0"}}},
		{"zero max_latency_ms", "runners:\n  batching:\n    max_latency_ms: 0\n", []wantErr{{"runners.batching.max_latency_ms", 3, "> 0"}}},
		{"negative workers", "runners:\n  workers: -1\n", []wantErr{{"runners.workers", 2, ">= 0"}}},
		{"100000 workers", "runners:\n  workers: 100000\n", []wantErr{{"runners.workers", 2, "at most 1024"}}},
		{"timeout that overflows", "api_server:\n  shutdown_timeout: 1e10\n", []wantErr{{"api_server.shutdown_timeout", 2, "at most 31536000 s"}}},
		{"timeout that rounds to zero", "api_server:\n  traffic: {timeout: 1e-10}\n", []wantErr{{"api_server.traffic.timeout", 2, "round to no time"}}},
		{"infinite write timeout", "api_server:\n  http: {write_timeout: .inf}\n", []wantErr{{"api_server.http.write_timeout", 2, "finite"}}},
		{"otlp metrics protocol", "api_server:\n  metrics:\n    otlp: {protocol: thrift}\n", []wantErr{{"api_server.metrics.otlp.protocol", 3, "must be http or grpc"}}},
		{"otlp metrics interval", "api_server:\n  metrics:\n    otlp: {interval: 0}\n", []wantErr{{"api_server.metrics.otlp.interval", 3, "> 0"}}},
		{"otlp metrics on runners", "runners:\n  metrics:\n    otlp: {enabled: true}\n", []wantErr{{"runners.metrics.otlp", 0, "only allowed under api_server.metrics"}}},
		{"native histogram factor", "api_server:\n  metrics:\n    native_histograms: {enabled: true, bucket_factor: 1}\n", []wantErr{{"api_server.metrics.native_histograms.bucket_factor", 3, "must be > 1"}}},
		{"native histogram buckets", "api_server:\n  metrics:\n    native_histograms: {max_buckets: 0}\n", []wantErr{{"api_server.metrics.native_histograms.max_buckets", 3, "between 1 and 10000"}}},
		{"native histograms on runners", "runners:\n  metrics:\n    native_histograms: {enabled: true}\n", []wantErr{{"runners.metrics.native_histograms", 0, "only allowed under api_server.metrics"}}},
		{"body memory below the request size", "api_server:\n  http: {max_request_size: 1000, body_memory_limit: 999}\n", []wantErr{{"api_server.http.body_memory_limit", 2, "at least api_server.http.max_request_size"}}},
		{"negative max_connections", "api_server:\n  http: {max_connections: -1}\n", []wantErr{{"api_server.http.max_connections", 2, ">= 0"}}},
		{"tiny gRPC header list", "api_server:\n  grpc: {max_header_list_size: 10}\n", []wantErr{{"api_server.grpc.max_header_list_size", 2, "at least 1024"}}},
		{"huge invalid host is clipped", "api_server:\n  http: {host: \"" + strings.Repeat("x", 5000) + "\"}\n", []wantErr{{"api_server.http.host", 2, "xxx..."}}},
		{"zero max_request_size", "api_server:\n  http:\n    max_request_size: 0\n", []wantErr{{"api_server.http.max_request_size", 3, "> 0"}}},
		{"zero max_header_bytes", "api_server:\n  http:\n    max_header_bytes: 0\n", []wantErr{{"api_server.http.max_header_bytes", 3, "> 0"}}},
		{"zero max_message_length", "api_server:\n  grpc:\n    max_message_length: 0\n", []wantErr{{"api_server.grpc.max_message_length", 3, "-1 (unlimited) or > 0"}}},
		{"max_message_length -2", "api_server:\n  grpc:\n    max_message_length: -2\n", []wantErr{{"api_server.grpc.max_message_length", 3, "-1"}}},
		{"zero max_concurrent_streams", "api_server:\n  grpc:\n    max_concurrent_streams: 0\n", []wantErr{{"api_server.grpc.max_concurrent_streams", 3, "> 0 or null"}}},
		{"zero maximum_concurrent_rpcs", "api_server:\n  grpc:\n    maximum_concurrent_rpcs: 0\n", []wantErr{{"api_server.grpc.maximum_concurrent_rpcs", 3, "> 0 or null"}}},
		{"bad namespace", "api_server:\n  metrics:\n    namespace: 1abc\n", []wantErr{{"api_server.metrics.namespace", 3, "[a-zA-Z_:]"}}},
		{"namespace with dash", "runners:\n  metrics:\n    namespace: my-ns\n", []wantErr{{"runners.metrics.namespace", 3, "Prometheus"}}},
		{"buckets and min", "api_server:\n  metrics:\n    duration:\n      buckets: [1, 2]\n      min: 0.1\n      max: 5\n      factor: 2\n",
			[]wantErr{{"api_server.metrics.duration.buckets", 4, "cannot be combined with api_server.metrics.duration.min (test.yaml line 5)"}}},
		{"min >= max", "api_server:\n  metrics:\n    duration: {min: 5, max: 5, factor: 2}\n", []wantErr{{"api_server.metrics.duration.min", 3, "must be < max (5), got 5"}}},
		{"min > max", "runners:\n  metrics:\n    duration: {min: 6, max: 5, factor: 2}\n", []wantErr{{"runners.metrics.duration.min", 3, "must be < max"}}},
		{"factor <= 1", "api_server:\n  metrics:\n    duration: {min: 0.1, max: 5, factor: 1}\n", []wantErr{{"api_server.metrics.duration.factor", 3, "must be > 1, got 1"}}},
		{"non-positive min", "api_server:\n  metrics:\n    duration: {min: 0, max: 5, factor: 2}\n", []wantErr{{"api_server.metrics.duration.min", 3, "must be > 0"}}},
		{"non-positive max", "api_server:\n  metrics:\n    duration: {min: 0.1, max: -5, factor: 2}\n", []wantErr{{"api_server.metrics.duration.max", 3, "must be > 0"}}},
		{"min without max and factor", "api_server:\n  metrics:\n    duration:\n      min: 0.1\n", []wantErr{{"api_server.metrics.duration.min", 4, "must be set together with max and factor"}}},
		{"unsorted buckets", "api_server:\n  metrics:\n    duration:\n      buckets: [1, 0.5]\n", []wantErr{{"api_server.metrics.duration.buckets", 4, "strictly increasing"}}},
		{"duplicate buckets", "api_server:\n  metrics:\n    duration:\n      buckets: [0.5, 0.5]\n", []wantErr{{"api_server.metrics.duration.buckets", 4, "duplicates"}}},
		{"empty buckets", "runners:\n  metrics:\n    duration:\n      buckets: []\n", []wantErr{{"runners.metrics.duration.buckets", 4, "at least one"}}},
		{"negative bucket", "api_server:\n  metrics:\n    duration:\n      buckets: [-1, 1]\n", []wantErr{{"api_server.metrics.duration.buckets", 4, "never negative"}}},
		{"nan bucket", "api_server:\n  metrics:\n    duration:\n      buckets: [.nan]\n", []wantErr{{"api_server.metrics.duration.buckets", 4, "finite"}}},
		{"metrics host without port", "api_server:\n  metrics:\n    host: 127.0.0.1\n", []wantErr{{"api_server.metrics.host", 3, "needs api_server.metrics.port"}}},
		{"metrics port equals http port", "api_server:\n  http: {port: 8080}\n  metrics: {port: 8080}\n", []wantErr{{"api_server.metrics.port", 3, "must differ"}}},
		{"runner metrics port", "runners:\n  metrics:\n    port: 9000\n", []wantErr{{"runners.metrics.port", 3, "only allowed under api_server.metrics"}}},
		{"per-runner metrics host", "runners:\n  iris:\n    metrics:\n      host: 127.0.0.1\n", []wantErr{{"runners.iris.metrics.host", 4, "only allowed under api_server.metrics"}}},
		{"invalid runner name", "runners:\n  IrisClf: {}\n", []wantErr{{"runners.IrisClf", 2, "not a valid runner name"}}},
		{"runner name starting with '-'", "runners:\n  \"-x\": {}\n", []wantErr{{"runners.-x", 2, "must start and end with a-z or 0-9"}}},
		{"runner name too long", "runners:\n  " + strings.Repeat("a", 64) + ": {}\n", []wantErr{{"", 2, "1 to 63 characters"}}},
		{"runner block not a mapping", "runners:\n  iris: 3\n", []wantErr{{"runners.iris", 2, "expected a mapping"}}},
		{"per-runner range", "runners:\n  iris:\n    batching:\n      max_batch_size: 0\n", []wantErr{{"runners.iris.batching.max_batch_size", 4, "> 0"}}},
		{"per-runner buckets and min", "runners:\n  iris:\n    metrics:\n      duration: {buckets: [1], min: 1, max: 2, factor: 2}\n",
			[]wantErr{{"runners.iris.metrics.duration.buckets", 4, "cannot be combined with runners.iris.metrics.duration.min"}}},
		{"per-runner partial min", "runners:\n  iris:\n    metrics:\n      duration: {max: 2}\n", []wantErr{{"runners.iris.metrics.duration.max", 4, "must be set together with min and factor"}}},
		{"all problems reported", "version: 3\napi_server:\n  http: {port: 99999, hots: x}\nrunners:\n  batching: {max_batch_size: -1}\n",
			[]wantErr{{"api_server.http.hots", 3, "unknown key"}, {"version", 1, "unsupported"}, {"api_server.http.port", 3, "65535"}, {"runners.batching.max_batch_size", 5, "> 0"}}},
		{"all validation problems reported", "version: 3\napi_server:\n  http: {port: 99999}\nrunners:\n  batching: {max_batch_size: -1}\n",
			[]wantErr{{"version", 1, "unsupported"}, {"api_server.http.port", 3, "65535"}, {"runners.batching.max_batch_size", 5, "> 0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.yaml), "test.yaml")
			if c != nil {
				t.Errorf("Parse returned a config along with error %v", err)
			}
			checkErrors(t, err, tt.want...)
		})
	}
}

// TestPerRunnerErrorsReportedOnce checks that a bad global value is not
// repeated for every runner that inherits it.
func TestPerRunnerErrorsReportedOnce(t *testing.T) {
	_, err := config.Parse([]byte("runners:\n  batching: {max_batch_size: 0}\n  a: {workers: 1}\n  b: {workers: 2}\n"), "x.yaml")
	errs := allErrors(t, err)
	if len(errs) != 1 || errs[0].Key != "runners.batching.max_batch_size" {
		t.Fatalf("got %d errors: %v", len(errs), err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    config.Error
		want string
	}{
		{config.Error{Key: "api_server.metrics.duration.min", Source: "file.yaml", Line: 7, Msg: "must be > 0"}, "config: api_server.metrics.duration.min (file.yaml line 7): must be > 0"},
		{config.Error{Key: "a.b", Msg: "bad"}, "config: a.b: bad"},
		{config.Error{Key: "a.b", Source: "BENTOML_CONFIG_OPTIONS", Msg: "bad"}, "config: a.b (BENTOML_CONFIG_OPTIONS): bad"},
		{config.Error{Source: "x.yaml", Msg: "cannot read", Err: fs.ErrNotExist}, "config: x.yaml: cannot read: file does not exist"},
		{config.Error{Msg: "plain"}, "config: plain"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	e := &config.Error{Err: fs.ErrPermission}
	if !errors.Is(e, fs.ErrPermission) {
		t.Error("Unwrap does not expose Err")
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "bentoml.yaml", "api_server:\n  http:\n    port: 5000\nrunners:\n  batching:\n    max_batch_size: 32\n  iris_clf:\n    batching:\n      max_batch_size: 10\n")
	yml := writeFile(t, dir, "short.yml", "api_server:\n  http:\n    port: 5001\n")
	bad := writeFile(t, dir, "bad.yaml", "api_server:\n  http:\n    port: 5000\n    bogus: 1\n")
	txt := writeFile(t, dir, "config.txt", "version: 1\n")

	tests := []struct {
		name  string
		opts  config.LoadOptions
		check func(t *testing.T, c *config.Config)
		want  []wantErr
		is    error
	}{
		{name: "no file", opts: config.LoadOptions{Getenv: envOf(nil)}, check: func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 3000 {
				t.Errorf("port = %d", c.APIServer.HTTP.Port)
			}
		}},
		{name: "file option", opts: config.LoadOptions{File: good, Getenv: envOf(nil)}, check: func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 5000 || c.Runners.Batching.MaxBatchSize != 32 || c.Runner("iris_clf").Batching.MaxBatchSize != 10 {
				t.Errorf("got port %d, batch %d", c.APIServer.HTTP.Port, c.Runners.Batching.MaxBatchSize)
			}
		}},
		{name: ".yml extension", opts: config.LoadOptions{File: yml, Getenv: envOf(nil)}, check: func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 5001 {
				t.Errorf("port = %d", c.APIServer.HTTP.Port)
			}
		}},
		{name: "BENTOML_CONFIG", opts: config.LoadOptions{Getenv: envOf(map[string]string{"BENTOML_CONFIG": good})}, check: func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 5000 {
				t.Errorf("port = %d", c.APIServer.HTTP.Port)
			}
		}},
		{name: "File wins over BENTOML_CONFIG", opts: config.LoadOptions{File: yml, Getenv: envOf(map[string]string{"BENTOML_CONFIG": good})}, check: func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 5001 {
				t.Errorf("port = %d", c.APIServer.HTTP.Port)
			}
		}},
		{name: "options override the file", opts: config.LoadOptions{File: good, Getenv: envOf(map[string]string{
			"BENTOML_CONFIG_OPTIONS": "api_server.http.port=6000  runners.batching.enabled=false runners.iris_clf.traffic.timeout=5",
		})}, check: func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 6000 {
				t.Errorf("port = %d", c.APIServer.HTTP.Port)
			}
			r := c.Runner("iris_clf")
			want := config.RunnerConfig{
				Batching: config.Batching{Enabled: false, MaxBatchSize: 10, MaxLatencyMs: 60000},
				Traffic:  config.Traffic{Timeout: 5},
				Metrics:  config.Metrics{Enabled: true, Namespace: "bentoml_runner", Duration: config.Duration{Buckets: defaultBuckets}},

				WorkersPerResource: 1,
				Logging:            config.Default().Runners.Logging,
			}
			if !reflect.DeepEqual(r, want) {
				t.Errorf("iris_clf =\n%+v\nwant\n%+v", r, want)
			}
		}},
		{name: "path with $VAR and ~", opts: config.LoadOptions{File: "~/$SUB/bentoml.yaml", Getenv: envOf(map[string]string{"HOME": filepath.Dir(dir), "SUB": filepath.Base(dir)})},
			check: func(t *testing.T, c *config.Config) {
				if c.APIServer.HTTP.Port != 5000 {
					t.Errorf("port = %d", c.APIServer.HTTP.Port)
				}
			}},
		{name: "missing file", opts: config.LoadOptions{File: filepath.Join(dir, "nope.yaml"), Getenv: envOf(nil)},
			want: []wantErr{{"", 0, "nope.yaml"}}, is: fs.ErrNotExist},
		{name: "bad extension", opts: config.LoadOptions{File: txt, Getenv: envOf(nil)}, want: []wantErr{{"", 0, "must end in .yml or .yaml"}}},
		{name: "error in file names file and line", opts: config.LoadOptions{File: bad, Getenv: envOf(nil)},
			want: []wantErr{{"api_server.http.bogus", 4, bad + " line 4): unknown key"}}},
		{name: "bad options", opts: config.LoadOptions{Getenv: envOf(map[string]string{"BENTOML_CONFIG_OPTIONS": "api_server.http.port=x"})},
			want: []wantErr{{"api_server.http.port", 0, "config: api_server.http.port (BENTOML_CONFIG_OPTIONS): expected an integer"}}},
		{name: "options validated", opts: config.LoadOptions{File: good, Getenv: envOf(map[string]string{"BENTOML_CONFIG_OPTIONS": "runners.iris_clf.batching.max_batch_size=0"})},
			want: []wantErr{{"runners.iris_clf.batching.max_batch_size", 0, "(BENTOML_CONFIG_OPTIONS): must be > 0"}}},
		{name: "file buckets then options min conflict", opts: config.LoadOptions{File: writeFile(t, dir, "b.yaml", "api_server:\n  metrics:\n    duration:\n      buckets: [1, 2]\n"),
			Getenv: envOf(map[string]string{"BENTOML_CONFIG_OPTIONS": "api_server.metrics.duration.min=1 api_server.metrics.duration.max=2 api_server.metrics.duration.factor=2"})},
			want: []wantErr{{"api_server.metrics.duration.buckets", 4, "cannot be combined with api_server.metrics.duration.min (BENTOML_CONFIG_OPTIONS)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(tt.opts)
			if tt.want != nil {
				checkErrors(t, err, tt.want...)
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

// TestLoadFileThenOptionsDuration checks that min/max/factor from a file
// replace the default list and can be refined by options.
func TestLoadFileThenOptionsDuration(t *testing.T) {
	p := writeFile(t, t.TempDir(), "c.yaml", "api_server:\n  metrics:\n    duration: {min: 0.1, max: 5, factor: 3}\n")
	c, err := config.Load(config.LoadOptions{File: p, Getenv: envOf(map[string]string{"BENTOML_CONFIG_OPTIONS": "api_server.metrics.duration.factor=2"})})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmtList(mustBuckets(t, c.APIServer.Metrics)); got != "0.1,0.2,0.4,0.8,1.6,3.2,5" {
		t.Errorf("buckets = %s", got)
	}
}

func TestRunnerMerge(t *testing.T) {
	c := mustParse(t, `
runners:
  batching: {enabled: true, max_batch_size: 50, max_latency_ms: 100}
  traffic: {timeout: 10, max_concurrency: 8}
  metrics:
    duration: {min: 0.1, max: 5, factor: 2}
  workers: 2
  iris_clf:
    batching: {max_batch_size: 10}
  no_batch:
    batching: {enabled: false}
    traffic: {max_concurrency: null}
  own_buckets:
    metrics:
      duration: {buckets: [1, 2, 3]}
  own_factor:
    metrics:
      duration: {factor: 4}
`)
	g := c.Runners.RunnerConfig
	tests := []struct {
		name  string
		check func(t *testing.T, r config.RunnerConfig)
	}{
		{"iris_clf", func(t *testing.T, r config.RunnerConfig) {
			if r.Batching != (config.Batching{Enabled: true, MaxBatchSize: 10, MaxLatencyMs: 100}) {
				t.Errorf("batching = %+v (must keep enabled and max_latency_ms)", r.Batching)
			}
			if r.Workers != 2 || r.Traffic.Timeout != 10 || *r.Traffic.MaxConcurrency != 8 {
				t.Errorf("inherited values lost: %+v", r)
			}
		}},
		{"no_batch", func(t *testing.T, r config.RunnerConfig) {
			if r.Batching != (config.Batching{Enabled: false, MaxBatchSize: 50, MaxLatencyMs: 100}) {
				t.Errorf("batching = %+v", r.Batching)
			}
			if r.Traffic.MaxConcurrency != nil || r.Traffic.Timeout != 10 {
				t.Errorf("traffic = %+v, want max_concurrency reset to null", r.Traffic)
			}
		}},
		{"own_buckets", func(t *testing.T, r config.RunnerConfig) {
			if got := fmtList(mustBuckets(t, r.Metrics)); got != "1,2,3" {
				t.Errorf("buckets = %s", got)
			}
		}},
		{"own_factor", func(t *testing.T, r config.RunnerConfig) {
			if got := fmtList(mustBuckets(t, r.Metrics)); got != "0.1,0.4,1.6,5" {
				t.Errorf("buckets = %s", got)
			}
		}},
		{"unknown", func(t *testing.T, r config.RunnerConfig) {
			if !reflect.DeepEqual(r, g) {
				t.Errorf("got %+v, want the global block", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, c.Runner(tt.name)) })
	}
	// The override is kept as written, and the result does not alias c.
	if got := c.Runners.PerRunner["iris_clf"]; got.Batching.Enabled || got.Batching.MaxBatchSize != 10 {
		t.Errorf("PerRunner[iris_clf] = %+v, want only max_batch_size set", got.Batching)
	}
	r := c.Runner("iris_clf")
	*r.Traffic.MaxConcurrency = 99
	if *c.Runners.Traffic.MaxConcurrency != 8 {
		t.Error("Runner result aliases the config")
	}
}

// TestRunnerMergeInCode covers PerRunner entries added in code: non-zero
// fields count as set.
func TestRunnerMergeInCode(t *testing.T) {
	c := config.Default()
	c.Runners.PerRunner["x"] = config.RunnerConfig{Batching: config.Batching{MaxBatchSize: 5}, Workers: 3}
	r := c.Runner("x")
	if r.Batching != (config.Batching{Enabled: true, MaxBatchSize: 5, MaxLatencyMs: 60000}) || r.Workers != 3 || r.Traffic.Timeout != 900 {
		t.Errorf("got %+v", r)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	c.Runners.PerRunner["Bad Name"] = config.RunnerConfig{}
	checkErrors(t, c.Validate(), wantErr{key: `runners."Bad Name"`, msg: "not a valid runner name"})
	delete(c.Runners.PerRunner, "Bad Name")
	c.Runners.PerRunner["-x"] = config.RunnerConfig{}
	checkErrors(t, c.Validate(), wantErr{key: "runners.-x", msg: "not a valid runner name"})
}

func TestMetricsBuckets(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name    string
		d       config.Duration
		want    string
		wantErr string
	}{
		{name: "nil means default", d: config.Duration{}, want: fmtList(defaultBuckets)},
		{name: "list", d: config.Duration{Buckets: []float64{1, 2, inf}}, want: "1,2"},
		{name: "default list gives way to min/max/factor", d: config.Duration{Buckets: defaultBuckets, Min: ptr(1.0), Max: ptr(100.0), Factor: ptr(2.0)}, want: "1,2,4,8,16,32,64,100"},
		{name: "both", d: config.Duration{Buckets: []float64{1}, Min: ptr(1.0), Max: ptr(2.0), Factor: ptr(2.0)}, wantErr: "cannot be combined"},
		{name: "partial", d: config.Duration{Min: ptr(1.0)}, wantErr: "set together"},
		{name: "bad factor", d: config.Duration{Min: ptr(1.0), Max: ptr(2.0), Factor: ptr(0.5)}, wantErr: "factor must be > 1"},
		{name: "unsorted", d: config.Duration{Buckets: []float64{2, 1}}, wantErr: "strictly increasing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Metrics{Duration: tt.d}.Buckets()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := fmtList(got); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
	// Validate agrees for a config built in code.
	c := config.Default()
	d := &c.APIServer.Metrics.Duration
	d.Min, d.Max, d.Factor = ptr(0.1), ptr(5.0), ptr(2.0)
	if err := c.Validate(); err != nil {
		t.Errorf("default list + min/max/factor in code: %v", err)
	}
	d.Buckets = []float64{1, 2}
	checkErrors(t, c.Validate(), wantErr{key: "api_server.metrics.duration.buckets", msg: "cannot be combined"})
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("GOBENTO_TEST_HOST", "127.0.0.1")
	t.Setenv("GOBENTO_TEST_PORT", "5005")
	t.Setenv("GOBENTO_TEST_EMPTY", "")
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, c *config.Config)
		want  []wantErr
	}{
		{name: "string value", yaml: "api_server:\n  http:\n    host: ${GOBENTO_TEST_HOST}\n", check: func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Host != "127.0.0.1" {
				t.Errorf("host = %q", c.APIServer.HTTP.Host)
			}
		}},
		{name: "default used", yaml: "api_server:\n  metrics:\n    namespace: ${GOBENTO_TEST_UNSET:-my_ns}\n", check: func(t *testing.T, c *config.Config) {
			if c.APIServer.Metrics.Namespace != "my_ns" {
				t.Errorf("namespace = %q", c.APIServer.Metrics.Namespace)
			}
		}},
		{name: "default for empty", yaml: "api_server:\n  metrics:\n    namespace: \"${GOBENTO_TEST_EMPTY:-x}_${GOBENTO_TEST_EMPTY}y\"\n", check: func(t *testing.T, c *config.Config) {
			if c.APIServer.Metrics.Namespace != "x_y" {
				t.Errorf("namespace = %q", c.APIServer.Metrics.Namespace)
			}
		}},
		{name: "unquoted integer", yaml: "api_server:\n  http:\n    port: ${GOBENTO_TEST_PORT}\n  traffic:\n    timeout: ${GOBENTO_TEST_UNSET:-2.5}\n", check: func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 5005 || c.APIServer.Traffic.Timeout != 2.5 {
				t.Errorf("port = %d, timeout = %v", c.APIServer.HTTP.Port, c.APIServer.Traffic.Timeout)
			}
		}},
		{name: "unquoted bool", yaml: "runners:\n  batching:\n    enabled: ${GOBENTO_TEST_UNSET:-false}\n", check: func(t *testing.T, c *config.Config) {
			if c.Runners.Batching.Enabled {
				t.Error("enabled = true")
			}
		}},
		{name: "not a reference", yaml: "api_server:\n  metrics:\n    namespace: ${1X}\n", want: []wantErr{{"api_server.metrics.namespace", 3, `got "${1X}"`}}},
		{name: "quoted integer stays a string", yaml: "api_server:\n  http:\n    port: \"${GOBENTO_TEST_PORT}\"\n", want: []wantErr{{"api_server.http.port", 3, `got string "5005"`}}},
		{name: "unset integer", yaml: "api_server:\n  http:\n    port: ${GOBENTO_TEST_UNSET}\n", want: []wantErr{{"api_server.http.port", 3, "must not be null"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.yaml), "test.yaml")
			if tt.want != nil {
				checkErrors(t, err, tt.want...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
	// Load expands from its Getenv, not the process environment.
	c, err := config.Load(config.LoadOptions{Getenv: envOf(map[string]string{
		"BENTOML_CONFIG_OPTIONS": "api_server.http.port=${P}", "P": "7070",
	})})
	if err != nil || c.APIServer.HTTP.Port != 7070 {
		t.Errorf("Load with Getenv: port %v, err %v", c, err)
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	inputs := map[string]string{
		"defaults":                "",
		"duration min/max/factor": "api_server:\n  metrics:\n    duration: {min: 0.1, max: 10, factor: 1.2}\n",
		"null buckets":            "runners:\n  metrics:\n    duration: {buckets: null}\n",
		"everything": `
api_server:
  http: {host: "::1", port: 0, max_request_size: 1024, read_header_timeout: 1.5, read_timeout: 2, idle_timeout: 3, max_header_bytes: 4096}
  grpc: {host: localhost, port: 50051, metrics: {host: 127.0.0.1, port: 50052}, reflection: {enabled: true}, max_concurrent_streams: 128, max_message_length: 1048576, maximum_concurrent_rpcs: 64}
  traffic: {timeout: 2.5, max_concurrency: 32}
  metrics: {enabled: false, namespace: "my:ns", host: 127.0.0.1, port: 9090, duration: {buckets: [0.001, 1e6, .inf]}}
  shutdown_timeout: 5
runners:
  batching: {enabled: false, max_batch_size: 8, max_latency_ms: 250}
  workers: 3
  iris_clf:
    batching: {max_batch_size: 10}
  my.runner:
    metrics: {duration: {min: 1, max: 2, factor: 1.5}}
    traffic: {max_concurrency: null}
  empty: {}
  "0": {workers: 1}
  "true": {workers: 2}
  "null": {traffic: {timeout: 1}}
`,
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			c := mustParse(t, in)
			out, err := c.YAML()
			if err != nil {
				t.Fatal(err)
			}
			c2, err := config.Parse(out, "roundtrip.yaml")
			if err != nil {
				t.Fatalf("Parse(YAML()) = %v\n%s", err, out)
			}
			assertSameConfig(t, c, c2)
			out2, err := c2.YAML()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != string(out2) {
				t.Errorf("YAML not stable:\n%s\n---\n%s", out, out2)
			}
		})
	}
}

// assertSameConfig compares the exported values and every runner's
// effective config.
func assertSameConfig(t *testing.T, a, b *config.Config) {
	t.Helper()
	if a.Version != b.Version || !reflect.DeepEqual(a.APIServer, b.APIServer) || !reflect.DeepEqual(a.Runners.RunnerConfig, b.Runners.RunnerConfig) {
		t.Errorf("configs differ:\n%+v\n%+v", *a, *b)
	}
	if !reflect.DeepEqual(a.Runners.PerRunner, b.Runners.PerRunner) {
		t.Errorf("PerRunner differs:\n%+v\n%+v", a.Runners.PerRunner, b.Runners.PerRunner)
	}
	for name := range a.Runners.PerRunner {
		if ra, rb := a.Runner(name), b.Runner(name); !reflect.DeepEqual(ra, rb) {
			t.Errorf("Runner(%q) differs:\n%+v\n%+v", name, ra, rb)
		}
	}
}

func TestYAMLShape(t *testing.T) {
	c := mustParse(t, "runners:\n  iris_clf:\n    batching: {max_batch_size: 10}\n")
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		"version: 1\n",
		"    port: 3000\n",
		"max_concurrency: null",
		"buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]",
		"  iris_clf:\n    batching:\n      max_batch_size: 10\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("YAML lacks %q:\n%s", want, s)
		}
	}
	hosts := regexp.MustCompile(`(?m)^\s+host:`).FindAllString(s, -1)
	ports := regexp.MustCompile(`(?m)^\s+port:`).FindAllString(s, -1)
	if len(hosts) != 4 || len(ports) != 4 {
		t.Errorf("runners.metrics.host/port should be omitted when unset:\n%s", s)
	}
}

package config_test

import (
	"reflect"
	"testing"

	"github.com/gobento/bento/config"
)

// bentomlEveryKey is a BentoML 1.1 configuration that sets every key of
// issue 13 (CORS, TLS, access logs, trace id header, workers, resources,
// tracing), written as a BentoML user writes it.
const bentomlEveryKey = `
version: 1
api_server:
  workers: 4
  logging:
    access:
      enabled: true
      request_content_length: false
      request_content_type: true
      response_content_length: ~
      response_content_type: true
      format: {trace_id: 032x, span_id: 016x}
  ssl:
    enabled: true
    certfile: /etc/tls/cert.pem
    keyfile: /etc/tls/key.pem
    keyfile_password: secret
    ca_certs: /etc/tls/ca.pem
    version: 17
    cert_reqs: 2
    ciphers: ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384
  http:
    cors:
      enabled: true
      access_control_allow_origins: https://app.example.com
      access_control_allow_credentials: true
      access_control_allow_methods: [GET, POST]
      access_control_allow_headers: "*"
      access_control_allow_origin_regex: 'https://.*\.example\.org'
      access_control_max_age: 1200
      access_control_expose_headers: [X-BentoML-Request-ID]
    response:
      trace_id: true
runners:
  resources:
    cpu: 500m
    nvidia.com/gpu: [0, 2]
  workers_per_resource: 2
  logging:
    access: {enabled: false, request_content_length: true, request_content_type: true, response_content_length: true, response_content_type: true}
  iris_clf:
    resources: system
    workers_per_resource: 0.5
tracing:
  exporter_type: zipkin
  sample_rate: 0.5
  excluded_urls: [readyz, livez]
  timeout: 5
  max_tag_value_length: 256
  zipkin: {endpoint: "http://zipkin:9411/api/v2/spans", local_node_ipv4: 10.0.0.1, local_node_ipv6: ~, local_node_port: 8080}
  jaeger:
    protocol: grpc
    collector_endpoint: http://jaeger:14250
    thrift: {agent_host_name: jaeger, agent_port: 6831, udp_split_oversized_batches: true}
    grpc: {insecure: true}
  otlp:
    protocol: http
    endpoint: http://otel:4318
    compression: gzip
    http: {certificate_file: /etc/otel.pem, headers: {x-api-key: abc}}
    grpc: {headers: ["k=v"], insecure: false}
`

func TestBentoMLKeysParse(t *testing.T) {
	c := mustParse(t, bentomlEveryKey)
	a := c.APIServer
	if a.Workers == nil || *a.Workers != 4 {
		t.Errorf("api_server.workers = %v", a.Workers)
	}
	wantCORS := config.CORS{
		Enabled: true, AccessControlAllowOrigins: config.StringList{"https://app.example.com"},
		AccessControlAllowCredentials: ptr(true), AccessControlAllowMethods: config.StringList{"GET", "POST"},
		AccessControlAllowHeaders: config.StringList{"*"}, AccessControlAllowOriginRegex: ptr(`https://.*\.example\.org`),
		AccessControlMaxAge: ptr(1200), AccessControlExposeHeaders: config.StringList{"X-BentoML-Request-ID"},
	}
	if !reflect.DeepEqual(a.HTTP.CORS, wantCORS) {
		t.Errorf("cors = %+v\nwant %+v", a.HTTP.CORS, wantCORS)
	}
	if !a.HTTP.Response.TraceID {
		t.Error("response.trace_id not set")
	}
	s := a.SSL
	if !s.Enabled || *s.Certfile != "/etc/tls/cert.pem" || *s.KeyfilePassword != "secret" || *s.CertReqs != 2 || *s.Version != 17 || *s.CACerts != "/etc/tls/ca.pem" {
		t.Errorf("ssl = %+v", s)
	}
	l := a.Logging.Access
	if !l.Enabled || config.On(l.RequestContentLength) || !config.On(l.RequestContentType) || l.ResponseContentLength != nil || l.Format.TraceID != "032x" {
		t.Errorf("logging.access = %+v", l)
	}
	r := c.Runners.RunnerConfig
	if r.WorkersPerResource != 2 || r.Resources == nil || r.Resources.CPU != "500m" || !reflect.DeepEqual(r.Resources.GPUs, []int{0, 2}) || r.Logging.Access.Enabled {
		t.Errorf("runners = %+v resources %+v", r, r.Resources)
	}
	iris := c.Runner("iris_clf")
	if iris.Resources == nil || !iris.Resources.System || iris.WorkersPerResource != 0.5 {
		t.Errorf("iris_clf = %+v", iris)
	}
	tr := c.Tracing
	if *tr.ExporterType != "zipkin" || *tr.SampleRate != 0.5 || len(tr.ExcludedURLs) != 2 || tr.OTLP.HTTP.Headers["x-api-key"] != "abc" || string(*tr.Zipkin.LocalNodeIPv4) != "10.0.0.1" {
		t.Errorf("tracing = %+v", tr)
	}
	// The printed config parses back to the same values.
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	c2 := mustParse(t, string(out))
	if !reflect.DeepEqual(c2.APIServer, c.APIServer) || !reflect.DeepEqual(c2.Tracing, c.Tracing) || !reflect.DeepEqual(c2.Runner("iris_clf"), c.Runner("iris_clf")) {
		t.Errorf("YAML round trip changed the config:\n%s", out)
	}
}

func TestBentoMLKeyDefaults(t *testing.T) {
	c := config.Default()
	a := c.APIServer
	if a.Workers != nil || a.HTTP.CORS.Enabled || a.HTTP.Response.TraceID || a.SSL.Enabled || *a.SSL.Version != 17 || *a.SSL.CertReqs != 0 || *a.SSL.Ciphers != "TLSv1" {
		t.Errorf("api_server defaults %+v", a)
	}
	if l := a.Logging.Access; !l.Enabled || !config.On(l.RequestContentLength) || !config.On(l.ResponseContentType) || l.Format.SpanID != "016x" {
		t.Errorf("access log defaults %+v", l)
	}
	if c.Runners.WorkersPerResource != 1 || c.Runners.Resources != nil || !c.Runners.Logging.Access.Enabled {
		t.Errorf("runner defaults %+v", c.Runners.RunnerConfig)
	}
	if c.Tracing.ExporterType != nil || *c.Tracing.Jaeger.Protocol != "thrift" {
		t.Errorf("tracing defaults %+v", c.Tracing)
	}
}

func TestBentoMLKeyErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []wantErr
	}{
		{"cors enabled without origins", "api_server:\n  http:\n    cors:\n      enabled: true\n",
			[]wantErr{{"api_server.http.cors.access_control_allow_origins", 0, "To enable cors, access_control_allow_origin must be set"}}},
		{"cors origins not strings", "api_server:\n  http:\n    cors:\n      access_control_allow_origins: {a: b}\n",
			[]wantErr{{"api_server.http.cors.access_control_allow_origins", 4, "expected a string or a list of strings"}}},
		{"cors bad regex", "api_server:\n  http:\n    cors:\n      access_control_allow_origin_regex: '('\n",
			[]wantErr{{"api_server.http.cors.access_control_allow_origin_regex", 4, "not a valid regular expression"}}},
		{"cors max age type", "api_server:\n  http:\n    cors:\n      access_control_max_age: soon\n",
			[]wantErr{{"api_server.http.cors.access_control_max_age", 4, "expected an integer"}}},
		{"trace_id not bool", "api_server:\n  http:\n    response:\n      trace_id: 3\n",
			[]wantErr{{"api_server.http.response.trace_id", 4, "expected a boolean"}}},
		{"workers zero", "api_server:\n  workers: 0\n", []wantErr{{"api_server.workers", 2, "> 0"}}},
		{"ssl enabled without certfile", "api_server:\n  ssl:\n    enabled: true\n", []wantErr{{"api_server.ssl.enabled", 3, "certfile is not set"}}},
		{"ssl version type", "api_server:\n  ssl:\n    version: TLSv1_2\n", []wantErr{{"api_server.ssl.version", 3, "expected an integer"}}},
		{"access log format", "api_server:\n  logging:\n    access:\n      format: {trace_id: 'hex', span_id: 016x}\n",
			[]wantErr{{"api_server.logging.access.format.trace_id", 4, "Python integer format spec"}}},
		{"access log flag type", "runners:\n  logging:\n    access:\n      enabled: maybe\n", []wantErr{{"runners.logging.access.enabled", 4, "expected a boolean"}}},
		{"runner access log has no format", "runners:\n  logging:\n    access:\n      format: {trace_id: 032x}\n", []wantErr{{"runners.logging.access.format", 4, "unknown key"}}},
		{"workers_per_resource zero", "runners:\n  workers_per_resource: 0\n", []wantErr{{"runners.workers_per_resource", 2, "> 0"}}},
		{"resources bad cpu", "runners:\n  iris:\n    resources: {cpu: lots}\n", []wantErr{{"runners.iris.resources", 3, "number of CPUs"}}},
		{"resources bad scalar", "runners:\n  resources: all\n", []wantErr{{"runners.resources", 2, `"system" or a mapping`}}},
		{"resources bad gpu", "runners:\n  resources: {nvidia.com/gpu: many}\n", []wantErr{{`runners.resources."nvidia.com/gpu"`, 2, "GPU count or a list"}}},
		{"tracing exporter", "tracing:\n  exporter_type: newrelic\n", []wantErr{{"tracing.exporter_type", 2, "zipkin, jaeger, otlp, in_memory"}}},
		{"tracing sample rate", "tracing:\n  sample_rate: 1.5\n", []wantErr{{"tracing.sample_rate", 2, "between 0 and 1"}}},
		{"tracing otlp protocol", "tracing:\n  otlp: {protocol: thrift}\n", []wantErr{{"tracing.otlp.protocol", 2, "http or grpc"}}},
		{"tracing zipkin ip", "tracing:\n  zipkin: {local_node_ipv4: not-an-ip}\n", []wantErr{{"tracing.zipkin.local_node_ipv4", 2, "IP address or an integer"}}},
		{"tracing unknown key", "tracing:\n  jaeger:\n    udp: 1\n", []wantErr{{"tracing.jaeger.udp", 3, "unknown key"}}},
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

func TestWorkerCount(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want int
	}{
		{"defaults keep the code's count", "", 0},
		{"cpu 4", "runners:\n  resources: {cpu: 4}\n", 4},
		{"cpu 500m", "runners:\n  resources: {cpu: 500m}\n", 1},
		{"cpu 2 × 1.5", "runners:\n  resources: {cpu: \"2\"}\n  workers_per_resource: 1.5\n", 3},
		{"system is every cpu", "runners:\n  resources: system\n", 8},
		{"workers_per_resource alone", "runners:\n  workers_per_resource: 2\n", 16},
		{"gpus", "runners:\n  resources: {nvidia.com/gpu: [0, 1, 3]}\n", 3},
		{"gpu count × 2", "runners:\n  resources: {nvidia.com/gpu: 2}\n  workers_per_resource: 2\n", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.yaml)
			if got, why := c.Runner("x").WorkerCount(8); got != tt.want {
				t.Errorf("WorkerCount(8) = %d (%s), want %d", got, why, tt.want)
			}
		})
	}
}

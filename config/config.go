package config

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/gobento/bento/internal/buckets"
)

// Config is a gobento (BentoML v1 schema) configuration. The zero value is
// not useful: start from [Default], [Parse] or [Load], which fill every key
// with its default. Keys are documented in the package doc ("Keys").
//
// Methods that only read a Config may be called concurrently; [ApplyOptions]
// and direct field writes must not overlap with them.
type Config struct {
	Version   int       `yaml:"version"`    // schema version; must be 1
	APIServer APIServer `yaml:"api_server"` // the HTTP/gRPC API server
	Runners   Runners   `yaml:"runners"`    // runner defaults and per-runner overrides
	Tracing   Tracing   `yaml:"tracing"`    // BentoML's tracing keys: accepted and validated; export is off

	// meta records where each key was set (file and line, or the
	// BENTOML_CONFIG_OPTIONS variable) and which keys each per-runner block
	// sets. It is nil for a Config built in code.
	meta *meta
}

// APIServer is the api_server block.
type APIServer struct {
	HTTP    HTTP    `yaml:"http"`
	GRPC    GRPC    `yaml:"grpc"`
	Traffic Traffic `yaml:"traffic"`
	Metrics Metrics `yaml:"metrics"`
	// Dashboard is the built-in live dashboard at /dashboard (gobento
	// extension).
	Dashboard Dashboard `yaml:"dashboard"`
	// ShutdownTimeout is the grace period, in seconds, for draining in-flight
	// requests at shutdown (gobento extension). Default 30; must be > 0.
	ShutdownTimeout float64 `yaml:"shutdown_timeout"`
	// Workers is BentoML's API worker process count: accepted (null or > 0)
	// and not used, since one gobento process serves on every core.
	Workers *int       `yaml:"workers"`
	Logging APILogging `yaml:"logging"` // the access log
	SSL     SSL        `yaml:"ssl"`     // TLS for the HTTP and gRPC servers
}

// HTTP is the api_server.http block: the HTTP listener and its limits.
type HTTP struct {
	Host string `yaml:"host"` // listen address: an IP address or "localhost"; default "0.0.0.0"
	Port int    `yaml:"port"` // listen port, 0..65535 (0 picks a free port); default 3000
	// MaxRequestSize is the request body limit in bytes (gobento extension);
	// larger bodies get 413. Default 20 MiB.
	MaxRequestSize int64 `yaml:"max_request_size"`
	// ReadHeaderTimeout is how long, in seconds, a client may take to send
	// the request headers (gobento extension). Default 10.
	ReadHeaderTimeout float64 `yaml:"read_header_timeout"`
	ReadTimeout       float64 `yaml:"read_timeout"`     // seconds to read a whole request; default 60
	IdleTimeout       float64 `yaml:"idle_timeout"`     // seconds a keep-alive connection may idle; default 120
	MaxHeaderBytes    int     `yaml:"max_header_bytes"` // request header size limit; default 1 MiB
	// WriteTimeout is how long, in seconds, writing one response may take
	// (gobento extension): a client that does not read its answer is cut
	// off after it and the request counted as 499. Default 60.
	WriteTimeout float64 `yaml:"write_timeout"`
	// MaxConnections caps the open connections of the listener (gobento
	// extension). Beyond it the oldest idle keep-alive connection is closed
	// to make room, or, with none idle, the new connection is refused.
	// 0, the default, derives the cap from the process's file-descriptor
	// limit (3/4 of it, at most 10000).
	MaxConnections int `yaml:"max_connections"`
	// BodyMemoryLimit caps the request-body bytes held at once by all
	// requests being read or served (gobento extension). A request that
	// would take it past the limit gets 503 with Retry-After, before its
	// body is read when Content-Length tells. Default 64 MiB; it must be at
	// least max_request_size.
	BodyMemoryLimit int64 `yaml:"body_memory_limit"`
	// LingerTimeout and LingerBytes bound the lingering close after an
	// early error (413, 503) on a request whose body is still arriving: the
	// server keeps reading and discarding the body for up to this long and
	// this many bytes, so that a client that writes its whole body before
	// reading sees the error instead of a connection reset (gobento
	// extension). Defaults 2 s and 64 MiB.
	LingerTimeout float64 `yaml:"linger_timeout"`
	LingerBytes   int64   `yaml:"linger_bytes"`

	CORS     CORS         `yaml:"cors"`     // cross-origin requests, as BentoML's (Starlette's) CORSMiddleware
	Response HTTPResponse `yaml:"response"` // extra response headers
}

// GRPC is the api_server.grpc block, used by serve-grpc.
type GRPC struct {
	Host       string         `yaml:"host"`       // listen address; default "0.0.0.0"
	Port       int            `yaml:"port"`       // listen port; default 3000
	Metrics    GRPCMetrics    `yaml:"metrics"`    // the separate Prometheus listener
	Reflection GRPCReflection `yaml:"reflection"` // server reflection
	// MaxConcurrentStreams limits concurrent streams per HTTP/2 connection;
	// nil means 100.
	MaxConcurrentStreams *uint32 `yaml:"max_concurrent_streams"`
	// MaxMessageLength is the largest message, in bytes, the server sends or
	// receives. -1 (the default) means: receive at most
	// api_server.http.max_request_size, send any size.
	MaxMessageLength int `yaml:"max_message_length"`
	// MaxHeaderListSize caps the decoded request metadata of one call, in
	// bytes (gobento extension); default 16 KiB. Larger headers reset the
	// stream.
	MaxHeaderListSize uint32 `yaml:"max_header_list_size"`
	// MaxConnections caps the open connections of the gRPC listener
	// (gobento extension); beyond it new connections are refused. 0, the
	// default, derives the cap from the file-descriptor limit (3/4 of it,
	// at most 10000).
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionAge, in seconds, closes every connection (GOAWAY) after
	// about this long, giving its calls api_server.traffic.timeout more to
	// finish (gobento extension); it bounds how long any stream lives,
	// one that never sends its request included. Clients reconnect on
	// their own. Default 300.
	MaxConnectionAge float64 `yaml:"max_connection_age"`
	// MaximumConcurrentRPCs limits RPCs in progress; further calls fail with
	// RESOURCE_EXHAUSTED. Nil means unlimited.
	MaximumConcurrentRPCs *int `yaml:"maximum_concurrent_rpcs"`
}

// GRPCMetrics is api_server.grpc.metrics: where serve-grpc exposes
// Prometheus metrics (at path "/", as BentoML does).
type GRPCMetrics struct {
	Host string `yaml:"host"` // default "0.0.0.0"
	Port int    `yaml:"port"` // default 3001
}

// Dashboard is api_server.dashboard: the live dashboard page at /dashboard,
// served where /metrics is (the API port, or the separate metrics listener)
// and only when the metrics are enabled.
type Dashboard struct {
	Enabled bool `yaml:"enabled"` // serve /dashboard; default true
}

// GRPCReflection is api_server.grpc.reflection.
type GRPCReflection struct {
	Enabled bool `yaml:"enabled"` // register the gRPC reflection service; default false
}

// Traffic is a traffic block (api_server.traffic, runners.traffic).
type Traffic struct {
	// Timeout is the per-request deadline in seconds (504 when exceeded).
	// Defaults: 60 for the API server, 900 for runners.
	Timeout float64 `yaml:"timeout"`
	// MaxConcurrency caps requests in progress (429 beyond it); nil means
	// unlimited.
	MaxConcurrency *int `yaml:"max_concurrency"`
}

// Metrics is a metrics block (api_server.metrics, runners.metrics).
type Metrics struct {
	Enabled bool `yaml:"enabled"` // record and expose the default metrics; default true
	// Namespace is the metric name prefix: "bentoml_api_server" or
	// "bentoml_runner" by default. It must match [a-zA-Z_:][a-zA-Z0-9_:]*.
	Namespace string   `yaml:"namespace"`
	Duration  Duration `yaml:"duration"` // request-duration histogram buckets
	// Host is the address of a separate metrics listener (gobento
	// extension, api_server only). It requires Port.
	Host *string `yaml:"host"`
	// Port, when set, serves /metrics on a separate listener on this port
	// and no longer on the API port (gobento extension, api_server only).
	Port *int `yaml:"port"`
	// Exemplars attaches the request id (X-BentoML-Request-ID) as an
	// exemplar to the API request-duration histogram and request counter,
	// shown to OpenMetrics scrapers (gobento extension, api_server only;
	// default false). It costs roughly 0.3 µs and one allocation per request.
	Exemplars bool `yaml:"exemplars"`
	// NativeHistograms adds Prometheus native histograms beside the classic
	// buckets of every duration histogram (gobento extension, api_server
	// only; off by default).
	NativeHistograms NativeHistograms `yaml:"native_histograms"`
	// OTLP pushes the same metrics to an OpenTelemetry collector
	// (gobento extension, api_server only; off by default).
	OTLP OTLPMetrics `yaml:"otlp"`
}

// OTLPMetrics is api_server.metrics.otlp: every metric of /metrics (the
// BentoML families, the runners', gobento's, custom ones and the Go and
// process collectors) pushed every Interval seconds to an OTLP endpoint,
// with the names the Prometheus exposition uses. /metrics keeps serving.
type OTLPMetrics struct {
	Enabled bool `yaml:"enabled"` // default false
	// Protocol is http (OTLP/HTTP protobuf, default) or grpc.
	Protocol string `yaml:"protocol"`
	// Endpoint is a URL (http://host:4318; /v1/metrics is added when it
	// has no path) or, for grpc, host:port. Empty:
	// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT,
	// else localhost on the protocol's port.
	Endpoint string `yaml:"endpoint"`
	// Interval is the seconds between pushes (default 60).
	Interval float64 `yaml:"interval"`
	// Timeout is the seconds one push may take (default 10).
	Timeout float64 `yaml:"timeout"`
	// Insecure sends gRPC without TLS (for HTTP the URL's scheme says it).
	Insecure bool `yaml:"insecure"`
	// Headers are sent with every push (e.g. an API key).
	Headers StringMap `yaml:"headers"`
}

// NativeHistograms is api_server.metrics.native_histograms: Prometheus
// native (sparse, exponential) histograms on the API and runner request
// durations, the queue wait and the batch duration, exposed beside their
// classic buckets to scrapers that negotiate the protobuf format.
type NativeHistograms struct {
	Enabled bool `yaml:"enabled"` // default false
	// BucketFactor is the most one bucket's upper bound may exceed its
	// lower bound by (default 1.1: about 10% relative error at any
	// latency); > 1 and at most 2.
	BucketFactor float64 `yaml:"bucket_factor"`
	// MaxBuckets bounds the buckets of one series (default 160): past it
	// the histogram halves its resolution. 1 to 10000.
	MaxBuckets int `yaml:"max_buckets"`
}

// Duration selects the request-duration histogram buckets: either an
// explicit Buckets list or all of Min, Max and Factor (exponential
// buckets), never both. See [Metrics.Buckets].
type Duration struct {
	// Buckets are the upper bounds in seconds, strictly increasing; a
	// trailing +Inf (.inf) is accepted and dropped. Default: the 14 BentoML
	// values 0.005 … 10. Nil (YAML null) with no Min/Max/Factor means the
	// default list.
	Buckets []float64 `yaml:"buckets"`
	Min     *float64  `yaml:"min"`    // first exponential bound, > 0
	Max     *float64  `yaml:"max"`    // last exponential bound, > Min
	Factor  *float64  `yaml:"factor"` // growth factor, > 1
}

// Runners is the runners block: defaults for every runner (the inline
// [RunnerConfig]) plus per-runner overrides, runners.<name>.*.
type Runners struct {
	RunnerConfig `yaml:",inline"`
	// PerRunner holds runners.<name> blocks as written: partial configs in
	// which only the keys set in the configuration source take effect (see
	// [Config.Runner]). For an entry added in code, with no record of which
	// keys were written, every non-zero field counts as set.
	PerRunner map[string]RunnerConfig `yaml:"-"`
}

// RunnerConfig is the configuration of one runner (or the defaults for all).
type RunnerConfig struct {
	Batching Batching `yaml:"batching"`
	Traffic  Traffic  `yaml:"traffic"`
	// Metrics configures the runner metrics; namespace defaults to
	// "bentoml_runner". Host and Port must not be set here.
	Metrics Metrics `yaml:"metrics"`
	// Workers is the number of worker goroutines (gobento extension);
	// 0, the default, means the number given in code, or 1.
	Workers int `yaml:"workers"`
	// Resources is BentoML's runners.resources: nil (the system's), "system"
	// or a mapping; with WorkersPerResource it sets the worker count as
	// BentoML's scheduler would (see [RunnerConfig.WorkerCount]).
	Resources *Resources `yaml:"resources"`
	// WorkersPerResource is BentoML's workers_per_resource; default 1, > 0.
	WorkersPerResource float64       `yaml:"workers_per_resource"`
	Logging            RunnerLogging `yaml:"logging"` // accepted; runner calls are in-process, so there is no runner access log
}

// Batching is the adaptive-batching block of a runner.
type Batching struct {
	Enabled      bool `yaml:"enabled"`        // default true; false makes every method non-batchable
	MaxBatchSize int  `yaml:"max_batch_size"` // most items in one batch, inclusive; default 100
	MaxLatencyMs int  `yaml:"max_latency_ms"` // latency bound in milliseconds; default 60000
}

// Default namespaces of the default metrics.
const (
	defaultAPINamespace    = "bentoml_api_server"
	defaultRunnerNamespace = "bentoml_runner"
)

// Default returns a new Config holding every default value. Each call
// returns an independent value.
func Default() *Config {
	return &Config{
		Version: 1,
		APIServer: APIServer{
			HTTP: HTTP{
				Host:              "0.0.0.0",
				Port:              3000,
				MaxRequestSize:    20 << 20,
				ReadHeaderTimeout: 10,
				ReadTimeout:       60,
				IdleTimeout:       120,
				MaxHeaderBytes:    1 << 20,
				WriteTimeout:      60,
				BodyMemoryLimit:   64 << 20,
				LingerTimeout:     2,
				LingerBytes:       64 << 20,
			},
			GRPC: GRPC{
				Host:              "0.0.0.0",
				Port:              3000,
				Metrics:           GRPCMetrics{Host: "0.0.0.0", Port: 3001},
				MaxMessageLength:  -1,
				MaxHeaderListSize: 16 << 10,
				MaxConnectionAge:  300,
			},
			Traffic: Traffic{Timeout: 60},
			Metrics: Metrics{Enabled: true, Namespace: defaultAPINamespace, Duration: Duration{Buckets: buckets.Default()},
				NativeHistograms: NativeHistograms{BucketFactor: 1.1, MaxBuckets: 160},
				OTLP:             OTLPMetrics{Protocol: "http", Interval: 60, Timeout: 10, Headers: StringMap{}}},
			Dashboard:       Dashboard{Enabled: true},
			ShutdownTimeout: 30,
			Logging:         defaultAPILogging(),
			SSL:             defaultSSL(),
		},
		Runners: Runners{
			RunnerConfig: RunnerConfig{
				Batching: Batching{Enabled: true, MaxBatchSize: 100, MaxLatencyMs: 60000},
				Traffic:  Traffic{Timeout: 900},
				Metrics:  Metrics{Enabled: true, Namespace: defaultRunnerNamespace, Duration: Duration{Buckets: buckets.Default()}},

				WorkersPerResource: 1,
				Logging:            RunnerLogging{Access: defaultAccessLog()},
			},
			PerRunner: map[string]RunnerConfig{},
		},
		Tracing: defaultTracing(),
		meta:    newMeta(),
	}
}

// Runner returns the effective configuration of the named runner: the
// global runners.* block with the keys set in runners.<name> laid over it
// (a deep merge: runners.<name>.batching.max_batch_size replaces only that
// key). A name without a block gets the global block. The result shares
// no memory with c.
//
// Duration buckets are inherited as a unit: if runners.<name> sets
// duration.buckets, the inherited min/max/factor are dropped, and if it sets
// any of min/max/factor, the inherited bucket list is dropped.
func (c *Config) Runner(name string) RunnerConfig {
	eff := cloneRunner(c.Runners.RunnerConfig)
	over, ok := c.Runners.PerRunner[name]
	if !ok {
		return eff
	}
	set := c.runnerSet(name)
	dst, src := reflect.ValueOf(&eff).Elem(), reflect.ValueOf(over)
	for _, p := range slices.Sorted(maps.Keys(set)) {
		d, s := fieldByPath(dst, p), fieldByPath(src, p)
		if d.IsValid() && s.IsValid() {
			d.Set(cloneValue(s))
		}
	}
	dur := &eff.Metrics.Duration
	if set["metrics.duration.buckets"] {
		for _, k := range []string{"min", "max", "factor"} {
			if !set["metrics.duration."+k] {
				*durationField(dur, k) = nil
			}
		}
	} else if set["metrics.duration.min"] || set["metrics.duration.max"] || set["metrics.duration.factor"] {
		dur.Buckets = nil
	}
	return eff
}

// runnerSet returns the keys (relative dotted paths) written in the
// runners.<name> block, or, with no record, the paths of its non-zero
// fields.
func (c *Config) runnerSet(name string) map[string]bool {
	if c.meta != nil {
		if s, ok := c.meta.runnerSet[name]; ok {
			return s
		}
	}
	set := map[string]bool{}
	leafPaths(reflect.ValueOf(c.Runners.PerRunner[name]), "", func(p string, v reflect.Value) {
		if !v.IsZero() {
			set[p] = true
		}
	})
	return set
}

func durationField(d *Duration, key string) **float64 {
	switch key {
	case "min":
		return &d.Min
	case "max":
		return &d.Max
	default:
		return &d.Factor
	}
}

// clone returns a deep copy of c.
func (c *Config) clone() *Config {
	n := &Config{Version: c.Version, APIServer: c.APIServer, Tracing: c.Tracing.clone()}
	n.APIServer.Workers = clonePtr(c.APIServer.Workers)
	n.APIServer.SSL = c.APIServer.SSL.clone()
	n.APIServer.HTTP.CORS = c.APIServer.HTTP.CORS.clone()
	n.APIServer.GRPC.MaxConcurrentStreams = clonePtr(c.APIServer.GRPC.MaxConcurrentStreams)
	n.APIServer.GRPC.MaximumConcurrentRPCs = clonePtr(c.APIServer.GRPC.MaximumConcurrentRPCs)
	n.APIServer.Traffic.MaxConcurrency = clonePtr(c.APIServer.Traffic.MaxConcurrency)
	n.APIServer.Metrics = cloneMetrics(c.APIServer.Metrics)
	n.Runners.RunnerConfig = cloneRunner(c.Runners.RunnerConfig)
	n.Runners.PerRunner = make(map[string]RunnerConfig, len(c.Runners.PerRunner))
	for k, v := range c.Runners.PerRunner {
		n.Runners.PerRunner[k] = cloneRunner(v)
	}
	if c.meta != nil {
		n.meta = c.meta.clone()
	}
	return n
}

func cloneRunner(r RunnerConfig) RunnerConfig {
	r.Resources = r.Resources.clone()
	r.Traffic.MaxConcurrency = clonePtr(r.Traffic.MaxConcurrency)
	r.Metrics = cloneMetrics(r.Metrics)
	return r
}

func cloneMetrics(m Metrics) Metrics {
	m.Host, m.Port = clonePtr(m.Host), clonePtr(m.Port)
	m.Duration.Buckets = slices.Clone(m.Duration.Buckets)
	m.Duration.Min, m.Duration.Max, m.Duration.Factor = clonePtr(m.Duration.Min), clonePtr(m.Duration.Max), clonePtr(m.Duration.Factor)
	if m.OTLP.Headers != nil {
		m.OTLP.Headers = maps.Clone(m.OTLP.Headers)
	}
	return m
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// cloneValue deep-copies a leaf value (scalar, pointer to scalar, or slice).
func cloneValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(v.Elem())
		return p
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(s, v)
		return s
	}
	return v
}

// yamlName returns the YAML key of a struct field, "" for yaml:"-", and
// whether the field is inlined.
func yamlName(f reflect.StructField) (name string, inline bool) {
	tag := f.Tag.Get("yaml")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "-" {
		return "", false
	}
	return name, opts == "inline"
}

// fieldByPath follows a relative dotted path of YAML keys through structs.
func fieldByPath(v reflect.Value, path string) reflect.Value {
	for seg := range strings.SplitSeq(path, ".") {
		if v.Kind() != reflect.Struct {
			return reflect.Value{}
		}
		v = structField(v, seg)
		if !v.IsValid() {
			return v
		}
	}
	return v
}

func structField(v reflect.Value, key string) reflect.Value {
	t := v.Type()
	for i := range t.NumField() {
		if name, _ := yamlName(t.Field(i)); name == key {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

// leafPaths calls fn for every leaf (non-struct) field under v, with its
// dotted YAML path relative to v.
func leafPaths(v reflect.Value, prefix string, fn func(path string, v reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		name, _ := yamlName(t.Field(i))
		if name == "" {
			continue
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		if f := v.Field(i); f.Kind() == reflect.Struct {
			leafPaths(f, p, fn)
		} else {
			fn(p, f)
		}
	}
}

// Source says where the value of key (a full dotted key such as
// "api_server.http.port") was set: "" for a default or a value set in
// code, OptionsEnv for BENTOML_CONFIG_OPTIONS, the file and line
// ("bentoml.yaml line 7"), or what [Config.MarkSet] recorded.
func (c *Config) Source(key string) string {
	if c.meta == nil {
		return ""
	}
	p, ok := c.meta.pos[key]
	if !ok {
		return ""
	}
	if s := p.String(); s != "" {
		return s
	}
	return "configuration"
}

// MarkSet records that key (a full dotted key) was set by source, such as
// "flag --timeout", for [Config.Source] and error messages. The caller sets
// the field itself: command-line flags are applied after [Load].
func (c *Config) MarkSet(key, source string) {
	if c.meta == nil {
		c.meta = newMeta()
	}
	c.meta.pos[key] = position{source: source}
}

// RunnerSource says where the value of rel (a key relative to a runner
// block, such as "batching.max_batch_size") in the effective configuration
// of the named runner ([Config.Runner]) was set: it returns the full key
// that set it (runners.<name>.rel, else runners.rel) and its [Config.Source],
// or "" and "" when the value is the default.
func (c *Config) RunnerSource(name, rel string) (key, source string) {
	for _, k := range []string{keyString([]string{"runners", name}) + "." + rel, "runners." + rel} {
		if s := c.Source(k); s != "" {
			return k, s
		}
	}
	return "", ""
}

// Package config reads gobento's configuration: BentoML 1.x's version-1
// YAML schema for the keys gobento supports, plus a few gobento extensions.
//
// # Sources and precedence
//
// [Load] starts from the defaults ([Default]) and lays over them, in turn:
//
//  1. the configuration file: [LoadOptions.File] (the --config flag) or, if
//     that is empty, the file named by the BENTOML_CONFIG environment
//     variable. The name must end in .yml or .yaml; "~" and $VARS in it
//     are expanded.
//  2. BENTOML_CONFIG_OPTIONS: whitespace-separated dotted.key=value
//     entries whose values are YAML, for example
//     `api_server.http.port=5000 api_server.metrics.duration.buckets=[0.1,0.5,1]`.
//     A key segment may be double-quoted to hold dots:
//     `runners."my.runner".workers=2`. See [ApplyOptions].
//
// Mappings merge deeply; scalars and lists replace. Command-line flags such
// as --port are applied by the caller after Load. The result is then
// checked by [Config.Validate].
//
// String values may refer to environment variables as ${VAR} or
// ${VAR:-default} (the default applies when VAR is unset or empty). An
// unquoted reference in a number or boolean key is typed after expansion,
// so `port: ${PORT:-3000}` is an integer.
//
// # Strictness
//
// Configuration mistakes fail at start, never at request time. Every
// problem found is reported (joined with [errors.Join]) as an [*Error]
// naming the full dotted key and, when known, the file and line:
//
//	config: api_server.metrics.namepsace (bentoml.yaml line 7): unknown key (did you mean api_server.metrics.namespace?)
//	config: api_server.http.port (BENTOML_CONFIG_OPTIONS): expected an integer, got string "x"
//
// Unknown keys are errors. Every key of BentoML 1.1's schema that a
// deployment sets for the API server (CORS, TLS, access logs, the trace-id
// header, workers, runner resources, tracing) is accepted with BentoML's
// type and default; the few BentoML keys gobento does not implement
// (api_server.backlog, api_server.runner_probe, monitoring, ...) and
// pre-version-1 key names (api_server.port, ...) are errors with a hint;
// gobento does not migrate old keys. Types are checked: integers are
// accepted where numbers are expected (`max: 10`) but not the reverse, and
// a quoted "3000" is not a port. Booleans also accept the unquoted YAML 1.1
// words yes/no/on/off, as BentoML (PyYAML) does.
//
// Under runners, a key that is not one of the runner settings below is a
// runner name (1 to 63 characters from a-z, 0-9, '_', '.', '-', starting and
// ending with a letter or digit, the rule [bento.NewRunner] applies); its block
// takes the same keys and overrides only the keys it sets: with
// `runners: {iris_clf: {batching: {max_batch_size: 10}}}` the iris_clf
// runner keeps batching.enabled and max_latency_ms from runners.batching.
// [Config.Runner] returns a runner's effective configuration. A runner
// name that the service does not declare (a misspelling such as
// runners.iris_clff) stops start-up with a did-you-mean: servers call
// [Config.CheckRunners].
//
// # Keys
//
// Sizes are in bytes and durations in seconds unless the key says
// otherwise; every duration must lie between 1 ms and 365 days. "null"
// marks an optional key that is unset by default.
//
//	version                                    1        schema version; must be 1
//
//	api_server.http.host                       0.0.0.0  HTTP listen address: an IP address or "localhost"
//	api_server.http.port                       3000     HTTP listen port, 0..65535 (0 picks a free port)
//	api_server.http.max_request_size           20971520 request body limit (20 MiB), > 0; larger bodies get 413 [gobento]
//	api_server.http.read_header_timeout        10       time allowed to send request headers, > 0 [gobento]
//	api_server.http.read_timeout               60       time allowed to read a whole request, > 0 [gobento]
//	api_server.http.idle_timeout               120      keep-alive idle time, > 0 [gobento]
//	api_server.http.max_header_bytes           1048576  request header limit (1 MiB), > 0 [gobento]
//	api_server.http.write_timeout              60       time allowed to write one answer; then the connection closes (499) [gobento]
//	api_server.http.max_connections            0        open connections cap; 0 derives it from the fd limit (3/4, at most 10000) [gobento]
//	api_server.http.body_memory_limit          67108864 request-body bytes held at once (64 MiB), >= max_request_size; 503 beyond [gobento]
//	api_server.http.linger_timeout             2        lingering close after a 413: time ... [gobento]
//	api_server.http.linger_bytes               67108864 ... and bytes read and discarded [gobento]
//	api_server.http.cors.enabled               false    answer CORS as Starlette's CORSMiddleware (BentoML's)
//	api_server.http.cors.access_control_allow_origins  null  origins (string or list; "*" any); required when enabled
//	api_server.http.cors.access_control_allow_origin_regex  null  origins matching it in full are allowed too
//	api_server.http.cors.access_control_allow_credentials   null  send Allow-Credentials (and the origin, not "*")
//	api_server.http.cors.access_control_allow_methods  null  methods a preflight may ask for (string or list); null: GET; "*": all
//	api_server.http.cors.access_control_allow_headers  null  request headers beyond the safelisted ones; "*": any
//	api_server.http.cors.access_control_max_age        null  preflight cache time in seconds, >= 0; null: 600
//	api_server.http.cors.access_control_expose_headers null  response headers a browser may read (string or list)
//	api_server.http.response.trace_id          false    add X-BentoML-Trace-ID to every response
//
//	api_server.ssl.enabled                     false    informational, as in BentoML; true without certfile is an error
//	api_server.ssl.certfile                    null     PEM certificate chain; setting it turns TLS on (HTTP and gRPC)
//	api_server.ssl.keyfile                     null     PEM private key; null: the key is read from certfile
//	api_server.ssl.keyfile_password            null     password of an encrypted key (PKCS#8 or legacy PEM)
//	api_server.ssl.ca_certs                    null     CAs client certificates must chain to (serve-grpc: turns on mutual TLS)
//	api_server.ssl.version                     17       Python ssl.PROTOCOL_*: 17 or 2 Go's TLS 1.2+1.3; 3, 4, 5 pin TLS 1.0, 1.1, 1.2
//	api_server.ssl.cert_reqs                   0        Python ssl.CERT_*: 0 none, 1 optional, 2 required client certificates
//	api_server.ssl.ciphers                     TLSv1    TLSv1/DEFAULT: Go's suites; else OpenSSL or IANA TLS 1.2 suite names
//
//	api_server.logging.access.enabled          true     one log line per HTTP request (Info level)
//	api_server.logging.access.request_content_length   true  log the request body length
//	api_server.logging.access.request_content_type     true  log the request Content-Type
//	api_server.logging.access.response_content_length  true  log the response body length
//	api_server.logging.access.response_content_type    true  log the response Content-Type
//	api_server.logging.access.format.trace_id  032x     Python format spec of trace ids (validated; gobento logs hex ids)
//	api_server.logging.access.format.span_id   016x     Python format spec of span ids (validated)
//	api_server.workers                         null     > 0; accepted and not used: one process serves on every core (logged)
//
//	api_server.grpc.host                       0.0.0.0  gRPC listen address (serve-grpc)
//	api_server.grpc.port                       3000     gRPC listen port, 0..65535
//	api_server.grpc.metrics.host               0.0.0.0  address of the Prometheus listener of serve-grpc
//	api_server.grpc.metrics.port               3001     its port; metrics are served at path "/"
//	api_server.grpc.reflection.enabled         false    register gRPC server reflection (also --enable-reflection)
//	api_server.grpc.max_concurrent_streams     null     streams per HTTP/2 connection, > 0; null means 100
//	api_server.grpc.max_message_length         -1       largest message sent or received, > 0; -1 means: receive
//	                                                    at most api_server.http.max_request_size, send any size
//	api_server.grpc.max_header_list_size       16384    decoded metadata of one call, >= 1024 [gobento]
//	api_server.grpc.max_connections            0        open connections cap, as for HTTP [gobento]
//	api_server.grpc.max_connection_age         300      connections are closed (GOAWAY) after about this long, streams
//	                                                    reset api_server.traffic.timeout later; clients reconnect [gobento]
//	api_server.grpc.maximum_concurrent_rpcs    null     RPCs in progress, > 0; beyond it calls fail with RESOURCE_EXHAUSTED
//
//	api_server.traffic.timeout                 60       per-request deadline, > 0; exceeded requests get 504
//	api_server.traffic.max_concurrency         null     requests in progress, > 0; beyond it requests get 429
//
//	api_server.metrics.enabled                 true     record the default metrics and serve /metrics
//	api_server.metrics.namespace               bentoml_api_server  metric name prefix, [a-zA-Z_:][a-zA-Z0-9_:]*
//	api_server.metrics.duration.buckets        [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
//	                                                    request-duration histogram bounds, strictly increasing;
//	                                                    +Inf is implied (a trailing .inf is accepted)
//	api_server.metrics.duration.min            null     exponential buckets instead of a list: first bound, > 0
//	api_server.metrics.duration.max            null     last bound, > min
//	api_server.metrics.duration.factor         null     growth factor, > 1
//	api_server.metrics.host                    null     address of a separate metrics listener; needs port [gobento]
//	api_server.metrics.port                    null     if set, /metrics is served only on this port, not on the API port [gobento]
//	api_server.metrics.exemplars               false    attach the request id as an exemplar to API latency and counts (OpenMetrics scrapes) [gobento]
//	api_server.metrics.native_histograms.enabled false  Prometheus native histograms beside the classic buckets of the duration histograms [gobento]
//	api_server.metrics.native_histograms.bucket_factor 1.1  largest bucket width ratio (> 1, <= 2) [gobento]
//	api_server.metrics.native_histograms.max_buckets 160  buckets per series before the resolution halves (1..10000) [gobento]
//	api_server.metrics.otlp.enabled            false    push every metric of /metrics to an OTLP endpoint as well [gobento]
//	api_server.metrics.otlp.protocol           http     http or grpc [gobento]
//	api_server.metrics.otlp.endpoint           ""       URL (http) or host:port (grpc); empty: OTEL_EXPORTER_OTLP_* or localhost [gobento]
//	api_server.metrics.otlp.interval           60       seconds between pushes (one more at shutdown) [gobento]
//	api_server.metrics.otlp.timeout            10       seconds one push may take [gobento]
//	api_server.metrics.otlp.insecure           false    gRPC without TLS [gobento]
//	api_server.metrics.otlp.headers            {}       headers sent with every push [gobento]
//	api_server.dashboard.enabled               true     live dashboard at /dashboard, served where /metrics is (needs metrics enabled) [gobento]
//
//	api_server.shutdown_timeout                30       grace period for in-flight requests at shutdown, > 0 [gobento]
//
//	runners.batching.enabled                   true     adaptive batching; false makes every method non-batchable
//	runners.batching.max_batch_size            100      most items in one batch (inclusive), > 0
//	runners.batching.max_latency_ms            60000    latency bound of a batched request in milliseconds, > 0
//	runners.traffic.timeout                    900      per-call deadline, > 0
//	runners.traffic.max_concurrency            null     calls in progress per runner, > 0
//	runners.metrics.enabled                    true     record the runner metrics
//	runners.metrics.namespace                  bentoml_runner  metric name prefix
//	runners.metrics.duration.*                 as api_server.metrics.duration.*
//	runners.workers                            0        worker goroutines, at most 1024; 0 means the number given in code, or 1 [gobento]
//	runners.resources                          null     null, "system" or {cpu: 4 | "500m", nvidia.com/gpu: N | [ids]}; with
//	                                                    workers_per_resource it sets the worker count (see [RunnerConfig.WorkerCount])
//	runners.workers_per_resource               1        > 0 (int or float)
//	runners.logging.access.*                   as api_server.logging.access without format; accepted (runner calls are in-process)
//
//	tracing.exporter_type                      null     zipkin, jaeger, otlp or in_memory; accepted and validated, export is off (logged)
//	tracing.sample_rate                        null     0..1
//	tracing.excluded_urls                      null     string or list
//	tracing.timeout                            null     > 0
//	tracing.max_tag_value_length               null     integer
//	tracing.zipkin.*                           null     endpoint, local_node_ipv4/ipv6 (IP or integer), local_node_port (> 0)
//	tracing.jaeger.*                           protocol thrift (or grpc), collector_endpoint, thrift.{agent_host_name,
//	                                                    agent_port, udp_split_oversized_batches}, grpc.insecure
//	tracing.otlp.*                             null     protocol (http or grpc), endpoint, compression (gzip, none, deflate),
//	                                                    http.{certificate_file, headers (mapping)}, grpc.{headers, insecure}
//	runners.<name>.*                           -        any of the runners.* keys above, for one runner
//
// Keys marked [gobento] are gobento extensions unknown to BentoML.
// runners.metrics.host and runners.metrics.port do not exist: runner metrics
// are served by the API server.
//
// # Duration buckets
//
// A duration block holds either buckets or all three of min, max and
// factor. Setting both styles is an error naming both keys (the default
// bucket list does not count: setting min/max/factor replaces it); so is
// setting only some of min/max/factor, min >= max, factor <= 1, a
// non-positive min or max, and an unsorted, duplicated or negative bucket.
// The exponential series is BentoML's: b = min, then b *= factor while
// b < max (repeated multiplication, so the float values match BentoML's
// exactly), keeping at most 100 values, then max. For example
// min 0.1, max 5, factor 2 gives 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5 (+Inf).
// [Metrics.Buckets] computes the bounds.
//
// Unlike BentoML 1.x, which ignores them, metrics.namespace and
// duration.min/max/factor take effect, and runner duration buckets are
// configurable. A runners.<name> block that sets duration.buckets drops
// inherited min/max/factor and vice versa.
package config

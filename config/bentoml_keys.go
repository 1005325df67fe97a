package config

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// This file holds the BentoML 1.1 keys that configure what surrounds the
// API (CORS, TLS, the access log, the trace-id header) and the keys that
// only make sense in BentoML's process model (api_server.workers,
// runners.resources, workers_per_resource) or belong to tracing, which
// gobento accepts and validates with BentoML's types and defaults.

// StringList is a BentoML "string or list of strings" value: a single
// string is read as a one-element list. Nil means null (unset).
type StringList []string

// StringMap is a mapping of strings to strings (scalar values are kept as
// written). Nil means null.
type StringMap map[string]string

// ScalarText is a value BentoML accepts as a string or a number; it keeps
// the scalar as written.
type ScalarText string

// CORS is api_server.http.cors. When Enabled, the non-null values are those
// of Starlette's CORSMiddleware, as in BentoML: unset keys take Starlette's
// defaults (methods GET, no extra headers, no credentials, max age 600).
type CORS struct {
	Enabled bool `yaml:"enabled"` // default false
	// AccessControlAllowOrigins lists the allowed origins ("*": any); a
	// single string is a one-element list. Required when Enabled.
	AccessControlAllowOrigins     StringList `yaml:"access_control_allow_origins"`
	AccessControlAllowCredentials *bool      `yaml:"access_control_allow_credentials"`
	AccessControlAllowMethods     StringList `yaml:"access_control_allow_methods"` // "*": every method
	AccessControlAllowHeaders     StringList `yaml:"access_control_allow_headers"` // "*": every header
	// AccessControlAllowOriginRegex also allows origins that match it in
	// full (Go RE2 syntax, which covers the usual Python patterns).
	AccessControlAllowOriginRegex *string    `yaml:"access_control_allow_origin_regex"`
	AccessControlMaxAge           *int       `yaml:"access_control_max_age"` // seconds; default 600
	AccessControlExposeHeaders    StringList `yaml:"access_control_expose_headers"`
}

func (c CORS) clone() CORS {
	c.AccessControlAllowOrigins = slices.Clone(c.AccessControlAllowOrigins)
	c.AccessControlAllowCredentials = clonePtr(c.AccessControlAllowCredentials)
	c.AccessControlAllowMethods = slices.Clone(c.AccessControlAllowMethods)
	c.AccessControlAllowHeaders = slices.Clone(c.AccessControlAllowHeaders)
	c.AccessControlAllowOriginRegex = clonePtr(c.AccessControlAllowOriginRegex)
	c.AccessControlMaxAge = clonePtr(c.AccessControlMaxAge)
	c.AccessControlExposeHeaders = slices.Clone(c.AccessControlExposeHeaders)
	return c
}

// HTTPResponse is api_server.http.response.
type HTTPResponse struct {
	// TraceID adds the X-BentoML-Trace-ID header to every API response
	// (default false). Without tracing it carries the request's trace id as
	// gobento knows it: the W3C traceparent's, if the client sent one.
	TraceID bool `yaml:"trace_id"`
}

// SSL is api_server.ssl, BentoML's TLS settings (Python ssl module values).
// TLS is on when Certfile is set (here or with --ssl-certfile), as in
// BentoML; Enabled without a Certfile is an error.
type SSL struct {
	Enabled         bool    `yaml:"enabled"`          // default false
	Certfile        *string `yaml:"certfile"`         // PEM certificate chain (may hold the key too)
	Keyfile         *string `yaml:"keyfile"`          // PEM private key; null: taken from Certfile
	KeyfilePassword *string `yaml:"keyfile_password"` // password of an encrypted key
	CACerts         *string `yaml:"ca_certs"`         // PEM CAs that client certificates must chain to
	// Version is the Python ssl.PROTOCOL_* value: 17 (TLS_SERVER, the
	// default) or 2 (TLS) negotiate TLS 1.2 or 1.3; 3, 4, 5 pin TLS 1.0,
	// 1.1, 1.2. Others are an error.
	Version *int `yaml:"version"`
	// CertReqs is Python's ssl.CERT_*: 0 (none, the default), 1 (optional),
	// 2 (required) client certificates.
	CertReqs *int `yaml:"cert_reqs"`
	// Ciphers is an OpenSSL cipher list. "TLSv1" (the default), "DEFAULT"
	// and "" keep Go's defaults; otherwise a ':'-separated list of OpenSSL
	// or IANA TLS 1.2 suite names.
	Ciphers *string `yaml:"ciphers"`
}

func defaultSSL() SSL {
	v, r, c := 17, 0, "TLSv1"
	return SSL{Version: &v, CertReqs: &r, Ciphers: &c}
}

func (s SSL) clone() SSL {
	s.Certfile, s.Keyfile, s.KeyfilePassword, s.CACerts = clonePtr(s.Certfile), clonePtr(s.Keyfile), clonePtr(s.KeyfilePassword), clonePtr(s.CACerts)
	s.Version, s.CertReqs, s.Ciphers = clonePtr(s.Version), clonePtr(s.CertReqs), clonePtr(s.Ciphers)
	return s
}

// AccessLog is a logging.access block: one log line per request, with the
// optional fields switched on here (null counts as off).
type AccessLog struct {
	Enabled               bool  `yaml:"enabled"` // default true
	RequestContentLength  *bool `yaml:"request_content_length"`
	RequestContentType    *bool `yaml:"request_content_type"`
	ResponseContentLength *bool `yaml:"response_content_length"`
	ResponseContentType   *bool `yaml:"response_content_type"`
}

// APIAccessLog is api_server.logging.access: [AccessLog] plus the format
// of the trace and span ids.
type APIAccessLog struct {
	Enabled               bool            `yaml:"enabled"`
	RequestContentLength  *bool           `yaml:"request_content_length"`
	RequestContentType    *bool           `yaml:"request_content_type"`
	ResponseContentLength *bool           `yaml:"response_content_length"`
	ResponseContentType   *bool           `yaml:"response_content_type"`
	Format                AccessLogFormat `yaml:"format"`
}

// AccessLogFormat holds Python format specs for the ids in the access log.
type AccessLogFormat struct {
	TraceID string `yaml:"trace_id"` // default "032x"
	SpanID  string `yaml:"span_id"`  // default "016x"
}

// APILogging is api_server.logging.
type APILogging struct {
	Access APIAccessLog `yaml:"access"`
}

// RunnerLogging is runners.logging.
type RunnerLogging struct {
	Access AccessLog `yaml:"access"`
}

func defaultAccessLog() AccessLog {
	t := true
	return AccessLog{Enabled: true, RequestContentLength: &t, RequestContentType: &t, ResponseContentLength: &t, ResponseContentType: &t}
}

func defaultAPILogging() APILogging {
	a := defaultAccessLog()
	return APILogging{Access: APIAccessLog{
		Enabled: a.Enabled, RequestContentLength: a.RequestContentLength, RequestContentType: a.RequestContentType,
		ResponseContentLength: a.ResponseContentLength, ResponseContentType: a.ResponseContentType,
		Format: AccessLogFormat{TraceID: "032x", SpanID: "016x"},
	}}
}

// On reports whether the access-log field p is switched on (null is off).
func On(p *bool) bool { return p != nil && *p }

// Resources is runners.resources as BentoML reads it: "system", or a
// mapping of resource names to amounts ("cpu": 4, "500m" or "2";
// "nvidia.com/gpu": a count or a list of device ids).
type Resources struct {
	System   bool              // written as "system"
	CPU      string            // resources.cpu as written; "" if unset
	GPUs     []int             // nvidia.com/gpu as a list of device ids
	GPUCount int               // nvidia.com/gpu as a count
	Other    map[string]string // other resources, as written
}

func (r *Resources) clone() *Resources {
	if r == nil {
		return nil
	}
	n := *r
	n.GPUs = slices.Clone(r.GPUs)
	if r.Other != nil {
		n.Other = make(map[string]string, len(r.Other))
		for k, v := range r.Other {
			n.Other[k] = v
		}
	}
	return &n
}

// MarshalYAML renders r as it is written in a configuration.
func (r Resources) MarshalYAML() (any, error) {
	if r.System {
		return "system", nil
	}
	m := yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	add := func(k string, v any) {
		var n yaml.Node
		_ = n.Encode(v)
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, &n)
	}
	if r.CPU != "" {
		add("cpu", r.CPU)
	}
	if r.GPUs != nil {
		add(gpuResource, r.GPUs)
	} else if r.GPUCount > 0 {
		add(gpuResource, r.GPUCount)
	}
	for _, k := range slices.Sorted(mapsKeys(r.Other)) {
		add(k, r.Other[k])
	}
	return &m, nil
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

const gpuResource = "nvidia.com/gpu"

// CPUs returns resources.cpu as a number of CPUs ("500m" is 0.5), and
// false when it is unset.
func (r *Resources) CPUs() (float64, bool, error) {
	if r == nil || r.CPU == "" {
		return 0, false, nil
	}
	s := r.CPU
	scale := 1.0
	if m, ok := strings.CutSuffix(s, "m"); ok {
		s, scale = m, 1e-3
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) {
		return 0, true, fmt.Errorf("cpu must be a number of CPUs > 0 such as 4, 0.5 or \"500m\", got %q", r.CPU)
	}
	return f * scale, true, nil
}

// GPUNumber returns how many GPUs nvidia.com/gpu names.
func (r *Resources) GPUNumber() int {
	if r == nil {
		return 0
	}
	if r.GPUs != nil {
		return len(r.GPUs)
	}
	return r.GPUCount
}

// WorkerCount maps BentoML's scheduling keys onto gobento's model, in which
// every runner runs in the one process with a number of worker goroutines,
// each with its own model. It returns the count and a description of where
// it came from, or 0 when neither resources nor workers_per_resource was
// changed from its default (the runner then keeps the count given in code
// or runners.workers). ncpu is the number of usable CPUs. The rules are
// BentoML's DefaultStrategy for a runnable that is not multi-threaded:
// ceil(gpus × workers_per_resource) when GPUs are listed, else
// ceil(cpu × workers_per_resource), cpu being resources.cpu or, for null or
// "system", ncpu.
func (r RunnerConfig) WorkerCount(ncpu int) (int, string) {
	wpr := r.WorkersPerResource
	if r.Resources == nil && wpr == 1 {
		return 0, ""
	}
	if g := r.Resources.GPUNumber(); g > 0 {
		return int(math.Ceil(float64(g) * wpr)), fmt.Sprintf("%d GPU(s) × workers_per_resource %s; gobento assigns no devices", g, fmtFloat(wpr))
	}
	cpu, ok, err := r.Resources.CPUs()
	if err != nil || !ok {
		cpu = float64(ncpu)
	}
	return max(1, int(math.Ceil(cpu*wpr))), fmt.Sprintf("cpu %s × workers_per_resource %s", fmtFloat(cpu), fmtFloat(wpr))
}

// Tracing is BentoML's tracing block, with BentoML's types and defaults;
// internal/tracing turns it into OpenTelemetry exporters (docs/tracing.md).
type Tracing struct {
	ExporterType      *string    `yaml:"exporter_type"` // zipkin, jaeger, otlp or in_memory
	SampleRate        *float64   `yaml:"sample_rate"`   // 0 to 1
	ExcludedURLs      StringList `yaml:"excluded_urls"`
	Timeout           *int       `yaml:"timeout"` // > 0
	MaxTagValueLength *int       `yaml:"max_tag_value_length"`
	Zipkin            Zipkin     `yaml:"zipkin"`
	Jaeger            Jaeger     `yaml:"jaeger"`
	OTLP              OTLP       `yaml:"otlp"`
}

// Zipkin is tracing.zipkin.
type Zipkin struct {
	Endpoint      *string     `yaml:"endpoint"`
	LocalNodeIPv4 *ScalarText `yaml:"local_node_ipv4"` // an IP address or an integer
	LocalNodeIPv6 *ScalarText `yaml:"local_node_ipv6"` // an IP address or an integer
	LocalNodePort *int        `yaml:"local_node_port"` // > 0
}

// Jaeger is tracing.jaeger.
type Jaeger struct {
	Protocol          *string      `yaml:"protocol"` // thrift (default) or grpc
	CollectorEndpoint *string      `yaml:"collector_endpoint"`
	Thrift            JaegerThrift `yaml:"thrift"`
	GRPC              JaegerGRPC   `yaml:"grpc"`
}

// JaegerThrift is tracing.jaeger.thrift.
type JaegerThrift struct {
	AgentHostName            *string `yaml:"agent_host_name"`
	AgentPort                *int    `yaml:"agent_port"`
	UDPSplitOversizedBatches *bool   `yaml:"udp_split_oversized_batches"`
}

// JaegerGRPC is tracing.jaeger.grpc.
type JaegerGRPC struct {
	Insecure *bool `yaml:"insecure"`
}

// OTLP is tracing.otlp.
type OTLP struct {
	Protocol    *string  `yaml:"protocol"` // http or grpc
	Endpoint    *string  `yaml:"endpoint"`
	Compression *string  `yaml:"compression"` // gzip, none or deflate
	HTTP        OTLPHTTP `yaml:"http"`
	GRPC        OTLPGRPC `yaml:"grpc"`
}

// OTLPHTTP is tracing.otlp.http.
type OTLPHTTP struct {
	CertificateFile *string   `yaml:"certificate_file"`
	Headers         StringMap `yaml:"headers"`
}

// OTLPGRPC is tracing.otlp.grpc.
type OTLPGRPC struct {
	Headers  StringList `yaml:"headers"`
	Insecure *bool      `yaml:"insecure"`
}

func defaultTracing() Tracing {
	thrift := "thrift"
	return Tracing{Jaeger: Jaeger{Protocol: &thrift}}
}

func (t Tracing) clone() Tracing {
	n := t
	n.ExporterType, n.SampleRate, n.Timeout, n.MaxTagValueLength = clonePtr(t.ExporterType), clonePtr(t.SampleRate), clonePtr(t.Timeout), clonePtr(t.MaxTagValueLength)
	n.ExcludedURLs = slices.Clone(t.ExcludedURLs)
	n.Zipkin.Endpoint, n.Zipkin.LocalNodeIPv4, n.Zipkin.LocalNodeIPv6, n.Zipkin.LocalNodePort = clonePtr(t.Zipkin.Endpoint), clonePtr(t.Zipkin.LocalNodeIPv4), clonePtr(t.Zipkin.LocalNodeIPv6), clonePtr(t.Zipkin.LocalNodePort)
	n.Jaeger.Protocol, n.Jaeger.CollectorEndpoint = clonePtr(t.Jaeger.Protocol), clonePtr(t.Jaeger.CollectorEndpoint)
	n.Jaeger.Thrift = JaegerThrift{clonePtr(t.Jaeger.Thrift.AgentHostName), clonePtr(t.Jaeger.Thrift.AgentPort), clonePtr(t.Jaeger.Thrift.UDPSplitOversizedBatches)}
	n.Jaeger.GRPC.Insecure = clonePtr(t.Jaeger.GRPC.Insecure)
	n.OTLP.Protocol, n.OTLP.Endpoint, n.OTLP.Compression = clonePtr(t.OTLP.Protocol), clonePtr(t.OTLP.Endpoint), clonePtr(t.OTLP.Compression)
	n.OTLP.HTTP.CertificateFile = clonePtr(t.OTLP.HTTP.CertificateFile)
	if t.OTLP.HTTP.Headers != nil {
		n.OTLP.HTTP.Headers = make(StringMap, len(t.OTLP.HTTP.Headers))
		for k, v := range t.OTLP.HTTP.Headers {
			n.OTLP.HTTP.Headers[k] = v
		}
	}
	n.OTLP.GRPC.Headers = slices.Clone(t.OTLP.GRPC.Headers)
	n.OTLP.GRPC.Insecure = clonePtr(t.OTLP.GRPC.Insecure)
	return n
}

// ---- decoding ---------------------------------------------------------------

var (
	stringListType = reflect.TypeFor[StringList]()
	stringMapType  = reflect.TypeFor[StringMap]()
	resourcesType  = reflect.TypeFor[*Resources]()
	scalarTextType = reflect.TypeFor[*ScalarText]()
)

// special decodes the types above; it reports false for any other type.
func (d *decoder) special(v reflect.Value, n *yaml.Node, path []string, line int) bool {
	key := keyString(path)
	switch v.Type() {
	case stringListType:
		switch {
		case isNull(n):
			v.SetZero()
		case n.Kind == yaml.ScalarNode:
			var s string
			if !d.leaf(reflect.ValueOf(&s).Elem(), n, key, line) {
				return true
			}
			v.Set(reflect.ValueOf(StringList{s}))
		case n.Kind == yaml.SequenceNode:
			l := make(StringList, len(n.Content))
			for i, e := range n.Content {
				if !d.leaf(reflect.ValueOf(&l[i]).Elem(), resolve(e), fmt.Sprintf("%s[%d]", key, i), line) {
					return true
				}
			}
			v.Set(reflect.ValueOf(l))
		default:
			d.fail(key, line, "expected a string or a list of strings, got %s", describe(n))
			return true
		}
	case stringMapType:
		if isNull(n) {
			v.SetZero()
			break
		}
		if n.Kind != yaml.MappingNode {
			d.fail(key, line, "expected a mapping, got %s", describe(n))
			return true
		}
		m := StringMap{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, e := resolve(n.Content[i]), resolve(n.Content[i+1])
			if k.Kind != yaml.ScalarNode || e.Kind != yaml.ScalarNode || isNull(e) {
				d.fail(key, line, "expected a mapping of strings to strings")
				return true
			}
			m[k.Value] = e.Value
		}
		v.Set(reflect.ValueOf(m))
	case scalarTextType:
		switch {
		case isNull(n):
			v.SetZero()
		case n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!str" || n.ShortTag() == "!!int"):
			s := ScalarText(n.Value)
			v.Set(reflect.ValueOf(&s))
		default:
			d.fail(key, line, "expected a string or an integer, got %s", describe(n))
			return true
		}
	case resourcesType:
		r, ok := d.resources(n, key, line)
		if !ok {
			return true
		}
		v.Set(reflect.ValueOf(r))
	default:
		return false
	}
	d.mark(path, line)
	return true
}

// resources decodes runners.resources: null, "system" or a mapping.
func (d *decoder) resources(n *yaml.Node, key string, line int) (*Resources, bool) {
	switch {
	case isNull(n):
		return nil, true
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && n.Value == "system":
		return &Resources{System: true}, true
	case n.Kind != yaml.MappingNode:
		d.fail(key, line, "expected null, \"system\" or a mapping of resources, got %s", describe(n))
		return nil, false
	}
	r := &Resources{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), resolve(n.Content[i+1])
		sub := key + "." + quoteSegment(kn.Value)
		switch kn.Value {
		case "cpu":
			if vn.Kind != yaml.ScalarNode || isNull(vn) || (vn.ShortTag() != "!!int" && vn.ShortTag() != "!!float" && vn.ShortTag() != "!!str") {
				d.fail(sub, kn.Line, "expected a number of CPUs such as 4, 0.5 or \"500m\", got %s", describe(vn))
				return nil, false
			}
			r.CPU = vn.Value
		case gpuResource:
			switch {
			case vn.Kind == yaml.ScalarNode && vn.ShortTag() == "!!int":
				c, err := strconv.Atoi(vn.Value)
				if err != nil {
					d.fail(sub, kn.Line, "expected a GPU count or a list of GPU ids, got %s", describe(vn))
					return nil, false
				}
				r.GPUCount = c
			case vn.Kind == yaml.SequenceNode:
				r.GPUs = []int{}
				for j, e := range vn.Content {
					var id int
					if !d.leaf(reflect.ValueOf(&id).Elem(), resolve(e), fmt.Sprintf("%s[%d]", sub, j), kn.Line) {
						return nil, false
					}
					r.GPUs = append(r.GPUs, id)
				}
			default:
				d.fail(sub, kn.Line, "expected a GPU count or a list of GPU ids, got %s", describe(vn))
				return nil, false
			}
		default:
			if vn.Kind != yaml.ScalarNode {
				d.fail(sub, kn.Line, "expected a scalar amount, got %s", describe(vn))
				return nil, false
			}
			if r.Other == nil {
				r.Other = map[string]string{}
			}
			r.Other[kn.Value] = vn.Value
		}
	}
	return r, true
}

// ---- validation -------------------------------------------------------------

var pyIntFormat = regexp.MustCompile(`^0?[0-9]*[xXdob]$`)

// bentomlKeys validates the keys of this file.
func (v *validator) bentomlKeys() {
	a := &v.c.APIServer
	v.optionalPositive("api_server.workers", a.Workers)

	c := a.HTTP.CORS
	if c.Enabled && c.AccessControlAllowOrigins == nil {
		// BentoML's words (an assertion when it builds the app).
		v.add("api_server.http.cors.access_control_allow_origins", "To enable cors, access_control_allow_origin must be set")
	}
	if c.AccessControlAllowOriginRegex != nil {
		if _, err := regexp.Compile(*c.AccessControlAllowOriginRegex); err != nil {
			v.add("api_server.http.cors.access_control_allow_origin_regex", "is not a valid regular expression: %v", err)
		}
	}
	if c.AccessControlMaxAge != nil && *c.AccessControlMaxAge < 0 {
		v.add("api_server.http.cors.access_control_max_age", "must be >= 0 seconds, got %d", *c.AccessControlMaxAge)
	}

	f := a.Logging.Access.Format
	for _, x := range []struct{ key, val string }{{"trace_id", f.TraceID}, {"span_id", f.SpanID}} {
		if !pyIntFormat.MatchString(x.val) {
			v.add("api_server.logging.access.format."+x.key, "must be a Python integer format spec such as \"032x\", got %q", x.val)
		}
	}

	s := a.SSL
	if s.Version != nil && *s.Version <= 0 {
		v.add("api_server.ssl.version", "must be > 0 or null, got %d", *s.Version)
	}
	if s.Enabled && (s.Certfile == nil || *s.Certfile == "") {
		v.add("api_server.ssl.enabled", "is true but api_server.ssl.certfile is not set: TLS needs a certificate")
	}

	t := v.c.Tracing
	if t.ExporterType != nil && !slices.Contains([]string{"zipkin", "jaeger", "otlp", "in_memory"}, strings.ToLower(*t.ExporterType)) {
		v.add("tracing.exporter_type", "must be one of zipkin, jaeger, otlp, in_memory or null, got %q", *t.ExporterType)
	}
	if t.SampleRate != nil && !(*t.SampleRate >= 0 && *t.SampleRate <= 1) {
		v.add("tracing.sample_rate", "must be between 0 and 1, got %s", fmtFloat(*t.SampleRate))
	}
	v.optionalPositive("tracing.timeout", t.Timeout)
	v.optionalPositive("tracing.zipkin.local_node_port", t.Zipkin.LocalNodePort)
	for _, x := range []struct {
		key string
		val *ScalarText
	}{{"tracing.zipkin.local_node_ipv4", t.Zipkin.LocalNodeIPv4}, {"tracing.zipkin.local_node_ipv6", t.Zipkin.LocalNodeIPv6}} {
		if x.val == nil {
			continue
		}
		if _, err := strconv.Atoi(string(*x.val)); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(string(*x.val)); err != nil {
			v.add(x.key, "must be an IP address or an integer, got %q", string(*x.val))
		}
	}
	if p := t.Jaeger.Protocol; p != nil && !slices.Contains([]string{"thrift", "grpc"}, strings.ToLower(*p)) {
		v.add("tracing.jaeger.protocol", "must be thrift or grpc, got %q", *p)
	}
	if p := t.OTLP.Protocol; p != nil && !slices.Contains([]string{"http", "grpc"}, strings.ToLower(*p)) {
		v.add("tracing.otlp.protocol", "must be http or grpc, got %q", *p)
	}
	if p := t.OTLP.Compression; p != nil && !slices.Contains([]string{"gzip", "none", "deflate"}, *p) {
		v.add("tracing.otlp.compression", "must be gzip, none or deflate, got %q", *p)
	}
}

// runnerKeys validates a runner block's BentoML scheduling keys.
func (v *validator) runnerKeys(prefix string, r RunnerConfig) {
	if !(r.WorkersPerResource > 0) || math.IsInf(r.WorkersPerResource, 0) {
		v.add(prefix+".workers_per_resource", "must be a number > 0, got %s", fmtFloat(r.WorkersPerResource))
	}
	if r.Resources == nil {
		return
	}
	// Reported on the resources key: it is set (and replaced) as a whole.
	if _, _, err := r.Resources.CPUs(); err != nil {
		v.add(prefix+".resources", "%v", err)
	}
	if r.Resources.GPUCount < 0 {
		v.add(prefix+".resources", "%s must be >= 0, got %d", gpuResource, r.Resources.GPUCount)
	}
	for _, id := range r.Resources.GPUs {
		if id < 0 {
			v.add(prefix+".resources", "%s: GPU ids must be >= 0, got %d", gpuResource, id)
		}
	}
}

package instrument

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gobento/bento/internal/buckets"
	"github.com/gobento/bento/internal/promname"
)

// Protocol selects the API label name: "endpoint" for HTTP, "api_name" for
// gRPC, and the word used in the API families' HELP texts.
type Protocol int

const (
	// HTTP labels API families with "endpoint", the declared route.
	HTTP Protocol = iota
	// GRPC labels API families with "api_name", the API's name.
	GRPC
)

// String returns "HTTP" or "GRPC", the spelling BentoML uses in HELP texts.
func (p Protocol) String() string {
	if p == GRPC {
		return "GRPC"
	}
	return "HTTP"
}

func (p Protocol) apiLabel() string {
	if p == GRPC {
		return "api_name"
	}
	return "endpoint"
}

// Unmatched is the API label value for every request to an undeclared path
// (or, on gRPC, an unknown API name), so scanners cannot create series.
const Unmatched = "<unmatched>"

// NotAvailable is the service_version value when the service has no version,
// as in BentoML.
const NotAvailable = "not available"

// Default namespaces, as in BentoML 1.x.
const (
	DefaultAPINamespace    = "bentoml_api_server"
	DefaultRunnerNamespace = "bentoml_runner"
)

// Dispatch reasons for [Batch.Dispatch]. Their children are created with the
// Batch, so each reads 0 until it first happens.
const (
	ReasonFull     = "full"     // the batch reached max_batch_size
	ReasonCost     = "cost"     // waiting longer would cost more than it saves
	ReasonDeadline = "deadline" // the oldest request's max_latency was near
	ReasonDrain    = "drain"    // the runner is stopping and empties its queue
)

// batchTimeBuckets suit queue waits and model execution times, which are
// often well below a millisecond.
var batchTimeBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// initialCodes are the statuses whose request_total children exist from the
// moment a route is declared, so that rate() and error-ratio queries see 0
// rather than a missing series; other codes appear on first use. Duration
// histogram children are never pre-created: a zero histogram makes
// histogram_quantile answer NaN for that code (the guide's p99 query would
// return a NaN series beside the real one). Pre-creating every possible code
// would multiply the series count (and scrape size) for nothing.
var initialCodes = []int{200, 500}

// Options configures a [Set]. The zero value is usable except that both
// family groups are disabled; each field documents its zero value.
type Options struct {
	// Protocol picks the API label name ("endpoint" or "api_name").
	Protocol Protocol
	// ServiceName is the service_name label value.
	ServiceName string
	// ServiceVersion is the service_version label value; "" means
	// [NotAvailable].
	ServiceVersion string
	// APINamespace prefixes the API families; "" means
	// [DefaultAPINamespace].
	APINamespace string
	// RunnerNamespace prefixes the runner families; "" means
	// [DefaultRunnerNamespace].
	RunnerNamespace string
	// APIBuckets are the API request-duration bounds; a trailing +Inf is
	// accepted and dropped. nil means [buckets.Default].
	APIBuckets []float64
	// RunnerBuckets are the runner request-duration bounds; nil means
	// [buckets.Default].
	RunnerBuckets []float64
	// APIEnabled registers the API families. When false, [Set.API] and
	// [Set.Unmatched] return nil routes.
	APIEnabled bool
	// RunnerEnabled registers the runner request families. When false,
	// [Set.RunnerMethod] returns nil routes; the batching families stay.
	RunnerEnabled bool
	// NativeBucketFactor, when > 1, adds Prometheus native histograms to the
	// duration histograms (API and runner request durations, queue wait,
	// batch duration), beside their classic buckets, with at most
	// NativeMaxBuckets buckets per series.
	NativeBucketFactor float64
	NativeMaxBuckets   uint32
}

// FamilyNames returns the names of every family a [Set] can register with
// the given namespaces ("" means the default), so other packages can refuse
// custom metrics that would collide with them.
func FamilyNames(apiNamespace, runnerNamespace string) []string {
	if apiNamespace == "" {
		apiNamespace = DefaultAPINamespace
	}
	if runnerNamespace == "" {
		runnerNamespace = DefaultRunnerNamespace
	}
	return []string{
		apiNamespace + "_request_in_progress",
		apiNamespace + "_request_total",
		apiNamespace + "_request_duration_seconds",
		runnerNamespace + "_request_in_progress",
		runnerNamespace + "_request_total",
		runnerNamespace + "_request_duration_seconds",
		runnerNamespace + "_adaptive_batch_size",
		runnerNamespace + "_queue_wait_seconds",
		runnerNamespace + "_batch_duration_seconds",
		runnerNamespace + "_batch_dispatch_total",
		runnerNamespace + "_shed_total",
		runnerNamespace + "_workers",
		runnerNamespace + "_workers_busy",
		runnerNamespace + "_queued_items",
		"gobento_build_info",
		"gobento_serving_state",
		"gobento_metrics_scrape_duration_seconds",
		"gobento_metrics_scrape_response_bytes",
		connOpenName, connLimitName, connRefusedName, connEvictedName, connAcceptErrorsName,
		reqBytesName, respBytesName, decodeName, encodeName,
	}
}

// The families of where an API call's time goes (gobento).
const (
	reqBytesName  = "gobento_api_request_body_bytes"
	respBytesName = "gobento_api_response_body_bytes"
	decodeName    = "gobento_api_decode_duration_seconds"
	encodeName    = "gobento_api_encode_duration_seconds"
)

// Set is one service's default metric families, registered into one
// registry, and the cache of their label children.
type Set struct {
	o        Options
	apiLabel string

	apiInFlight *prometheus.GaugeVec
	apiTotal    *prometheus.CounterVec
	apiDuration *prometheus.HistogramVec
	// where an API call's time goes (gobento): body sizes, decode, encode
	apiReqBytes, apiRespBytes, apiDecode, apiEncode *prometheus.HistogramVec
	runnerInFlight                                  *prometheus.GaugeVec
	runnerTotal                                     *prometheus.CounterVec
	runnerDuration                                  *prometheus.HistogramVec

	batchSizeName string
	batchSize     *perRunnerCollector
	queueWait     *prometheus.HistogramVec
	batchDuration *prometheus.HistogramVec
	dispatch      *prometheus.CounterVec
	shed          *prometheus.CounterVec

	sat *saturation

	scrapeDuration prometheus.Histogram
	scrapeBytes    prometheus.Gauge

	mu           sync.Mutex
	routes       map[string]*Route
	runnerRoutes map[[2]string]*Route
	runners      map[string]*runnerState
}

type runnerState struct {
	maxBatch int                      // largest max_batch_size declared so far
	vec      *prometheus.HistogramVec // nil until the runner's first Batch
	bounds   int                      // maxBatch when vec was made
	warned   bool
	batches  map[string]*Batch
}

// New builds the families selected by o and registers them into reg. It
// returns an error, naming the option or family, if a namespace is not a
// valid metric-name prefix, a bucket list is invalid, or registration fails
// (for example because a family already exists in reg); nothing stays
// registered then.
func New(reg prometheus.Registerer, o Options) (*Set, error) {
	if o.ServiceVersion == "" {
		o.ServiceVersion = NotAvailable
	}
	if o.APINamespace == "" {
		o.APINamespace = DefaultAPINamespace
	}
	if o.RunnerNamespace == "" {
		o.RunnerNamespace = DefaultRunnerNamespace
	}
	var errs []error
	if !promname.ValidMetric(o.APINamespace) {
		errs = append(errs, fmt.Errorf("instrument: APINamespace %q is not a valid metric name prefix", o.APINamespace))
	}
	if !promname.ValidMetric(o.RunnerNamespace) {
		errs = append(errs, fmt.Errorf("instrument: RunnerNamespace %q is not a valid metric name prefix", o.RunnerNamespace))
	}
	apiBuckets, err := resolveBuckets(o.APIBuckets)
	if err != nil {
		errs = append(errs, fmt.Errorf("instrument: APIBuckets: %w", err))
	}
	runnerBuckets, err := resolveBuckets(o.RunnerBuckets)
	if err != nil {
		errs = append(errs, fmt.Errorf("instrument: RunnerBuckets: %w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	s := &Set{
		o:            o,
		apiLabel:     o.Protocol.apiLabel(),
		routes:       make(map[string]*Route),
		runnerRoutes: make(map[[2]string]*Route),
		runners:      make(map[string]*runnerState),
	}
	var cs []prometheus.Collector
	if o.APIEnabled {
		p := o.Protocol.String()
		apiLabels := []string{s.apiLabel, "service_name", "service_version"}
		s.apiInFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: o.APINamespace + "_request_in_progress",
			Help: "Total number of " + p + " requests in progress now",
		}, apiLabels)
		withCode := append(apiLabels[:len(apiLabels):len(apiLabels)], "http_response_code")
		s.apiTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: o.APINamespace + "_request_total",
			Help: "Total number of " + p + " requests",
		}, withCode)
		s.apiDuration = prometheus.NewHistogramVec(o.native(prometheus.HistogramOpts{
			Name:    o.APINamespace + "_request_duration_seconds",
			Help:    "API " + p + " request duration in seconds",
			Buckets: apiBuckets,
		}), withCode)
		cs = append(cs, s.apiInFlight, s.apiTotal, s.apiDuration)
		hist := func(name, help string, buckets []float64) *prometheus.HistogramVec {
			h := prometheus.NewHistogramVec(o.native(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}), apiLabels)
			cs = append(cs, h)
			return h
		}
		s.apiReqBytes = hist(reqBytesName, "Size of the request bodies an API decoded (HTTP body, gRPC message), in bytes", bodyBuckets)
		s.apiRespBytes = hist(respBytesName, "Size of the answers an API encoded, in bytes", bodyBuckets)
		s.apiDecode = hist(decodeName, "Time an API spent decoding its input (IO descriptor), in seconds", phaseBuckets)
		s.apiEncode = hist(encodeName, "Time an API spent encoding its output (IO descriptor), in seconds", phaseBuckets)
	}
	if o.RunnerEnabled {
		s.runnerInFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: o.RunnerNamespace + "_request_in_progress",
			Help: "Total number of runner RPC in progress now",
		}, []string{"endpoint", "service_name", "service_version", "runner_name"})
		labels := []string{"endpoint", "service_name", "service_version", "http_response_code", "runner_name"}
		s.runnerTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: o.RunnerNamespace + "_request_total",
			Help: "Total number of runner RPC",
		}, labels)
		s.runnerDuration = prometheus.NewHistogramVec(o.native(prometheus.HistogramOpts{
			Name:    o.RunnerNamespace + "_request_duration_seconds",
			Help:    "runner RPC duration in seconds",
			Buckets: runnerBuckets,
		}), labels)
		cs = append(cs, s.runnerInFlight, s.runnerTotal, s.runnerDuration)
	}

	s.batchSizeName = o.RunnerNamespace + "_adaptive_batch_size"
	s.batchSize = &perRunnerCollector{}
	batchLabels := []string{"runner_name", "method_name", "service_name", "service_version"}
	s.queueWait = prometheus.NewHistogramVec(o.native(prometheus.HistogramOpts{
		Name:    o.RunnerNamespace + "_queue_wait_seconds",
		Help:    "Time requests wait in the runner queue before their batch is dispatched",
		Buckets: batchTimeBuckets,
	}), batchLabels)
	s.batchDuration = prometheus.NewHistogramVec(o.native(prometheus.HistogramOpts{
		Name:    o.RunnerNamespace + "_batch_duration_seconds",
		Help:    "Model execution time per dispatched batch",
		Buckets: batchTimeBuckets,
	}), batchLabels)
	s.dispatch = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: o.RunnerNamespace + "_batch_dispatch_total",
		Help: "Batches dispatched by the adaptive batcher, by the reason the batch was closed",
	}, append(batchLabels[:len(batchLabels):len(batchLabels)], "reason"))
	s.shed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: o.RunnerNamespace + "_shed_total",
		Help: "Requests shed because they could not meet max_latency",
	}, batchLabels)
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gobento_build_info",
		Help: "A metric with a constant '1' value labeled by the gobento version and the Go version it was built with",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(gobentoVersion(), runtime.Version()).Set(1)
	s.sat = newSaturation(o)
	s.scrapeDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "gobento_metrics_scrape_duration_seconds",
		Help:    "Time the server took to gather, encode and send one /metrics response",
		Buckets: scrapeBuckets,
	})
	s.scrapeBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gobento_metrics_scrape_response_bytes",
		Help: "Size of the last /metrics response body as sent (after compression)",
	})
	cs = append(cs, s.batchSize, s.queueWait, s.batchDuration, s.dispatch, s.shed, buildInfo, s.sat,
		s.scrapeDuration, s.scrapeBytes)

	var done []prometheus.Collector
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			errs = append(errs, fmt.Errorf("instrument: registering %s: %w", familyName(c), err))
			continue
		}
		done = append(done, c)
	}
	if len(errs) > 0 {
		for _, c := range done {
			reg.Unregister(c)
		}
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// scrapeBuckets spans a small service's sub-millisecond scrape to the
// seconds at which a scrape starts to miss its interval.
var scrapeBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Scrape records one /metrics response: its duration and the bytes sent.
// The figures appear in the next scrape. A nil Set records nothing.
func (s *Set) Scrape(d time.Duration, bytes int) {
	if s == nil {
		return
	}
	s.scrapeDuration.Observe(d.Seconds())
	s.scrapeBytes.Set(float64(bytes))
}

// familyName returns the name of the first family c describes, for errors.
func familyName(c prometheus.Collector) string {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	name := "collector"
	first := true
	for d := range ch {
		if first {
			name = d.String()
			first = false
		}
	}
	return name
}

func resolveBuckets(b []float64) ([]float64, error) {
	if b == nil {
		return buckets.Default(), nil
	}
	return buckets.Validate(b)
}

// gobentoVersion is the version of the gobento module in this binary, or
// "devel" when it is not known (tests, a local checkout).
func gobentoVersion() string {
	const module = "github.com/gobento/bento"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	pick := func(m *debug.Module) string {
		for m.Replace != nil {
			m = m.Replace
		}
		if m.Version == "" || m.Version == "(devel)" {
			return "devel"
		}
		return m.Version
	}
	if bi.Main.Path == module {
		return pick(&bi.Main)
	}
	for _, d := range bi.Deps {
		if d.Path == module {
			return pick(d)
		}
	}
	return "devel"
}

// API returns the route for a declared API: its route for HTTP ("/classify"),
// its name for gRPC ("classify"). The same name always gives the same
// *Route. It returns nil when the API families are disabled (or s is nil).
func (s *Set) API(name string) *Route {
	if s == nil || !s.o.APIEnabled {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.routes[name]; ok {
		return r
	}
	svc, ver := s.o.ServiceName, s.o.ServiceVersion
	codes := initialCodes
	if name == Unmatched {
		codes = []int{s.unmatchedCode()}
	}
	r := newRoute(s.apiInFlight.WithLabelValues(name, svc, ver), codes, func(code string) {
		s.apiTotal.WithLabelValues(name, svc, ver, code)
	}, func(code string) *codeChildren {
		return &codeChildren{
			total:    s.apiTotal.WithLabelValues(name, svc, ver, code),
			duration: s.apiDuration.WithLabelValues(name, svc, ver, code),
		}
	})
	if name != Unmatched {
		r.phases = &phaseChildren{
			reqBytes: s.apiReqBytes.WithLabelValues(name, svc, ver), respBytes: s.apiRespBytes.WithLabelValues(name, svc, ver),
			decode: s.apiDecode.WithLabelValues(name, svc, ver), encode: s.apiEncode.WithLabelValues(name, svc, ver),
		}
	}
	s.routes[name] = r
	return r
}

// Body sizes from 64 B to 64 MiB (×4), and decode/encode times from 10 µs
// to 1 s (×√10): the ranges of an API's payloads and of its descriptors.
var (
	bodyBuckets  = prometheus.ExponentialBuckets(64, 4, 11)
	phaseBuckets = []float64{1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1}
)

// unmatchedCode is the status an unmatched request gets: 404 for an HTTP
// path, INVALID_ARGUMENT (400) for an unknown gRPC api_name.
func (s *Set) unmatchedCode() int {
	if s.o.Protocol == GRPC {
		return 400
	}
	return 404
}

// Unmatched returns the route that counts requests to undeclared paths (HTTP)
// or unknown API names (gRPC), labelled [Unmatched].
func (s *Set) Unmatched() *Route { return s.API(Unmatched) }

// RunnerMethod returns the route for one runner method's calls, labelled like
// BentoML's runner server: endpoint "/" for "__call__" and "/<method>"
// otherwise, plus runner_name. It returns nil when the runner request
// families are disabled (or s is nil).
func (s *Set) RunnerMethod(runner, method string) *Route {
	if s == nil || !s.o.RunnerEnabled {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := [2]string{runner, method}
	if r, ok := s.runnerRoutes[key]; ok {
		return r
	}
	endpoint := "/" + method
	if method == "__call__" {
		endpoint = "/"
	}
	svc, ver := s.o.ServiceName, s.o.ServiceVersion
	r := newRoute(s.runnerInFlight.WithLabelValues(endpoint, svc, ver, runner), initialCodes, func(code string) {
		s.runnerTotal.WithLabelValues(endpoint, svc, ver, code, runner)
	}, func(code string) *codeChildren {
		return &codeChildren{
			total:    s.runnerTotal.WithLabelValues(endpoint, svc, ver, code, runner),
			duration: s.runnerDuration.WithLabelValues(endpoint, svc, ver, code, runner),
		}
	})
	s.runnerRoutes[key] = r
	return r
}

// DeclareRunner records that runner has a method with maxBatchSize. The
// runner's adaptive_batch_size buckets are derived from the largest value
// declared for it (1, 2, 4, … below M, then M) and are fixed by the runner's
// first [Set.Batch] call, so call DeclareRunner for every method, batchable
// or not, when the service starts. A larger value declared after that is
// logged as a warning; the existing buckets stay (bigger batches then fall in
// the +Inf bucket).
func (s *Set) DeclareRunner(runner string, maxBatchSize int) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.declareLocked(runner, maxBatchSize)
}

func (s *Set) declareLocked(runner string, maxBatchSize int) *runnerState {
	rs, ok := s.runners[runner]
	if !ok {
		rs = &runnerState{maxBatch: 1, batches: make(map[string]*Batch)}
		s.runners[runner] = rs
	}
	if maxBatchSize > rs.maxBatch {
		rs.maxBatch = maxBatchSize
	}
	if rs.vec != nil && rs.maxBatch > rs.bounds && !rs.warned {
		rs.warned = true
		slog.Warn("instrument: max_batch_size declared after the runner's batch-size buckets were fixed; call DeclareRunner before Batch",
			"runner", runner, "max_batch_size", rs.maxBatch, "largest_bucket", rs.bounds)
	}
	return rs
}

// batchSizeBuckets returns BentoML's adaptive-batch-size bounds for a
// largest max_batch_size m: powers of two below m, then m; [1] when m <= 1.
func batchSizeBuckets(m int) []float64 {
	if m <= 1 {
		return []float64{1}
	}
	b, err := buckets.Exponential(1, float64(m), 2)
	if err != nil { // unreachable: 1 < m and factor 2 are valid
		panic(err)
	}
	return b
}

// Batch returns the batching metrics of one runner method, creating them on
// first use; the same runner and method always give the same *Batch.
// maxBatchSize is declared as by [Set.DeclareRunner]. The first Batch of a
// runner fixes its adaptive_batch_size buckets. Batch returns nil if s is
// nil; a nil *Batch ignores every call.
func (s *Set) Batch(runner, method string, maxBatchSize int) *Batch {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.declareLocked(runner, maxBatchSize)
	if b, ok := rs.batches[method]; ok {
		return b
	}
	if rs.vec == nil {
		rs.bounds = rs.maxBatch
		rs.vec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    s.batchSizeName,
			Help:    "Runner adaptive batch size",
			Buckets: batchSizeBuckets(rs.bounds),
			ConstLabels: prometheus.Labels{
				"runner_name":     runner,
				"service_name":    s.o.ServiceName,
				"service_version": s.o.ServiceVersion,
			},
		}, []string{"worker_index", "method_name"})
		s.batchSize.add(rs.vec)
	}
	lv := []string{runner, method, s.o.ServiceName, s.o.ServiceVersion}
	b := &Batch{
		sizeVec:   rs.vec,
		method:    method,
		queueWait: s.queueWait.WithLabelValues(lv...),
		executed:  s.batchDuration.WithLabelValues(lv...),
		dispatch:  s.dispatch.MustCurryWith(prometheus.Labels{"runner_name": runner, "method_name": method, "service_name": s.o.ServiceName, "service_version": s.o.ServiceVersion}),
		shed:      s.shed.WithLabelValues(lv...),
	}
	b.full = b.dispatch.WithLabelValues(ReasonFull)
	b.cost = b.dispatch.WithLabelValues(ReasonCost)
	b.deadline = b.dispatch.WithLabelValues(ReasonDeadline)
	b.drain = b.dispatch.WithLabelValues(ReasonDrain)
	empty := make([]prometheus.Observer, 0)
	b.sizes.Store(&empty)
	rs.batches[method] = b
	return b
}

// perRunnerCollector gathers the per-runner adaptive_batch_size vectors. Each
// runner has its own bucket layout, so each has its own vector with
// runner_name as a constant label; they share one family name. The collector
// describes nothing, which makes it an unchecked collector: it can be
// registered once, before the runners are known.
type perRunnerCollector struct {
	mu   sync.RWMutex
	vecs []*prometheus.HistogramVec
}

func (c *perRunnerCollector) add(v *prometheus.HistogramVec) {
	c.mu.Lock()
	c.vecs = append(c.vecs, v)
	c.mu.Unlock()
}

// Describe sends nothing (see the type doc).
func (c *perRunnerCollector) Describe(chan<- *prometheus.Desc) {}

// Collect collects every runner's vector.
func (c *perRunnerCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	vecs := c.vecs
	c.mu.RUnlock()
	for _, v := range vecs {
		v.Collect(ch)
	}
}

var _ prometheus.Collector = (*perRunnerCollector)(nil)

// itoa formats a status code or worker index as a label value; it runs only
// when a child is created.
func itoa(code int) string { return strconv.Itoa(code) }

// native adds the native-histogram settings of o to h, when they are on.
func (o Options) native(h prometheus.HistogramOpts) prometheus.HistogramOpts {
	if o.NativeBucketFactor > 1 {
		h.NativeHistogramBucketFactor = o.NativeBucketFactor
		h.NativeHistogramMaxBucketNumber = o.NativeMaxBuckets
		h.NativeHistogramMinResetDuration = time.Hour
	}
	return h
}

package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gobento/bento/internal/buckets"
	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/promname"
)

// Validate checks every key's type-independent rules (ranges, formats,
// combinations) and returns all problems joined with [errors.Join], each an
// [*Error] naming the key and, when known, where it was set.
func (c *Config) Validate() error {
	v := &validator{c: c}
	if c.Version != 1 {
		v.add("version", "unsupported version %d: gobento reads version 1 configurations", c.Version)
	}
	a := &c.APIServer
	h := &a.HTTP
	v.host("api_server.http.host", h.Host)
	v.port("api_server.http.port", h.Port)
	v.positiveInt("api_server.http.max_request_size", h.MaxRequestSize)
	v.seconds("api_server.http.read_header_timeout", h.ReadHeaderTimeout)
	v.seconds("api_server.http.read_timeout", h.ReadTimeout)
	v.seconds("api_server.http.idle_timeout", h.IdleTimeout)
	v.positiveInt("api_server.http.max_header_bytes", int64(h.MaxHeaderBytes))
	v.seconds("api_server.http.write_timeout", h.WriteTimeout)
	if h.MaxConnections < 0 {
		v.add("api_server.http.max_connections", "must be >= 0 (0 derives the cap from the file-descriptor limit), got %d", h.MaxConnections)
	}
	v.positiveInt("api_server.http.body_memory_limit", h.BodyMemoryLimit)
	if h.BodyMemoryLimit > 0 && h.MaxRequestSize > 0 && h.BodyMemoryLimit < h.MaxRequestSize {
		v.add("api_server.http.body_memory_limit", "must be at least api_server.http.max_request_size (%d), or no request of that size could ever be admitted; got %d", h.MaxRequestSize, h.BodyMemoryLimit)
	}
	v.seconds("api_server.http.linger_timeout", h.LingerTimeout)
	v.positiveInt("api_server.http.linger_bytes", h.LingerBytes)

	g := &a.GRPC
	v.host("api_server.grpc.host", g.Host)
	v.port("api_server.grpc.port", g.Port)
	v.host("api_server.grpc.metrics.host", g.Metrics.Host)
	v.port("api_server.grpc.metrics.port", g.Metrics.Port)
	if g.MaxConcurrentStreams != nil && *g.MaxConcurrentStreams == 0 {
		v.add("api_server.grpc.max_concurrent_streams", "must be > 0 or null")
	}
	if g.MaxMessageLength != -1 && g.MaxMessageLength <= 0 {
		v.add("api_server.grpc.max_message_length", "must be -1 (unlimited) or > 0, got %d", g.MaxMessageLength)
	}
	v.optionalPositive("api_server.grpc.maximum_concurrent_rpcs", g.MaximumConcurrentRPCs)
	if g.MaxConnections < 0 {
		v.add("api_server.grpc.max_connections", "must be >= 0 (0 derives the cap from the file-descriptor limit), got %d", g.MaxConnections)
	}
	v.seconds("api_server.grpc.max_connection_age", g.MaxConnectionAge)
	if g.MaxHeaderListSize < 1024 {
		v.add("api_server.grpc.max_header_list_size", "must be at least 1024 bytes, got %d", g.MaxHeaderListSize)
	}

	v.traffic("api_server.traffic", a.Traffic)
	v.metrics("api_server.metrics", a.Metrics)
	v.nativeHistograms("api_server.metrics.native_histograms", a.Metrics.NativeHistograms)
	v.otlpMetrics("api_server.metrics.otlp", a.Metrics.OTLP)
	m := a.Metrics
	if m.Host != nil {
		v.host("api_server.metrics.host", *m.Host)
		if m.Port == nil {
			v.add("api_server.metrics.host", "needs api_server.metrics.port: a separate metrics listener is chosen by its port")
		}
	}
	if m.Port != nil {
		v.port("api_server.metrics.port", *m.Port)
		if *m.Port != 0 && *m.Port == h.Port {
			v.add("api_server.metrics.port", "must differ from api_server.http.port (%d); leave it unset to serve /metrics on the API port", h.Port)
		}
	}
	v.seconds("api_server.shutdown_timeout", a.ShutdownTimeout)
	v.bentomlKeys()

	v.runner("runners", c.Runners.RunnerConfig)
	for _, name := range slices.Sorted(maps.Keys(c.Runners.PerRunner)) {
		prefix := keyString([]string{"runners", name})
		if err := checkRunnerName(name); err != nil {
			v.add(prefix, "%v", err)
			continue
		}
		// Validate the effective config, but report only problems with keys
		// this block sets: the others were reported under runners.* already.
		sub := &validator{c: c}
		sub.runner(prefix, c.Runner(name))
		set := c.runnerSet(name)
		touchesDuration := false
		for p := range set {
			touchesDuration = touchesDuration || strings.HasPrefix(p, "metrics.duration.")
		}
		for _, err := range sub.errs {
			rel := strings.TrimPrefix(err.Key, prefix+".")
			if set[rel] || touchesDuration && strings.HasPrefix(rel, "metrics.duration.") {
				v.errs = append(v.errs, err)
			}
		}
	}
	errs := make([]error, len(v.errs))
	for i, e := range v.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// MaxWorkers is the most workers a runner may have, from the config or
// from code: each worker is a goroutine holding a model instance, and more
// than this is a typo, not a tuning. The servers log a warning when a
// runner has more than 4 workers per CPU.
const MaxWorkers = 1024

type validator struct {
	c    *Config
	errs []*Error
}

// add records a problem with key, located where the key was set.
func (v *validator) add(key, format string, args ...any) {
	e := &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
	if p, ok := v.where(key); ok {
		e.Source, e.Line = p.source, p.line
	}
	v.errs = append(v.errs, e)
}

func (v *validator) where(key string) (position, bool) {
	if v.c.meta == nil {
		return position{}, false
	}
	p, ok := v.c.meta.pos[key]
	return p, ok
}

// located renders " (file line N)" for key, or "" if unknown.
func (v *validator) located(key string) string {
	if p, ok := v.where(key); ok {
		if loc := p.String(); loc != "" {
			return " (" + loc + ")"
		}
	}
	return ""
}

func (v *validator) host(key, h string) {
	if h == "localhost" {
		return
	}
	if _, err := netip.ParseAddr(h); err != nil {
		v.add(key, "must be an IP address or \"localhost\", got %q", errs.Clip(h, 64))
	}
}

func (v *validator) port(key string, p int) {
	if p < 0 || p > 65535 {
		v.add(key, "must be between 0 and 65535, got %d", p)
	}
}

func (v *validator) positiveInt(key string, n int64) {
	if n <= 0 {
		v.add(key, "must be > 0, got %d", n)
	}
}

func (v *validator) optionalPositive(key string, p *int) {
	if p != nil && *p <= 0 {
		v.add(key, "must be > 0 or null, got %d", *p)
	}
}

// Bounds of every duration key, in seconds: below the minimum a value
// rounds to (next to) nothing, above the maximum it would overflow or mean
// "never" in all but name.
const (
	minSeconds = 0.001      // 1 ms
	maxSeconds = 31_536_000 // 365 days
)

func (v *validator) seconds(key string, s float64) {
	switch {
	case math.IsNaN(s) || math.IsInf(s, 0) || s <= 0:
		v.add(key, "must be a finite number of seconds > 0, got %s", fmtFloat(s))
	case s < minSeconds:
		v.add(key, "must be at least %s s (1 ms); %s s would round to no time at all", fmtFloat(minSeconds), fmtFloat(s))
	case s > maxSeconds:
		v.add(key, "must be at most %d s (365 days), got %s", maxSeconds, fmtFloat(s))
	}
}

func (v *validator) traffic(prefix string, t Traffic) {
	v.seconds(prefix+".timeout", t.Timeout)
	v.optionalPositive(prefix+".max_concurrency", t.MaxConcurrency)
}

func (v *validator) runner(prefix string, r RunnerConfig) {
	if r.Batching.MaxBatchSize <= 0 {
		v.add(prefix+".batching.max_batch_size", "must be > 0, got %d", r.Batching.MaxBatchSize)
	}
	if r.Batching.MaxLatencyMs <= 0 || r.Batching.MaxLatencyMs > maxSeconds*1000 {
		v.add(prefix+".batching.max_latency_ms", "must be > 0 and at most %d (365 days), got %d", maxSeconds*1000, r.Batching.MaxLatencyMs)
	}
	v.traffic(prefix+".traffic", r.Traffic)
	v.metrics(prefix+".metrics", r.Metrics)
	if r.Metrics.Host != nil {
		v.add(prefix+".metrics.host", "is only allowed under api_server.metrics (runner metrics are served by the API server)")
	}
	if r.Metrics.Port != nil {
		v.add(prefix+".metrics.port", "is only allowed under api_server.metrics (runner metrics are served by the API server)")
	}
	if r.Metrics.Exemplars {
		v.add(prefix+".metrics.exemplars", "is only allowed under api_server.metrics (exemplars carry API request ids)")
	}
	if o := r.Metrics.OTLP; o.Enabled || o.Protocol != "" || o.Endpoint != "" || o.Interval != 0 || o.Timeout != 0 || o.Insecure || len(o.Headers) > 0 {
		v.add(prefix+".metrics.otlp", "is only allowed under api_server.metrics (the push carries the runner metrics too)")
	}
	if r.Metrics.NativeHistograms != (NativeHistograms{}) {
		v.add(prefix+".metrics.native_histograms", "is only allowed under api_server.metrics (it applies to the runner histograms too)")
	}
	if r.Workers < 0 || r.Workers > MaxWorkers {
		v.add(prefix+".workers", "must be >= 0 (0 uses the number given in code) and at most %d, got %d", MaxWorkers, r.Workers)
	}
	v.runnerKeys(prefix, r)
}

func (v *validator) nativeHistograms(prefix string, n NativeHistograms) {
	if n.BucketFactor <= 1 || n.BucketFactor > 2 {
		v.add(prefix+".bucket_factor", "must be > 1 and at most 2, got %s", fmtFloat(n.BucketFactor))
	}
	if n.MaxBuckets < 1 || n.MaxBuckets > 10000 {
		v.add(prefix+".max_buckets", "must be between 1 and 10000, got %d", n.MaxBuckets)
	}
}

func (v *validator) otlpMetrics(prefix string, o OTLPMetrics) {
	if o.Protocol != "http" && o.Protocol != "grpc" {
		v.add(prefix+".protocol", "must be http or grpc, got %q", errs.Clip(o.Protocol, 32))
	}
	v.seconds(prefix+".interval", o.Interval)
	v.seconds(prefix+".timeout", o.Timeout)
}

func (v *validator) metrics(prefix string, m Metrics) {
	if !validNamespace(m.Namespace) {
		v.add(prefix+".namespace", "must be a Prometheus metric name prefix matching %s, got %q", promname.MetricPattern, errs.Clip(m.Namespace, 64))
	}
	v.duration(prefix+".duration", m.Duration)
}

// duration applies the bucket rules: an explicit list, or all of
// min/max/factor, never both.
func (v *validator) duration(prefix string, d Duration) {
	bKey := prefix + ".buckets"
	mmf := []struct {
		name string
		p    *float64
	}{{"min", d.Min}, {"max", d.Max}, {"factor", d.Factor}}
	var set, missing []string
	for _, x := range mmf {
		if x.p != nil {
			set = append(set, x.name)
		} else {
			missing = append(missing, x.name)
		}
	}
	bucketsSet := d.Buckets != nil && (v.c.explicit(bKey) || !isDefaultBuckets(d.Buckets))
	if bucketsSet && len(set) > 0 {
		other := prefix + "." + set[0]
		v.add(bKey, "cannot be combined with %s%s: set either buckets or min, max and factor", other, v.located(other))
		return
	}
	if len(set) > 0 {
		ok := true
		for _, x := range mmf {
			if x.p == nil {
				continue
			}
			f := *x.p
			switch {
			case math.IsNaN(f) || math.IsInf(f, 0):
				v.add(prefix+"."+x.name, "must be a finite number, got %s", fmtFloat(f))
				ok = false
			case x.name == "factor" && f <= 1:
				v.add(prefix+".factor", "must be > 1, got %s", fmtFloat(f))
				ok = false
			case x.name != "factor" && f <= 0:
				v.add(prefix+"."+x.name, "must be > 0, got %s", fmtFloat(f))
				ok = false
			}
		}
		if len(missing) > 0 {
			v.add(prefix+"."+set[0], "must be set together with %s (min, max and factor go together)", strings.Join(missing, " and "))
			return
		}
		if !ok {
			return
		}
		if *d.Min >= *d.Max {
			v.add(prefix+".min", "must be < max (%s), got %s", fmtFloat(*d.Max), fmtFloat(*d.Min))
			return
		}
		if _, err := buckets.Exponential(*d.Min, *d.Max, *d.Factor); err != nil {
			v.add(prefix+".factor", "%v", err)
		}
		return
	}
	if d.Buckets == nil {
		return // null: the default list
	}
	b, err := buckets.Validate(d.Buckets)
	if err != nil {
		v.add(bKey, "%v", err)
		return
	}
	if b[0] < 0 {
		v.add(bKey, "durations are never negative: bucket 0 is %s", fmtFloat(b[0]))
	}
}

// Buckets returns the finite duration-bucket bounds of m (the +Inf bucket
// is implied): the exponential series from Duration.Min/Max/Factor when
// they are set (BentoML's rule: b = min, then b *= factor while b < max,
// keeping at most 100 values, then max itself), else Duration.Buckets
// without a trailing +Inf, else the 14 default bounds 0.005 … 10.
// Setting both styles is an error, except that a Buckets list equal to the
// default list (as [Default] fills it) gives way to min/max/factor.
func (m Metrics) Buckets() ([]float64, error) {
	d := m.Duration
	n := 0
	for _, p := range []*float64{d.Min, d.Max, d.Factor} {
		if p != nil {
			n++
		}
	}
	switch {
	case n > 0 && d.Buckets != nil && !isDefaultBuckets(d.Buckets):
		return nil, errors.New("duration: buckets cannot be combined with min, max and factor")
	case n == 3:
		b, err := buckets.Exponential(*d.Min, *d.Max, *d.Factor)
		if err != nil {
			return nil, fmt.Errorf("duration: %w", err)
		}
		return b, nil
	case n > 0:
		return nil, errors.New("duration: min, max and factor must be set together")
	case d.Buckets == nil:
		return buckets.Default(), nil
	}
	b, err := buckets.Validate(d.Buckets)
	if err != nil {
		return nil, fmt.Errorf("duration.buckets: %w", err)
	}
	return b, nil
}

func validNamespace(s string) bool { return promname.ValidMetric(s) }

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

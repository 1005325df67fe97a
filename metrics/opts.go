package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gobento/bento/internal/buckets"
	"github.com/gobento/bento/internal/customreg"
	"github.com/gobento/bento/internal/instrument"
	"github.com/gobento/bento/internal/promname"
)

// ErrInvalidOptions is wrapped by every error a constructor keeps for a bad
// option, so callers can test for it with errors.Is.
var ErrInvalidOptions = errors.New("invalid metric options")

// DefaultMaxSeries is the label-value combinations a metric keeps when its
// MaxSeries is 0.
const DefaultMaxSeries = 10000

// OverflowValue is every label value of a metric's overflow series, which
// absorbs lookups beyond MaxSeries.
const OverflowValue = "__overflow__"

// DefaultBuckets are the histogram buckets used when HistogramOpts.Buckets
// is nil: BentoML's and Prometheus's default duration buckets, in seconds
// (+Inf is implied). Changing it does not change what nil means.
var DefaultBuckets = buckets.Default()

// ExponentialBuckets returns bucket bounds from min to max the way BentoML
// generates them from duration.min/max/factor: min, min·factor,
// min·factor·factor, … (repeated multiplication) while below max, at most
// 100 of them, then max itself. +Inf is not included; it is implied. For
// example ExponentialBuckets(0.1, 5, 2) is 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.
//
// Like client_golang's bucket helpers it is meant for declarations and
// panics unless 0 < min < max and factor > 1 (all finite).
func ExponentialBuckets(min, max, factor float64) []float64 {
	b, err := buckets.Exponential(min, max, factor)
	if err != nil {
		panic(fmt.Sprintf("metrics: ExponentialBuckets(%g, %g, %g): %v", min, max, factor, err))
	}
	return b
}

// CounterOpts describes a [Counter]. Name and Help are required; the other
// fields may be left zero.
type CounterOpts struct {
	// Name is the full metric name, e.g. "polarity_total". Counters are
	// exposed under exactly this name (no suffix is added).
	Name string
	// Help is the one-line description shown on /metrics.
	Help string
	// LabelNames are the label names, in the order WithLabelValues takes
	// their values. nil means no labels. Each label must take values from a
	// bounded set.
	LabelNames []string
	// MaxSeries caps the label-value combinations kept; 0 means
	// [DefaultMaxSeries]. Lookups beyond it go to the overflow series.
	MaxSeries int
}

// GaugeOpts describes a [Gauge]; its fields mean what they mean in
// [CounterOpts].
type GaugeOpts CounterOpts

// HistogramOpts describes a [Histogram]. Name and Help are required; the
// other fields may be left zero.
type HistogramOpts struct {
	// Name is the full metric name, ideally with a base-unit suffix such as
	// "_seconds"; _bucket, _sum and _count series are derived from it.
	Name string
	// Help is the one-line description shown on /metrics.
	Help string
	// LabelNames are the label names; "le" is reserved.
	LabelNames []string
	// Buckets are the bucket upper bounds, strictly increasing and finite,
	// optionally ending in +Inf (as in BentoML's guide), which is dropped
	// because Prometheus always adds it. nil means [DefaultBuckets].
	Buckets []float64
	// MaxSeries caps the label-value combinations kept; 0 means
	// [DefaultMaxSeries].
	MaxSeries int
	// NativeHistogramBucketFactor, when above 1, also keeps a Prometheus
	// native histogram whose bucket bounds grow by at most this factor (1.1
	// is a common choice), exposed to scrapers that negotiate protobuf. 0
	// means classic buckets only. Native histograms are limited to 160
	// buckets per series, with resets at most once an hour.
	NativeHistogramBucketFactor float64
}

// SummaryOpts describes a [Summary]. Name and Help are required; the other
// fields may be left zero.
type SummaryOpts struct {
	// Name is the full metric name; _sum and _count series are derived
	// from it.
	Name string
	// Help is the one-line description shown on /metrics.
	Help string
	// LabelNames are the label names; "quantile" is reserved.
	LabelNames []string
	// Objectives maps each quantile to report (0 < q < 1) to its allowed
	// absolute error (0 <= e < 1), e.g. {0.5: 0.05, 0.99: 0.001}. nil means
	// no quantiles: only _sum and _count, as BentoML's Summary.
	Objectives map[float64]float64
	// MaxAge is how long an observation counts towards the quantiles; 0
	// means client_golang's default of 10 minutes.
	MaxAge time.Duration
	// MaxSeries caps the label-value combinations kept; 0 means
	// [DefaultMaxSeries].
	MaxSeries int
}

// derivedSuffixes are the suffixes exposition formats append to family
// names; a custom name that differs from a reserved one only by them would
// produce clashing series.
var derivedSuffixes = []string{"_total", "_bucket", "_sum", "_count", "_created", "_info"}

// reservedFamily reports which default or self-metric family name collides
// with name, or "".
func reservedFamily(name string) string {
	reserved := append(instrument.FamilyNames("", ""), customreg.SelfMetricNames...)
	reserved = append(reserved, instrument.ModelFamilyNames...)
	for _, f := range reserved {
		if name == f {
			return f
		}
		for _, s := range derivedSuffixes {
			if name == f+s || name+s == f {
				return f
			}
		}
	}
	return ""
}

// checker collects the problems of one metric's options.
type checker struct {
	kind, name string
	errs       []error
}

func (c *checker) addf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("metrics: %s %q: %s: %w", c.kind, c.name, fmt.Sprintf(format, args...), ErrInvalidOptions))
}

func (c *checker) err() error { return errors.Join(c.errs...) }

func (c *checker) common(help string, labels []string, maxSeries int, reservedLabel string) {
	switch {
	case c.name == "":
		c.addf("Name is required")
	case !promname.ValidMetric(c.name):
		c.addf("Name must match ^%s$", promname.MetricPattern)
	case strings.HasPrefix(c.name, "gobento_") || strings.HasPrefix(c.name, "__"):
		c.addf("names starting with \"gobento_\" or \"__\" are reserved")
	default:
		if f := reservedFamily(c.name); f != "" {
			c.addf("Name collides with gobento's default metric family %q", f)
		}
	}
	if strings.TrimSpace(help) == "" {
		c.addf("Help is required")
	}
	for i, l := range labels {
		switch {
		case !promname.ValidLabel(l):
			c.addf("LabelNames[%d] %q must match ^%s$", i, l, promname.LabelPattern)
		case strings.HasPrefix(l, "__"):
			c.addf("LabelNames[%d] %q: label names starting with \"__\" are reserved", i, l)
		case reservedLabel != "" && l == reservedLabel:
			c.addf("LabelNames[%d] %q is reserved for %ss", i, l, c.kind)
		case slices.Index(labels, l) < i:
			c.addf("LabelNames[%d] %q is a duplicate", i, l)
		}
	}
	if maxSeries < 0 {
		c.addf("MaxSeries must be >= 0 (0 means %d), got %d", DefaultMaxSeries, maxSeries)
	}
}

func checkHistogram(o *HistogramOpts) ([]float64, error) {
	c := &checker{kind: "histogram", name: o.Name}
	c.common(o.Help, o.LabelNames, o.MaxSeries, "le")
	b := buckets.Default()
	if o.Buckets != nil {
		var err error
		if b, err = buckets.Validate(o.Buckets); err != nil {
			c.addf("Buckets: %v", err)
		}
	}
	if f := o.NativeHistogramBucketFactor; f != 0 && !(f > 1 && !math.IsInf(f, 1)) {
		c.addf("NativeHistogramBucketFactor must be 0 (off) or a finite number > 1, got %g", f)
	}
	return b, c.err()
}

func checkSummary(o *SummaryOpts) error {
	c := &checker{kind: "summary", name: o.Name}
	c.common(o.Help, o.LabelNames, o.MaxSeries, "quantile")
	qs := make([]float64, 0, len(o.Objectives))
	for q := range o.Objectives {
		qs = append(qs, q)
	}
	slices.Sort(qs) // deterministic messages
	for _, q := range qs {
		e := o.Objectives[q]
		if !(q > 0 && q < 1) {
			c.addf("Objectives: quantile %g must be between 0 and 1 (exclusive)", q)
		}
		if !(e >= 0 && e < 1) {
			c.addf("Objectives: error %g for quantile %g must be in [0, 1)", e, q)
		}
	}
	if o.MaxAge < 0 {
		c.addf("MaxAge must be >= 0 (0 means 10m), got %v", o.MaxAge)
	}
	return c.err()
}

func maxSeries(n int) int {
	if n <= 0 {
		return DefaultMaxSeries
	}
	return n
}

// Package metrics is gobento's custom-metrics API, the Go counterpart of
// bentoml.metrics: Counter, Gauge, Histogram and Summary, declared once
// (usually as package-level variables) and used from APIs and runners.
//
// # Declaring and using metrics
//
// The metrics of BentoML's metrics guide look like this:
//
//	var inferenceDuration = metrics.NewHistogram(metrics.HistogramOpts{
//		Name:       "inference_duration",
//		Help:       "Duration of inference",
//		LabelNames: []string{"nltk_version", "sentiment_cls"},
//		Buckets:    []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, math.Inf(1)},
//	})
//
//	var polarity = metrics.NewCounter(metrics.CounterOpts{
//		Name:       "polarity_total",
//		Help:       "Count total number of analysis by polarity scores",
//		LabelNames: []string{"polarity"},
//	})
//
//	inferenceDuration.WithLabelValues("3.8", "SentimentIntensityAnalyzer").Observe(d.Seconds())
//	polarity.WithLabelValues("True").Inc() // Python's str(True), as BentoML's example
//
// Each type wraps the matching client_golang vector and has its methods
// (With, CurryWith, Delete, Collect, …), and the children it returns are
// plain client_golang metrics: exemplars work through [prometheus.ExemplarAdder]
// and [prometheus.ExemplarObserver], and native histograms through
// [HistogramOpts.NativeHistogramBucketFactor]. Nothing needs a multiprocess
// directory: a gobento service is one process with one registry.
//
// # Registration and errors
//
// A constructor never panics. It checks the options (metric name, Help,
// label names, buckets, objectives) and keeps any problem in [Counter.Err]
// and friends. Each service has its own registry: when it starts it
// registers its custom metrics into it, and refuses to start, naming each
// bad metric, if any has an error or two metrics share a name. Errors wrap
// [ErrInvalidOptions]. Writes to a metric with invalid options are
// discarded. A metric without LabelNames is exported at 0 from the start;
// a labelled one gets a series per label-value combination on first use.
//
// A service exports the metrics given to bento.Metrics, or, without
// that option, every metric the program declares, including one declared
// after the service started (registered at the next scrape; a problem with
// it can then only be logged). Give each service its list when one process
// serves several, so that each /metrics shows only its own. When a service
// stops, its metrics are released from its registry; the metric values
// themselves belong to the variables and carry on.
//
// Metric names must match the Prometheus rule [a-zA-Z_:][a-zA-Z0-9_:]* and
// must not start with "gobento_" (gobento's own metrics) or collide with
// one of the default families (bentoml_api_server_request_total and the
// rest, including their _bucket, _sum and _count series). Label names must
// match [a-zA-Z_][a-zA-Z0-9_]*, be unique, and not start with "__";
// histograms may not use "le" and summaries may not use "quantile".
// Label names that gobento's default families use (service_name, endpoint,
// runner_name, …) are allowed: they are legal Prometheus labels and BentoML
// allowed them, though reusing them with other meanings makes PromQL joins
// confusing.
//
// # Bounded cardinality
//
// Each metric keeps at most MaxSeries label-value combinations (default
// [DefaultMaxSeries]). A lookup that would create one more is folded into a
// single overflow series whose every label value is [OverflowValue]; gobento
// counts each folded lookup in
// gobento_metric_series_overflow_total{metric_name} and logs one warning
// per metric with log/slog. A lookup with the wrong number of label values,
// or an invalid UTF-8 value, panics in client_golang; here it returns a
// metric that discards writes, counts the lookup in
// gobento_metric_errors_total{metric_name} and logs one error per metric,
// so a bad call cannot take down a request. (The GetMetricWith… variants
// return the error instead of logging it.) Series created through a curried
// vector (CurryWith) share the metric's series but are not capped.
//
// # Performance
//
// Looking up an existing series costs one hash of the label values and one
// read-locked map lookup, like client_golang itself, and allocates nothing.
// As with client_golang, keep the child returned by WithLabelValues when a
// label combination is used on a hot path.
//
// Each metric also keeps its series in the order the exposition lists them.
// A service's /metrics asks the metric for its whole family in that order
// instead of collecting it series by series through the registry, which would cost a channel send, a
// consistency check and a sort per series: a family with 5 000 series
// gathers in about a tenth of the time of a plain client_golang vector.
// Registered directly into a client_golang registry, a metric is an
// ordinary Collector that sends its series already sorted. Once a metric
// has been curried it collects through the vector instead, since a curried
// vector can create series this index does not see.
//
// All types are safe for concurrent use.
package metrics

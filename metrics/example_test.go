package metrics_test

import (
	"fmt"
	"math"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gobento/bento/metrics"
)

// The histogram from BentoML's metrics guide. In a program it is a
// package-level variable; the service registers it when it starts.
func ExampleNewHistogram() {
	inferenceDuration := metrics.NewHistogram(metrics.HistogramOpts{
		Name:       "inference_duration",
		Help:       "Duration of inference",
		LabelNames: []string{"nltk_version", "sentiment_cls"},
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75,
			1.0, 2.5, 5.0, 7.5, 10.0, math.Inf(1)},
	})
	if err := inferenceDuration.Err(); err != nil {
		fmt.Println(err)
		return
	}

	inferenceDuration.WithLabelValues("3.8", "SentimentIntensityAnalyzer").Observe(0.042)
	inferenceDuration.WithLabelValues("3.8", "SentimentIntensityAnalyzer").Observe(0.011)

	fmt.Println(testutil.CollectAndCount(inferenceDuration, "inference_duration"), "series")
	// Output: 1 series
}

// The counter from BentoML's metrics guide. Its Python example passes a bool
// as the label value, which prometheus_client renders as "True"/"False".
func ExampleNewCounter() {
	polarity := metrics.NewCounter(metrics.CounterOpts{
		Name:       "polarity_total",
		Help:       "Count total number of analysis by polarity scores",
		LabelNames: []string{"polarity"},
	})

	polarity.WithLabelValues("True").Inc()
	polarity.WithLabelValues("True").Inc()
	polarity.WithLabelValues("False").Inc()

	fmt.Println(testutil.ToFloat64(polarity.WithLabelValues("True")))
	fmt.Println(testutil.ToFloat64(polarity.WithLabelValues("False")))
	// Output:
	// 2
	// 1
}

// A metric whose options are wrong does not panic; the problem is kept and
// stops the service from starting.
func ExampleCounter_Err() {
	bad := metrics.NewCounter(metrics.CounterOpts{Name: "requests-total", Help: "Requests."})
	fmt.Println(bad.Err())
	// Output: metrics: counter "requests-total": Name must match ^[a-zA-Z_:][a-zA-Z0-9_:]*$: invalid metric options
}

// Label values beyond MaxSeries are folded into one overflow series.
func ExampleCounterOpts_maxSeries() {
	byUser := metrics.NewCounter(metrics.CounterOpts{
		Name:       "logins_total",
		Help:       "Logins by user.",
		LabelNames: []string{"user"},
		MaxSeries:  2,
	})
	for _, u := range []string{"ann", "bob", "cid", "dee"} {
		byUser.WithLabelValues(u).Inc()
	}
	fmt.Println(testutil.ToFloat64(byUser.WithLabelValues(metrics.OverflowValue)))
	// Output: 2
}

func ExampleExponentialBuckets() {
	fmt.Println(metrics.ExponentialBuckets(0.1, 5, 2))
	// Output: [0.1 0.2 0.4 0.8 1.6 3.2 5]
}

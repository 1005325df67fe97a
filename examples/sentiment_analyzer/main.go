// Command sentiment_analyzer is the custom-metrics example of BentoML's
// metrics guide, in Go: a VADER sentiment runner (github.com/jonreiter/govader)
// behind an API, with the guide's two custom metrics.
//
//	go run ./examples/sentiment_analyzer serve-http
//	curl -s -X POST -H 'content-type: text/plain' -d 'I love this' localhost:3000/analysis
//	{"is_positive":true}
//
// inference_duration (histogram) is observed in the runner method and
// polarity_total (counter) in the API, exactly as in the guide; both appear
// on /metrics next to the default metrics.
package main

import (
	"context"
	"math"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/metrics"
)

// The guide's custom metrics, declared at package level as in the guide.
var (
	inferenceDuration = metrics.NewHistogram(metrics.HistogramOpts{
		Name:       "inference_duration",
		Help:       "Duration of inference",
		LabelNames: []string{"nltk_version", "sentiment_cls"},
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
			math.Inf(1)},
	})
	polarityCounter = metrics.NewCounter(metrics.CounterOpts{
		Name:       "polarity_total",
		Help:       "Count total number of analysis by polarity scores",
		LabelNames: []string{"polarity"},
	})
)

// analyzerVersion and analyzerClass fill the guide's nltk_version and
// sentiment_cls labels.
const (
	analyzerVersion = "govader-2025.04"
	analyzerClass   = "SentimentIntensityAnalyzer"
)

// isPositive is the runner method: it times the model like the guide does.
func isPositive(a *Analyzer, ctx context.Context, text string) (bool, error) {
	start := time.Now()
	pos, err := a.IsPositive(ctx, text)
	inferenceDuration.WithLabelValues(analyzerVersion, analyzerClass).Observe(time.Since(start).Seconds())
	return pos, err
}

func newService() *bento.Service {
	svc := bento.NewService("sentiment_analyzer",
		bento.Doc("Tells whether an English text is positive, using the VADER lexicon."))
	nltk := bento.NewRunner(svc, "nltk_sentiment", NewAnalyzer) // one worker, not batchable
	isPos := bento.Method(nltk, "is_positive", isPositive)
	bento.API(svc, "analysis", bento.Text(), bento.JSON[map[string]bool](),
		func(ctx context.Context, text string) (map[string]bool, error) {
			pos, err := isPos.Run(ctx, text)
			if err != nil {
				return nil, err
			}
			polarityCounter.WithLabelValues(pythonBool(pos)).Inc()
			return map[string]bool{"is_positive": pos}, nil
		})
	return svc
}

// pythonBool renders b as Python's str(bool) does. The guide's example
// passes the bool itself as the polarity label, which prometheus_client
// turns into "True" or "False"; dashboards built on BentoML's example
// select those values.
func pythonBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func main() { bento.Main(newService()) }

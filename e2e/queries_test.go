package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

// observed holds what the clients measured and how to ask Prometheus about
// it. Every query is evaluated at the same instant, at, which is after the
// last scrape of the final counts and after the rules were evaluated on it.
type observed struct {
	ctx                      context.Context
	pc                       *promClient
	at                       time.Time
	iris, sentHTTP, sentGRPC *tally
	jobs                     jobs

	// Bucket boundaries (without +Inf) of the API duration, runner duration
	// and inference_duration histograms, as Prometheus scraped them.
	durationLE, runnerLE, inferenceLE []float64
}

// window is the range of the guide's queries.
const window = time.Minute

// query evaluates expr at o.at; it fails the test if the query fails.
func (o *observed) query(t *testing.T, expr string) []promSample {
	t.Helper()
	s, err := o.pc.query(o.ctx, expr, o.at)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// nonEmpty evaluates expr and fails the test if it returns no sample.
func (o *observed) nonEmpty(t *testing.T, expr string) []promSample {
	t.Helper()
	s := o.query(t, expr)
	if len(s) == 0 {
		t.Fatalf("%s returned no sample", expr)
	}
	for _, v := range s {
		t.Logf("%s", v)
	}
	return s
}

// realSeries evaluates one of the guide's queries and fails the test if it
// returns no sample or any sample that is not a finite number: every query
// of the guide must answer with real series only (a zero histogram child
// once added a NaN series to the p99 query, issue 13).
func (o *observed) realSeries(t *testing.T, expr string) []promSample {
	t.Helper()
	s := o.nonEmpty(t, expr)
	for _, v := range s {
		if finite(v.Value) != nil {
			t.Errorf("%s answered a series that is not a number: %v", expr, v)
		}
	}
	return s
}

// bucketBounds returns the finite le values of a histogram selector.
func (o *observed) bucketBounds(t *testing.T, selector string) []float64 {
	t.Helper()
	var out []float64
	for _, s := range o.query(t, "count by (le) ("+selector+")") {
		v, err := strconv.ParseFloat(s.Labels["le"], 64)
		if err != nil {
			t.Fatalf("%s: bad le %q", selector, s.Labels["le"])
		}
		if !math.IsInf(v, 1) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no buckets for %s", selector)
	}
	slices.Sort(out)
	return out
}

// ceilBound returns the smallest bound >= d (seconds): no quantile of a
// histogram whose observations are all <= d can exceed it. It returns +Inf
// when d is above every bound.
func ceilBound(bounds []float64, d time.Duration) float64 {
	for _, b := range bounds {
		if b >= d.Seconds() {
			return b
		}
	}
	return math.Inf(1)
}

// match returns the samples that carry every label of labels.
func match(samples []promSample, labels map[string]string) []promSample {
	var out []promSample
	for _, s := range samples {
		ok := true
		for k, v := range labels {
			if s.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// one returns the single sample carrying labels; it fails the test if there
// is not exactly one.
func one(t *testing.T, samples []promSample, labels map[string]string) (promSample, bool) {
	t.Helper()
	m := match(samples, labels)
	if len(m) != 1 {
		t.Errorf("want exactly one sample with %v, got %d: %v", labels, len(m), m)
		return promSample{}, false
	}
	return m[0], true
}

// near checks that got is within rateTolerance of want.
func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if finite(got) != nil || math.Abs(got-want) > rateTolerance*want {
		t.Errorf("%s = %g, want %g ± %.0f%%", what, got, want, rateTolerance*100)
	}
}

// between checks lo <= got <= hi, got finite.
func between(t *testing.T, what string, got, lo, hi float64) {
	t.Helper()
	if finite(got) != nil || got < lo || got > hi {
		t.Errorf("%s = %g, want within [%g, %g]", what, got, lo, hi)
	}
}

// perWindow converts a client count into the rate a range query of length w
// must return: all the traffic happened inside the window, after the first
// scrape of the counters (so n counts responses since the tally's baseline).
func perWindow(n int, w time.Duration) float64 { return float64(n) / w.Seconds() }

// testGuideRate checks the guide's request-rate query against the client.
func (o *observed) testGuideRate(t *testing.T) {
	s := o.realSeries(t, guideRate)
	t.Logf("client: %d×200 and %d×400 in %v after the first scrape; the [1m] window holds all of it", o.iris.since(200), o.iris.since(400), trafficDuration)
	var sum float64
	for _, v := range s {
		sum += v.Value
		code, _ := strconv.Atoi(v.Labels["http_response_code"])
		switch n := o.iris.since(code); {
		case n > 0:
			near(t, "rate for code "+v.Labels["http_response_code"], v.Value, perWindow(n, window))
		case v.Value != 0:
			t.Errorf("rate for code %s = %g, but the client got no such response", v.Labels["http_response_code"], v.Value)
		}
	}
	for _, code := range []int{http.StatusOK, http.StatusBadRequest} {
		if len(match(s, map[string]string{"http_response_code": strconv.Itoa(code)})) != 1 {
			t.Errorf("no single series for code %d", code)
		}
	}
	near(t, "sum of the rates", sum, perWindow(o.iris.totalSince(), window))

	inc := o.nonEmpty(t, `sum by (http_response_code) (increase(bentoml_api_server_request_total{service_name="iris_classifier", endpoint="/classify"}[1m]))`)
	for _, code := range []int{http.StatusOK, http.StatusBadRequest} {
		if v, ok := one(t, inc, map[string]string{"http_response_code": strconv.Itoa(code)}); ok {
			near(t, fmt.Sprintf("increase[1m] for code %d", code), v.Value, float64(o.iris.since(code)))
		}
	}
}

// testGuideP99 checks the guide's p99 latency query: finite where there was
// traffic, positive, and not above the bucket holding the slowest response
// the client saw (the server-side duration is shorter than the client's).
func (o *observed) testGuideP99(t *testing.T) {
	s := o.realSeries(t, guideP99)
	hi := ceilBound(o.durationLE, o.iris.maxLat)
	for _, v := range s {
		code, _ := strconv.Atoi(v.Labels["http_response_code"])
		if o.iris.count(code) == 0 {
			t.Errorf("p99 series for code %d, but no request got that code: %v", code, v)
			continue
		}
		between(t, fmt.Sprintf("p99 for code %d (client max latency %v)", code, o.iris.maxLat), v.Value, math.SmallestNonzeroFloat64, hi)
	}
}

// testGuideBatchP75 checks the guide's p75 adaptive-batch-size query.
func (o *observed) testGuideBatchP75(t *testing.T) {
	s := o.realSeries(t, guideBatchP75)
	for _, v := range s {
		if v.Labels["runner_name"] != "iris_clf" {
			t.Errorf("unexpected series %v", v)
		}
		between(t, "p75 batch size of "+v.String(), v.Value, 1, irisMaxBatch)
	}
}

// testGuideInferenceP95 checks the guide's custom-metric query, for the HTTP
// and the gRPC sentiment service.
func (o *observed) testGuideInferenceP95(t *testing.T) {
	s := o.realSeries(t, guideInferenceP95)
	for _, c := range []struct {
		job string
		tl  *tally
	}{{o.jobs.HTTP, o.sentHTTP}, {o.jobs.GRPC, o.sentGRPC}} {
		if v, ok := one(t, s, map[string]string{"job": c.job}); ok {
			// inference time is part of the request time the client measured
			hi := min(10, ceilBound(o.inferenceLE, c.tl.maxLat))
			between(t, "p95 inference_duration of job "+c.job, v.Value, 0, hi)
		}
	}
}

// exactCase is one query whose single result must equal a client count.
type exactCase struct {
	name, expr string
	want       int
}

// testExactCounts checks that Prometheus' counters equal the clients' counts.
func (o *observed) testExactCounts(t *testing.T) {
	cases := []exactCase{
		{"iris 200", `sum(bentoml_api_server_request_total{service_name="iris_classifier",endpoint="/classify",http_response_code="200"})`, o.iris.count(200)},
		{"iris 400", `sum(bentoml_api_server_request_total{service_name="iris_classifier",endpoint="/classify",http_response_code="400"})`, o.iris.count(400)},
		{"iris all codes", `sum(bentoml_api_server_request_total{service_name="iris_classifier",endpoint="/classify"})`, o.iris.total},
		{"iris duration count", `sum(bentoml_api_server_request_duration_seconds_count{service_name="iris_classifier",endpoint="/classify"})`, o.iris.total},
		{"iris runner classify 200", `sum(bentoml_runner_request_total{service_name="iris_classifier",runner_name="iris_clf",endpoint="/classify",http_response_code="200"})`, o.iris.count(200)},
		{"iris batched rows", `sum(bentoml_runner_adaptive_batch_size_sum{service_name="iris_classifier",runner_name="iris_clf"})`, o.iris.rows},
		{"sentiment HTTP 200", `sum(bentoml_api_server_request_total{service_name="sentiment_analyzer",endpoint="/analysis",http_response_code="200"})`, o.sentHTTP.count(200)},
		{"sentiment HTTP all codes", `sum(bentoml_api_server_request_total{service_name="sentiment_analyzer",endpoint="/analysis"})`, o.sentHTTP.total},
	}
	for _, c := range []struct {
		job string
		tl  *tally
	}{{o.jobs.HTTP, o.sentHTTP}, {o.jobs.GRPC, o.sentGRPC}} {
		cases = append(cases,
			exactCase{c.job + " runner is_positive 200", fmt.Sprintf(`sum(bentoml_runner_request_total{job=%q,runner_name="nltk_sentiment",endpoint="/is_positive",http_response_code="200"})`, c.job), c.tl.count(200)},
			exactCase{c.job + " inference_duration count", fmt.Sprintf(`sum(inference_duration_count{job=%q})`, c.job), c.tl.count(200)},
			exactCase{c.job + " polarity true", fmt.Sprintf(`sum(polarity_total{job=%q,polarity="True"})`, c.job), c.tl.positives[true]},
			exactCase{c.job + " polarity false", fmt.Sprintf(`sum(polarity_total{job=%q,polarity="False"})`, c.job), c.tl.positives[false]},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { o.exact(t, c.expr, c.want) })
	}
}

// exact checks that expr returns one sample equal to want.
func (o *observed) exact(t *testing.T, expr string, want int) {
	t.Helper()
	s := o.query(t, expr)
	if len(s) != 1 {
		t.Fatalf("%s: got %d samples %v, want one", expr, len(s), s)
	}
	if s[0].Value != float64(want) {
		t.Errorf("%s = %g, want exactly %d (the client's count)", expr, s[0].Value, want)
	}
}

// testGRPC checks the gRPC job: the API-server series carry api_name and no
// endpoint, their rate matches the client, and the counts are exact.
func (o *observed) testGRPC(t *testing.T) {
	s := o.nonEmpty(t, `rate(bentoml_api_server_request_total{api_name="analysis"}[1m])`)
	for _, v := range s {
		if v.Labels["job"] != o.jobs.GRPC || v.Labels["endpoint"] != "" || v.Labels["service_name"] != "sentiment_analyzer" {
			t.Errorf("unexpected series %v", v)
		}
		code, _ := strconv.Atoi(v.Labels["http_response_code"])
		switch n := o.sentGRPC.since(code); {
		case n > 0:
			near(t, "gRPC rate for code "+v.Labels["http_response_code"], v.Value, perWindow(n, window))
		case v.Value != 0:
			t.Errorf("gRPC rate for code %s = %g, but the client got no such status", v.Labels["http_response_code"], v.Value)
		}
	}
	o.exact(t, `sum(bentoml_api_server_request_total{api_name="analysis",http_response_code="200"})`, o.sentGRPC.count(200))
	o.exact(t, `sum(bentoml_api_server_request_total{api_name="analysis",http_response_code="400"})`, o.sentGRPC.count(400))
	p99 := o.nonEmpty(t, `histogram_quantile(0.99, sum by (le) (rate(bentoml_api_server_request_duration_seconds_bucket{api_name="analysis",http_response_code="200"}[1m])))`)
	between(t, "gRPC p99", p99[0].Value, math.SmallestNonzeroFloat64, ceilBound(o.durationLE, o.sentGRPC.maxLat))
}

package e2e

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"
)

// ruleFile is the part of a Prometheus rule file the test reads.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// loadRules parses a rule file and returns its recording and alerting rule
// names, in file order.
func loadRules(t *testing.T, path string) (records, alerts []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Load(data, &f); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			switch {
			case r.Record != "":
				records = append(records, r.Record)
			case r.Alert != "":
				alerts = append(alerts, r.Alert)
			default:
				t.Errorf("%s: group %s has a rule that is neither record nor alert", path, g.Name)
			}
		}
	}
	if len(records) == 0 {
		t.Fatalf("%s: no recording rule", path)
	}
	return records, alerts
}

// endpointLoad is one API endpoint the test drives, as the api-server
// recording rules label it (gRPC api_name copied into endpoint).
type endpointLoad struct {
	labels  map[string]string
	tl      *tally
	workers int // most requests it can have in flight
}

// endpoints returns the three endpoints with traffic.
func (o *observed) endpoints() []endpointLoad {
	return []endpointLoad{
		{map[string]string{"service_name": "iris_classifier", "endpoint": "/classify"}, o.iris, irisWorkers},
		{map[string]string{"service_name": "sentiment_analyzer", "endpoint": "/analysis"}, o.sentHTTP, sentimentWorkers},
		{map[string]string{"service_name": "sentiment_analyzer", "endpoint": "analysis"}, o.sentGRPC, sentimentWorkers},
	}
}

// ruleCheck says what a recording rule must return under the test's traffic.
type ruleCheck struct {
	// emptyOK, when set, is why the rule may legitimately return nothing.
	emptyOK string
	// nanOK reports whether a NaN sample is legitimate (0/0 on a series
	// without traffic). Nil means only endpoint="<unmatched>" may be NaN.
	nanOK func(promSample) bool
	// check verifies the samples.
	check func(t *testing.T, s []promSample)
}

// unmatchedNaN is the default nanOK: the <unmatched> endpoint had no traffic,
// so its ratios and quantiles are 0/0.
func unmatchedNaN(s promSample) bool { return s.Labels["endpoint"] == "<unmatched>" }

// ruleChecks returns the check of every recording rule in
// deploy/prometheus/rules.yml, by rule name.
func (o *observed) ruleChecks() map[string]ruleCheck {
	eps := o.endpoints()
	rate := func(w float64) ruleCheck {
		return ruleCheck{check: func(t *testing.T, s []promSample) {
			for _, e := range eps {
				if v, ok := one(t, s, e.labels); ok {
					near(t, fmt.Sprintf("%v", e.labels), v.Value, float64(e.tl.totalSince())/w)
				}
			}
		}}
	}
	zeroPerEndpoint := ruleCheck{check: func(t *testing.T, s []promSample) {
		for _, e := range eps {
			if v, ok := one(t, s, e.labels); ok && v.Value != 0 {
				t.Errorf("%v = %g, want 0 (no 5xx response)", e.labels, v.Value)
			}
		}
	}}
	quantile := ruleCheck{check: func(t *testing.T, s []promSample) {
		for _, e := range eps {
			if v, ok := one(t, s, e.labels); ok {
				between(t, fmt.Sprintf("%v (client max latency %v)", e.labels, e.tl.maxLat), v.Value,
					math.SmallestNonzeroFloat64, ceilBound(o.durationLE, e.tl.maxLat))
			}
		}
	}}
	inProgressService := ruleCheck{check: func(t *testing.T, s []promSample) {
		for svc, hi := range map[string]int{"iris_classifier": irisWorkers, "sentiment_analyzer": 2 * sentimentWorkers} {
			if v, ok := one(t, s, map[string]string{"service_name": svc}); ok {
				between(t, svc, v.Value, 0, float64(hi))
			}
		}
	}}
	// Each successful analysis makes one is_positive runner call.
	sentimentOK := o.sentHTTP.since(200) + o.sentGRPC.since(200)
	irisRunner := map[string]string{"service_name": "iris_classifier", "runner_name": "iris_clf"}
	sentRunner := map[string]string{"service_name": "sentiment_analyzer", "runner_name": "nltk_sentiment"}
	runnerMax := map[string]float64{
		"iris_clf":       ceilBound(o.runnerLE, o.iris.maxLat),
		"nltk_sentiment": ceilBound(o.runnerLE, max(o.sentHTTP.maxLat, o.sentGRPC.maxLat)),
	}
	// irisBatchTime bounds batching-time quantiles of iris_clf (queue wait,
	// batch duration): both are part of the request time the client saw.
	irisBatchTime := func(family string) ruleCheck {
		return ruleCheck{check: func(t *testing.T, s []promSample) {
			v, ok := one(t, s, irisRunner)
			if !ok {
				return
			}
			bounds := o.bucketBounds(t, family+`_bucket{runner_name="iris_clf"}`)
			between(t, "iris_clf", v.Value, 0, ceilBound(bounds, o.iris.maxLat))
		}}
	}
	allZero := ruleCheck{check: func(t *testing.T, s []promSample) {
		for _, v := range s {
			if v.Value != 0 {
				t.Errorf("%v, want 0 (nothing was shed)", v)
			}
		}
		if len(match(s, irisRunner)) == 0 {
			t.Errorf("no series for the batching runner iris_clf")
		}
	}}
	runnerInProgress := ruleCheck{check: func(t *testing.T, s []promSample) {
		for _, r := range []map[string]string{irisRunner, sentRunner} {
			if v, ok := one(t, s, r); ok {
				between(t, r["runner_name"], v.Value, 0, float64(irisWorkers))
			}
		}
	}}
	slow := ruleCheck{check: func(t *testing.T, s []promSample) {
		// Server-side durations are shorter than the client's, so the slow
		// share Prometheus sees cannot exceed the client's.
		for svc, tls := range map[string][]*tally{"iris_classifier": {o.iris}, "sentiment_analyzer": {o.sentHTTP, o.sentGRPC}} {
			var slowN, total int
			for _, tl := range tls {
				slowN += tl.slow
				total += tl.total
			}
			if v, ok := one(t, s, map[string]string{"service_name": svc}); ok {
				between(t, svc+" slow ratio", v.Value, 0, float64(slowN)/float64(total)+0.01)
			}
		}
	}}

	return map[string]ruleCheck{
		"service_endpoint:bentoml_api_server_request:rate1m":           rate(60),
		"service_endpoint:bentoml_api_server_request:rate5m":           rate(300),
		"service_endpoint:bentoml_api_server_request_5xx:ratio_rate1m": zeroPerEndpoint,
		"service_endpoint:bentoml_api_server_request_5xx:ratio_rate5m": zeroPerEndpoint,
		"service_endpoint_le:bentoml_api_server_request_duration_seconds_bucket:rate1m": {check: func(t *testing.T, s []promSample) {
			for _, e := range eps {
				inf := map[string]string{"le": "+Inf"}
				for k, v := range e.labels {
					inf[k] = v
				}
				if v, ok := one(t, s, inf); ok {
					near(t, fmt.Sprintf("%v", inf), v.Value, perWindow(e.tl.totalSince(), window))
				}
				if n := len(match(s, e.labels)); n != len(o.durationLE)+1 {
					t.Errorf("%v: %d buckets, want %d", e.labels, n, len(o.durationLE)+1)
				}
			}
		}},
		"service_endpoint:bentoml_api_server_request_duration_seconds:p50_rate1m": quantile,
		"service_endpoint:bentoml_api_server_request_duration_seconds:p95_rate1m": quantile,
		"service_endpoint:bentoml_api_server_request_duration_seconds:p99_rate1m": quantile,
		"service_endpoint:bentoml_api_server_request_in_progress:avg1m": {check: func(t *testing.T, s []promSample) {
			for _, e := range eps {
				if v, ok := one(t, s, e.labels); ok {
					between(t, fmt.Sprintf("%v", e.labels), v.Value, 0, float64(e.workers))
				}
			}
		}},
		"service:bentoml_api_server_request_in_progress:avg1m":       inProgressService,
		"namespace_pod:bentoml_api_server_request_in_progress:avg1m": inProgressService, // no namespace/pod labels outside Kubernetes
		"service_runner_endpoint:bentoml_runner_request:rate1m": {check: func(t *testing.T, s []promSample) {
			if v, ok := one(t, s, map[string]string{"runner_name": "nltk_sentiment", "endpoint": "/is_positive"}); ok {
				near(t, "nltk_sentiment /is_positive", v.Value, perWindow(sentimentOK, window))
			}
			if v, ok := one(t, s, map[string]string{"runner_name": "iris_clf", "endpoint": "/classify"}); ok {
				near(t, "iris_clf /classify", v.Value, perWindow(o.iris.since(200), window))
			}
		}},
		"service_runner_endpoint:bentoml_runner_request_duration_seconds:p99_rate1m": {check: func(t *testing.T, s []promSample) {
			for _, r := range []map[string]string{irisRunner, sentRunner} {
				if v, ok := one(t, s, r); ok {
					between(t, r["runner_name"], v.Value, math.SmallestNonzeroFloat64, runnerMax[r["runner_name"]])
				}
			}
		}},
		"service_runner:bentoml_runner_adaptive_batch_size:p75_rate1m": {check: func(t *testing.T, s []promSample) {
			if v, ok := one(t, s, irisRunner); ok {
				between(t, "iris_clf p75 batch size", v.Value, 1, irisMaxBatch)
			}
		}},
		"service_runner_method:bentoml_runner_queue_wait_seconds:p99_rate1m":     irisBatchTime("bentoml_runner_queue_wait_seconds"),
		"service_runner_method:bentoml_runner_batch_duration_seconds:p99_rate1m": irisBatchTime("bentoml_runner_batch_duration_seconds"),
		"service_runner_method_reason:bentoml_runner_batch_dispatch:rate1m": {check: func(t *testing.T, s []promSample) {
			var batches float64
			for _, v := range match(s, irisRunner) {
				if !slices.Contains([]string{"full", "cost", "deadline", "drain"}, v.Labels["reason"]) {
					t.Errorf("unknown dispatch reason in %v", v)
				}
				batches += v.Value
			}
			// At least one batch, and no more batches than valid requests.
			between(t, "iris_clf batches per second", batches, math.SmallestNonzeroFloat64, perWindow(o.iris.count(200), window)*(1+rateTolerance))
		}},
		"service_runner_method:bentoml_runner_shed:rate1m":        allZero,
		"service_runner_method:bentoml_runner_shed:rate5m":        allZero,
		"service_runner:bentoml_runner_shed:ratio_rate5m":         allZero,
		"service_runner:bentoml_runner_request_in_progress:avg1m": runnerInProgress,
		"namespace_pod:bentoml_runner_request_in_progress:avg1m":  runnerInProgress, // no namespace/pod labels outside Kubernetes
		"namespace_pod:bentoml_runner_queue_wait_seconds:mean_rate1m": {check: func(t *testing.T, s []promSample) {
			// Only the batching runner has a queue; a request's mean wait
			// cannot exceed the slowest response the client saw.
			if v, ok := one(t, s, irisRunner); ok {
				between(t, "iris_clf mean queue wait", v.Value, 0, o.iris.maxLat.Seconds())
			}
		}},
		"service_runner:bentoml_runner_workers_busy:ratio_avg1m": {check: func(t *testing.T, s []promSample) {
			for _, r := range []map[string]string{irisRunner, sentRunner} {
				if v, ok := one(t, s, r); ok {
					between(t, r["runner_name"]+" worker utilisation", v.Value, 0, 1)
				}
			}
		}},
		"service:bentoml_api_server_request_slow:ratio_rate5m":  slow,
		"service:bentoml_api_server_request_slow:ratio_rate30m": slow,
		"service:bentoml_api_server_request_slow:ratio_rate1h":  slow,
		"service:bentoml_api_server_request_slow:ratio_rate6h":  slow,
	}
}

// testRecordingRules queries every recording rule of the rule file and
// checks its samples against the traffic.
func (o *observed) testRecordingRules(t *testing.T, path string) {
	records, _ := loadRules(t, path)
	checks := o.ruleChecks()
	for name := range checks {
		if !slices.Contains(records, name) {
			t.Errorf("the e2e test checks %s, which %s no longer defines; remove its check", name, path)
		}
	}
	for _, name := range records {
		t.Run(strings.ReplaceAll(name, ":", "_"), func(t *testing.T) {
			c, ok := checks[name]
			if !ok {
				t.Fatalf("recording rule %s has no check in e2e/rules_test.go; add one saying what it must return under the test's traffic", name)
			}
			s := o.query(t, name)
			if len(s) == 0 {
				if c.emptyOK != "" {
					t.Skipf("no sample, as expected: %s", c.emptyOK)
				}
				t.Fatalf("%s returned no sample", name)
			}
			nanOK := c.nanOK
			if nanOK == nil {
				nanOK = unmatchedNaN
			}
			for _, v := range s {
				t.Logf("%s", v)
				if math.IsNaN(v.Value) && !nanOK(v) {
					t.Errorf("NaN for a series with traffic: %v", v)
				}
				if v.Value < 0 || math.IsInf(v.Value, 0) {
					t.Errorf("negative or infinite: %v", v)
				}
			}
			c.check(t, s)
		})
	}
	t.Run("latency_quantiles_ordered", func(t *testing.T) {
		p := map[string][]promSample{}
		for _, q := range []string{"p50", "p95", "p99"} {
			p[q] = o.query(t, "service_endpoint:bentoml_api_server_request_duration_seconds:"+q+"_rate1m")
		}
		for _, e := range o.endpoints() {
			v50, ok1 := one(t, p["p50"], e.labels)
			v95, ok2 := one(t, p["p95"], e.labels)
			v99, ok3 := one(t, p["p99"], e.labels)
			if ok1 && ok2 && ok3 && !(v50.Value <= v95.Value && v95.Value <= v99.Value) {
				t.Errorf("%v: p50 %g, p95 %g, p99 %g are not ordered", e.labels, v50.Value, v95.Value, v99.Value)
			}
		}
	})
}

// testRulesHealthy checks that Prometheus loaded exactly the rule file's
// rules, that every rule evaluates without error, and that no alert is
// pending or firing under healthy traffic.
func (o *observed) testRulesHealthy(t *testing.T, path string) {
	records, alerts := loadRules(t, path)
	groups, err := o.pc.rules(o.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var loaded []string
	for _, g := range groups {
		for _, r := range g.Rules {
			loaded = append(loaded, r.Name)
			if r.Health != "ok" || r.LastError != "" {
				t.Errorf("rule %s (group %s): health %q, error %q", r.Name, g.Name, r.Health, r.LastError)
			}
			if r.Type == "alerting" && r.State != "inactive" {
				t.Errorf("alert %s is %s under healthy traffic", r.Name, r.State)
			}
		}
	}
	want := append(slices.Clone(records), alerts...)
	slices.Sort(want)
	slices.Sort(loaded)
	if !slices.Equal(loaded, want) {
		t.Errorf("Prometheus loaded rules %v, want those of %s: %v", loaded, path, want)
	}
	if s := o.query(t, "ALERTS"); len(s) != 0 {
		t.Errorf("ALERTS = %v, want none", s)
	}
}

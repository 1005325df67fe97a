package bento_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gobento/bento"
)

// doubler is a batch model that takes long enough per batch for concurrent
// callers to queue up behind it.
type doubler struct{}

func (doubler) Double(_ context.Context, xs []float64) ([]float64, error) {
	time.Sleep(2 * time.Millisecond)
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = 2 * x
	}
	return out, nil
}

func TestBatchMethodEndToEnd(t *testing.T) {
	svc := bento.NewService("batcher")
	r := bento.NewRunner(svc, "dbl", func() (doubler, error) { return doubler{}, nil })
	double := bento.BatchMethod(r, "double", doubler.Double, bento.MaxBatchSize(16), bento.MaxLatency(2*time.Second))
	bento.API(svc, "double", bento.NDArray[[]float64](), bento.NDArray[[]float64](),
		func(ctx context.Context, xs []float64) ([]float64, error) { return double.RunMany(ctx, xs) })
	srv := startHTTP(t, svc, nil)

	const callers, calls = 16, 20
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range calls {
				x := float64(c*1000 + i)
				resp := post(t, srv.URL()+"/double", "application/json", "["+ftoa(x)+","+ftoa(x+0.5)+"]")
				if want := "[" + ftoa(2*x) + "," + ftoa(2*x+1) + "]"; resp.status != 200 || string(resp.body) != want {
					t.Errorf("caller %d call %d: %d %s, want %s", c, i, resp.status, resp.body, want)
					return
				}
			}
		})
	}
	wg.Wait()
	// A worker counts as busy until it is back from the yield that follows
	// a batch (GOMAXPROCS <= workers), a moment after its callers have
	// their answers: scrape once it is back.
	fams := scrape(t, srv.URL()+"/metrics")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); fams = scrape(t, srv.URL()+"/metrics") {
		if busy, _ := sample(fams, "bentoml_runner_workers_busy", map[string]string{"runner_name": "dbl"}); busy == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	base := map[string]string{"runner_name": "dbl", "service_name": "batcher"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	if got, _ := sample(fams, "bentoml_runner_request_total", with("endpoint", "/double", "http_response_code", "200")); got != callers*calls {
		t.Errorf("runner requests %v, want %d", got, callers*calls)
	}
	var batches, items float64
	for _, m := range fams["bentoml_runner_adaptive_batch_size"].GetMetric() {
		if labelsMatch(m, with("method_name", "double", "worker_index", "1")) {
			batches += float64(m.GetHistogram().GetSampleCount())
			items += m.GetHistogram().GetSampleSum()
		}
	}
	if items != 2*callers*calls {
		t.Errorf("items in batches %v, want %d", items, 2*callers*calls)
	}
	if batches >= callers*calls {
		t.Errorf("%v batches for %d calls: nothing was merged", batches, callers*calls)
	}
	var dispatched float64
	for _, m := range fams["bentoml_runner_batch_dispatch_total"].GetMetric() {
		if labelsMatch(m, with("method_name", "double")) {
			dispatched += m.GetCounter().GetValue()
		}
	}
	if dispatched != batches {
		t.Errorf("dispatch_total %v != batches %v", dispatched, batches)
	}
	if got, _ := sample(fams, "bentoml_runner_batch_duration_seconds", with("method_name", "double")); got != batches {
		t.Errorf("batch_duration count %v, want %v", got, batches)
	}
	if got, _ := sample(fams, "bentoml_runner_queue_wait_seconds", with("method_name", "double")); got < callers*calls {
		t.Errorf("queue_wait count %v, want >= %d", got, callers*calls)
	}
	for _, g := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"bentoml_runner_workers", with(), 1},
		{"bentoml_runner_workers_busy", with(), 0},
		{"bentoml_runner_queued_items", with("method_name", "double"), 0},
		{"gobento_serving_state", map[string]string{"service_name": "batcher", "state": "ready"}, 1},
		{"gobento_serving_state", map[string]string{"service_name": "batcher", "state": "draining"}, 0},
	} {
		if got, ok := sample(fams, g.name, g.labels); !ok || got != g.want {
			t.Errorf("%s%v = %v (present %v), want %v", g.name, g.labels, got, ok, g.want)
		}
	}
	t.Logf("%d calls in %v batches (mean %.1f items)", callers*calls, batches, items/batches)
}

func ftoa(f float64) string {
	b, _ := jsonMarshal(f)
	return string(b)
}

package dashboard

import (
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestQuantile(t *testing.T) {
	inf := math.Inf(1)
	for i, tc := range []struct {
		q            float64
		upper, cum   []float64
		want         float64
		wantNaN      bool
		wantInfinity int
	}{
		// Values checked against PromQL's histogram_quantile.
		{q: 0.5, upper: []float64{1, 2, inf}, cum: []float64{10, 20, 20}, want: 1},
		{q: 0.75, upper: []float64{1, 2, inf}, cum: []float64{10, 20, 20}, want: 1.5},
		{q: 0.99, upper: []float64{0.1, 0.5, 1, inf}, cum: []float64{0, 0, 100, 100}, want: 0.995},
		{q: 0.25, upper: []float64{1, 2, inf}, cum: []float64{10, 20, 20}, want: 0.5},
		{q: 0.99, upper: []float64{1, 2, inf}, cum: []float64{10, 10, 20}, want: 2}, // rank in +Inf
		{q: 0.5, upper: []float64{-1, 2, inf}, cum: []float64{10, 20, 20}, want: -1},
		{q: 0.5, upper: []float64{1, 2, inf}, cum: []float64{0, 0, 0}, wantNaN: true},
		{q: 0.5, upper: []float64{inf}, cum: []float64{3}, wantNaN: true},
		{q: 0.5, upper: []float64{1, 2}, cum: []float64{1, 2}, wantNaN: true}, // no +Inf
		{q: 1.5, upper: []float64{1, 2, inf}, cum: []float64{1, 2, 2}, wantInfinity: 1},
		{q: -1, upper: []float64{1, 2, inf}, cum: []float64{1, 2, 2}, wantInfinity: -1},
	} {
		got := quantile(tc.q, tc.upper, tc.cum)
		switch {
		case tc.wantNaN:
			if !math.IsNaN(got) {
				t.Errorf("case %d: got %v, want NaN", i, got)
			}
		case tc.wantInfinity != 0:
			if !math.IsInf(got, tc.wantInfinity) {
				t.Errorf("case %d: got %v, want %d·Inf", i, got, tc.wantInfinity)
			}
		case math.Abs(got-tc.want) > 1e-9:
			t.Errorf("case %d: quantile(%v) = %v, want %v", i, tc.q, got, tc.want)
		}
	}
}

// testRegistry holds the API families of one endpoint, with the default
// names and labels.
type testRegistry struct {
	reg      *prometheus.Registry
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	batch    *prometheus.HistogramVec
	custom   *prometheus.GaugeVec
}

func newTestRegistry(t testing.TB) *testRegistry {
	r := &testRegistry{reg: prometheus.NewPedanticRegistry()}
	r.total = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bentoml_api_server_request_total", Help: "h"},
		[]string{"endpoint", "http_response_code"})
	r.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bentoml_api_server_request_duration_seconds", Help: "h",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}}, []string{"endpoint", "http_response_code"})
	r.batch = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bentoml_runner_adaptive_batch_size", Help: "h",
		Buckets: []float64{1, 2, 4, 8, 16}}, []string{"runner_name", "method_name", "worker_index"})
	r.custom = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "user_things", Help: "h"}, []string{"k"})
	r.reg.MustRegister(r.total, r.duration, r.batch, r.custom)
	return r
}

// TestSamplerAgreesWithTwoScrapes drives known traffic between samples and
// checks the lines against what two scrapes of the same registry give.
func TestSamplerAgreesWithTwoScrapes(t *testing.T) {
	r := newTestRegistry(t)
	s := newSampler(Options{Gatherer: r.reg, Window: 5}.withDefaults())
	t0 := time.Unix(1000, 0)
	for i := range 12 {
		// each second: 100 requests at 20 ms, 10 at 300 ms, 5 of 429 and 2 of 500
		for range 100 {
			r.total.WithLabelValues("/classify", "200").Inc()
			r.duration.WithLabelValues("/classify", "200").Observe(0.02)
		}
		for range 10 {
			r.total.WithLabelValues("/classify", "200").Inc()
			r.duration.WithLabelValues("/classify", "200").Observe(0.3)
		}
		r.total.WithLabelValues("/classify", "429").Add(5)
		r.total.WithLabelValues("/classify", "500").Add(2)
		r.batch.WithLabelValues("clf", "classify", "1").Observe(3)
		r.batch.WithLabelValues("clf", "classify", "2").Observe(6)
		s.sample(t0.Add(time.Duration(i) * time.Second))
	}
	var d struct {
		Seq    int64   `json:"seq"`
		Times  []int64 `json:"t"`
		Groups []struct {
			Kind  string                `json:"kind"`
			Lines map[string][]*float64 `json:"lines"`
			Dist  [][2]float64          `json:"dist"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(s.json(1, 0), &d); err != nil {
		t.Fatal(err)
	}
	lines := map[string][]*float64{}
	var dist [][2]float64
	for _, g := range d.Groups {
		for k, v := range g.Lines {
			lines[g.Kind+"/"+k] = v
		}
		dist = append(dist, g.Dist...)
	}
	last := func(name string) float64 {
		v := lines[name]
		if len(v) == 0 || v[len(v)-1] == nil {
			t.Fatalf("line %s: no last value in %v", name, v)
		}
		return *v[len(v)-1]
	}
	// Over any 5 s window: 117 req/s, 5/117 are 4xx, 2/117 5xx; the p99 of
	// 110 observations per second (100 at 0.02, 10 at 0.3) falls in
	// (0.25, 0.5]: rank 0.99*550=544.5, 500 below, 50 in the bucket.
	wantP99 := 0.25 + 0.25*(544.5-500)/50
	for _, tc := range []struct {
		line string
		want float64
	}{
		{"api/rps", 117},
		{"api/err4xx", 5.0 / 117},
		{"api/err5xx", 2.0 / 117},
		{"api/p99", wantP99},
		{"api/p50", 0.01 + 0.015*(275-0)/500},
		{"method/batch_size_mean", 4.5},
		{"method/batches_per_s", 2},
	} {
		if got := last(tc.line); math.Abs(got-tc.want) > 1e-4*math.Max(1, tc.want) {
			t.Errorf("%s = %v, want %v", tc.line, got, tc.want)
		}
	}
	if len(d.Times) != 12 || d.Seq != 12 {
		t.Errorf("times %d, seq %d; want 12 and 12", len(d.Times), d.Seq)
	}
	// the distribution over the window: 5 batches of 3 (le 4), 5 of 6 (le 8)
	want := map[float64]float64{1: 0, 2: 0, 4: 5, 8: 5, 16: 0}
	for _, b := range dist {
		if w, ok := want[b[0]]; ok && w != b[1] {
			t.Errorf("batch size distribution le=%v: %v, want %v", b[0], b[1], w)
		}
	}
	// since= returns only newer points
	var inc Data
	json.Unmarshal(s.json(1, 10), &inc)
	if len(inc.Times) != 2 {
		t.Errorf("since=10: %d points, want 2", len(inc.Times))
	}
}

// TestSamplerMemoryBound samples 5 000 custom series (and the default
// families) for longer than the ring and checks the heap the sampler keeps
// stays under Options.Bound.
func TestSamplerMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	r := newTestRegistry(t)
	for i := range 5000 {
		r.custom.WithLabelValues(fmt.Sprintf("series-%d-%s", i, "<script>alert(1)</script>")).Set(float64(i))
	}
	for i := range 20 {
		r.total.WithLabelValues(fmt.Sprintf("/api%d", i), "200").Inc()
		r.duration.WithLabelValues(fmt.Sprintf("/api%d", i), "200").Observe(0.1)
	}
	o := Options{Gatherer: r.reg}.withDefaults()
	before := heapInUse()
	s := newSampler(o)
	t0 := time.Unix(0, 0)
	for i := range 30 {
		s.sample(t0.Add(time.Duration(i) * time.Second))
	}
	doc := s.json(1, 0)
	after := heapInUse()
	runtime.KeepAlive(s)
	held := after - before
	t.Logf("5 000 custom series: sampler holds %d KiB (bound %d KiB), JSON %d KiB, %d custom rows, %d omitted",
		held>>10, o.Bound()>>10, len(doc)>>10, len(s.custom), s.dropCust)
	if held > o.Bound() {
		t.Errorf("sampler holds %d bytes, over its bound %d", held, o.Bound())
	}
	if len(s.custom) != o.MaxCustom || s.dropCust != 5000-o.MaxCustom {
		t.Errorf("custom rows %d, omitted %d; want %d and %d", len(s.custom), s.dropCust, o.MaxCustom, 5000-o.MaxCustom)
	}
	if len(s.windows) > o.MaxLines+o.MaxCustom {
		t.Errorf("%d windows, over the cap %d", len(s.windows), o.MaxLines+o.MaxCustom)
	}
	// The default bound, stated in the docs.
	if b := (Options{}).Bound(); b > 8<<20 {
		t.Errorf("default bound %d bytes, docs say about 6.1 MiB", b)
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gobento/bento/internal/browsertest"
)

// scrapeSnap is what one /metrics scrape says about /classify.
type scrapeSnap struct {
	at     time.Time
	total  float64   // requests, every code
	upper  []float64 // duration bucket bounds, +Inf last
	bucket []float64 // cumulative counts
}

func scrapeClassify(hc *http.Client, url string) (scrapeSnap, error) {
	s := scrapeSnap{at: time.Now()}
	resp, err := hc.Get(url)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return s, err
	}
	isClassify := func(m *dto.Metric) bool {
		for _, l := range m.GetLabel() {
			if l.GetName() == "endpoint" && l.GetValue() == "/classify" {
				return true
			}
		}
		return false
	}
	for _, m := range fams["bentoml_api_server_request_total"].GetMetric() {
		if isClassify(m) {
			s.total += m.GetCounter().GetValue()
		}
	}
	for _, m := range fams["bentoml_api_server_request_duration_seconds"].GetMetric() {
		if !isClassify(m) {
			continue
		}
		h := m.GetHistogram()
		if s.upper == nil {
			for _, b := range h.GetBucket() {
				s.upper = append(s.upper, b.GetUpperBound())
			}
			s.upper = append(s.upper, math.Inf(1))
			s.bucket = make([]float64, len(s.upper))
		}
		for i, b := range h.GetBucket() {
			s.bucket[i] += float64(b.GetCumulativeCount())
		}
		s.bucket[len(s.upper)-1] += float64(h.GetSampleCount())
	}
	return s, nil
}

// promQuantile is PromQL's histogram_quantile over classic buckets.
func promQuantile(q float64, upper, cum []float64) float64 {
	n := len(cum)
	rank := q * cum[n-1]
	i := sort.Search(n, func(i int) bool { return cum[i] >= rank })
	if i == n-1 {
		return upper[n-2]
	}
	lo, below := 0.0, 0.0
	if i > 0 {
		lo, below = upper[i-1], cum[i-1]
	}
	return lo + (upper[i]-lo)*(rank-below)/(cum[i]-below)
}

// TestDashboardInBrowser loads the iris service and opens /dashboard in
// headless Chromium: the page loads with no console error and no request to
// another origin, charts /classify, shows requests/s and p99 within 10% of
// what two /metrics scrapes over the same window give, and shows batches of
// more than one row. With GOBENTO_SCREENSHOTS=dir it also saves the page in
// light and dark mode there.
func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("needs 20 s of load")
	}
	srv := browsertest.Serve(t, newService(), nil)
	b := browsertest.New(t)
	hc := &http.Client{Timeout: 10 * time.Second}

	// Steady load, light enough to leave the CPU to tests running beside it:
	// 4 callers, each a request of 1-4 rows every 10 ms (about 400 req/s).
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				var body bytes.Buffer
				body.WriteString("[")
				for r := range 1 + rng.IntN(4) {
					if r > 0 {
						body.WriteString(",")
					}
					body.WriteString("[5.1, 3.5, 1.4, 0.2]")
				}
				body.WriteString("]")
				req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL()+"/classify", &body)
				req.Header.Set("Content-Type", "application/json")
				if resp, err := hc.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	// Scrapes every 250 ms, to find the two that bound the page's window.
	var mu sync.Mutex
	var snaps []scrapeSnap
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if s, err := scrapeClassify(hc, srv.URL()+"/metrics"); err == nil {
				mu.Lock()
				snaps = append(snaps, s)
				mu.Unlock()
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()

	p := b.Open(srv.URL()+"/dashboard", false)
	api := `[data-kind="api"][data-name="/classify"]`
	value := func(group, line string) string {
		return fmt.Sprintf(`document.querySelector('%s [data-line="%s"]').dataset.value`, group, line)
	}
	// The sampler needs a full window (10 s) before its rates cover it.
	p.WaitFor(30*time.Second, "the /classify row with a p99",
		fmt.Sprintf("document.querySelector('%s') && %s !== '' && +document.body.dataset.seq >= 14", api, value(api, "p99")))

	// Read the page, then the scrapes nearest to its window's two ends.
	var shown struct {
		RPS, P99 string
		T        string
		Window   float64
	}
	if err := p.Eval(fmt.Sprintf(`({RPS: %s, P99: %s, T: document.body.dataset.t, Window: 10})`,
		value(api, "rps"), value(api, "p99")), &shown); err != nil {
		t.Fatal(err)
	}
	end, _ := strconv.ParseInt(shown.T, 10, 64)
	time.Sleep(300 * time.Millisecond) // a scrape after the window's end
	mu.Lock()
	nearest := func(at time.Time) scrapeSnap {
		best := snaps[0]
		for _, s := range snaps {
			if s.at.Sub(at).Abs() < best.at.Sub(at).Abs() {
				best = s
			}
		}
		return best
	}
	endT := time.UnixMilli(end)
	s0, s1 := nearest(endT.Add(-10*time.Second)), nearest(endT)
	mu.Unlock()
	inc := make([]float64, len(s1.bucket))
	for i := range inc {
		inc[i] = s1.bucket[i] - s0.bucket[i]
	}
	wantRPS := (s1.total - s0.total) / s1.at.Sub(s0.at).Seconds()
	wantP99 := promQuantile(0.99, s1.upper, inc)
	gotRPS, _ := strconv.ParseFloat(shown.RPS, 64)
	gotP99, _ := strconv.ParseFloat(shown.P99, 64)
	t.Logf("page: %.1f req/s, p99 %.2f ms; scrapes %v apart: %.1f req/s, p99 %.2f ms",
		gotRPS, gotP99*1000, s1.at.Sub(s0.at).Round(time.Millisecond), wantRPS, wantP99*1000)
	if math.Abs(gotRPS-wantRPS) > 0.1*wantRPS || wantRPS == 0 {
		t.Errorf("requests/s shown %.2f, from two scrapes %.2f: more than 10%% apart", gotRPS, wantRPS)
	}
	if math.Abs(gotP99-wantP99) > 0.1*wantP99 || wantP99 == 0 {
		t.Errorf("p99 shown %.4f s, from two scrapes %.4f s: more than 10%% apart", gotP99, wantP99)
	}

	method := `[data-kind="method"][data-name="iris_clf"][data-method="classify"]`
	p.WaitFor(10*time.Second, "batches larger than one in the runner panel",
		fmt.Sprintf("+(%s) > 0 && +(%s) > 1", value(method, "batch_gt1"), value(method, "batch_size_mean")))

	if dir := os.Getenv("GOBENTO_SCREENSHOTS"); dir != "" {
		for _, dark := range []bool{false, true} {
			name := "dashboard-light.png"
			if dark {
				name = "dashboard-dark.png"
			}
			sp := b.Open(srv.URL()+"/dashboard", dark)
			sp.WaitFor(20*time.Second, "charts drawn", "document.querySelectorAll('svg path').length > 4")
			time.Sleep(1500 * time.Millisecond)
			if err := os.WriteFile(filepath.Join(dir, name), sp.Screenshot(), 0o644); err != nil {
				t.Error(err)
			}
		}
	}
	p.CheckClean(srv.URL())
}

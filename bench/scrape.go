package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
	"github.com/gobento/bento/metrics"
)

// Scrape scenario sizes (issue 7, pair 5).
const (
	scrapeAPIs         = 10
	scrapeCustomSeries = 5000
	scrapeTargetMs     = 10.0
)

var scrapeCodes = []int{200, 400, 404, 500, 503}

// scrapeRow is the timing of one scrape format.
type scrapeRow struct {
	Format   string  `json:"format"`
	MedianMs float64 `json:"median_ms"`
	P90Ms    float64 `json:"p90_ms"`
	MaxMs    float64 `json:"max_ms"`
	Bytes    int     `json:"bytes"`
}

// scrapeResult is the outcome of pair 5.
type scrapeResult struct {
	Series        int         `json:"series"`
	Families      int         `json:"families"`
	Scrapes       int         `json:"scrapes_per_format"`
	GatherMs      float64     `json:"gather_median_ms"`
	Rows          []scrapeRow `json:"rows"`
	TargetMs      float64     `json:"target_ms"`
	CustomSeries  int         `json:"custom_series"`
	APIs          int         `json:"apis"`
	StatusesPerAP int         `json:"statuses_per_api"`
}

// scrapeService has scrapeAPIs APIs, each calling one runner method that
// answers with the status its input names ("200", "404", ...).
func scrapeService() *bento.Service {
	svc := bento.NewService("scrape_bench", bento.Version("1.0.0"))
	r := bento.NewRunner(svc, "model", func() (struct{}, error) { return struct{}{}, nil })
	predict := bento.Method(r, "predict", func(_ struct{}, _ context.Context, in string) (string, error) {
		switch in {
		case "200":
			return in, nil
		case "400":
			return "", bento.BadInputf("bad input")
		case "404":
			return "", bento.NotFound("no such item")
		case "503":
			return "", bento.Unavailable("try later")
		default:
			return "", errors.New("model failed")
		}
	})
	for i := range scrapeAPIs {
		bento.API(svc, fmt.Sprintf("api_%d", i), bento.Text(), bento.Text(),
			func(ctx context.Context, s string) (string, error) { return predict.Run(ctx, s) })
	}
	return svc
}

// startScrapeService starts the service of pair 5 in-process, drives every
// API to answer each status of scrapeCodes and fills the custom metric with
// scrapeCustomSeries series. The custom metric is global (like every
// declared metric), so this may be called once per process.
func startScrapeService(ctx context.Context) (*bento.Server, error) {
	cfg := config.Default()
	cfg.APIServer.HTTP.Host = "127.0.0.1"
	cfg.APIServer.HTTP.Port = 0
	// Declared here, not at package level, so that only this service (and
	// any started after it) registers it.
	custom := metrics.NewCounter(metrics.CounterOpts{
		Name:       "bench_items_processed_total",
		Help:       "Items processed, by item (5 000 series for the scrape benchmark).",
		LabelNames: []string{"item"},
	})
	if err := custom.Err(); err != nil {
		return nil, err
	}
	srv, err := bento.StartHTTP(ctx, scrapeService(), cfg, bento.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	for i := range scrapeCustomSeries {
		custom.WithLabelValues("item_" + strconv.Itoa(i)).Inc()
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for i := range scrapeAPIs {
		for _, code := range scrapeCodes {
			for range 3 {
				resp, err := client.Post(fmt.Sprintf("%s/api_%d", srv.URL(), i), "text/plain", strings.NewReader(strconv.Itoa(code)))
				if err != nil {
					stopServer(srv)
					return nil, err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != code {
					stopServer(srv)
					return nil, fmt.Errorf("api_%d with %d answered %d", i, code, resp.StatusCode)
				}
			}
		}
	}
	return srv, nil
}

func stopServer(srv *bento.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}

// runScrape builds the registry of pair 5 in-process and times scrapes of
// its /metrics over loopback HTTP.
func runScrape(ctx context.Context, o *options) (*scrapeResult, error) {
	srv, err := startScrapeService(ctx)
	if err != nil {
		return nil, err
	}
	defer stopServer(srv)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second}
	res := &scrapeResult{Scrapes: o.scrapes, TargetMs: scrapeTargetMs, CustomSeries: scrapeCustomSeries,
		APIs: scrapeAPIs, StatusesPerAP: len(scrapeCodes)}
	g := srv.Gatherer()
	var gather []float64
	for i := range o.scrapes + 3 {
		t0 := time.Now()
		fams, err := g.Gather()
		el := time.Since(t0)
		if err != nil {
			return nil, fmt.Errorf("gather: %w", err)
		}
		res.Families = len(fams)
		if i >= 3 {
			gather = append(gather, float64(el)/1e6)
		}
	}
	res.GatherMs = median(gather)

	formats := []struct{ name, accept, encoding string }{
		{"text, identity", "", ""},
		{"text, gzip", "", "gzip"},
		{"OpenMetrics, gzip (as Prometheus asks)", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "gzip"},
	}
	for _, f := range formats {
		var times []float64
		size := 0
		for i := range o.scrapes + 3 {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.MetricsURL(), nil)
			if err != nil {
				return nil, err
			}
			if f.accept != "" {
				req.Header.Set("Accept", f.accept)
			}
			if f.encoding != "" {
				req.Header.Set("Accept-Encoding", f.encoding)
			}
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				return nil, err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			el := time.Since(t0)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
			}
			if f.encoding == "" && i == 0 {
				res.Series = countSeries(body)
				if !bytes.Contains(body, []byte(`bench_items_processed_total{item="item_4999"}`)) {
					return nil, errors.New("custom series missing from /metrics")
				}
			}
			if f.encoding != "" && resp.Header.Get("Content-Encoding") != f.encoding {
				return nil, fmt.Errorf("asked for %s, got Content-Encoding %q", f.encoding, resp.Header.Get("Content-Encoding"))
			}
			size = len(body)
			if i >= 3 {
				times = append(times, float64(el)/1e6)
			}
		}
		res.Rows = append(res.Rows, scrapeRow{Format: f.name, MedianMs: median(times),
			P90Ms: percentile(times, 0.9), MaxMs: percentile(times, 1), Bytes: size})
	}
	return res, nil
}

// countSeries counts the sample lines of a text exposition.
func countSeries(body []byte) int {
	n := 0
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		if len(line) > 0 && line[0] != '#' {
			n++
		}
	}
	return n
}

// percentile returns the q-quantile (nearest rank) of xs.
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := make([]int64, len(xs))
	for i, x := range xs {
		s[i] = int64(x * 1e6)
	}
	slices.Sort(s)
	return quantileMs(s, q)
}

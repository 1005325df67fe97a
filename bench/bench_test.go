package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobento/bento"
)

func TestQuantileAndMedian(t *testing.T) {
	sorted := make([]int64, 1000)
	for i := range sorted {
		sorted[i] = int64(i+1) * 1e6 // 1 ms … 1000 ms
	}
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"p50", quantileMs(sorted, 0.5), 500},
		{"p99", quantileMs(sorted, 0.99), 990},
		{"p99.9", quantileMs(sorted, 0.999), 999},
		{"max", quantileMs(sorted, 1), 1000},
		{"empty", quantileMs(nil, 0.5), 0},
		{"median odd", median([]float64{3, 1, 2}), 2},
		{"median even", median([]float64{4, 1, 3, 2}), 2.5},
		{"median none", median(nil), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(*options) bool
	}{
		{"defaults", nil, false, func(o *options) bool { return o.rounds == 7 && o.duration == 2*time.Second && o.want("grpc") }},
		{"quick", []string{"--quick"}, false, func(o *options) bool { return o.rounds == 1 && o.duration == time.Second }},
		{"only", []string{"-only", "echo,scrape"}, false, func(o *options) bool { return o.want("echo") && !o.want("grpc") }},
		{"bad part", []string{"-only", "nope"}, true, nil},
		{"bad rounds", []string{"-rounds", "0"}, true, nil},
		{"extra args", []string{"serve"}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && !tc.check(o) {
				t.Errorf("unexpected options %+v", o)
			}
		})
	}
}

// TestClientsAgainstBareServer drives the bare handlers with both load
// generator clients over loopback and checks responses are verified.
func TestClientsAgainstBareServer(t *testing.T) {
	ts := httptest.NewServer(bareMux())
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	docJSON, err := json.Marshal(jsonPayload())
	if err != nil {
		t.Fatal(err)
	}
	text := []byte(textPayload(100))
	targets := []httpTarget{
		{name: "echo", url: ts.URL + "/echo", addr: addr, path: "/echo", contentType: "text/plain", body: text, want: text},
		{name: "echo_json", url: ts.URL + "/echo_json", addr: addr, path: "/echo_json", contentType: "application/json", body: docJSON, want: docJSON},
		{name: "wrong", url: ts.URL + "/echo", addr: addr, path: "/echo", contentType: "text/plain", body: text, want: []byte("other")},
		{name: "missing", url: ts.URL + "/nope", addr: addr, path: "/nope", contentType: "text/plain", body: text, want: text},
	}
	for _, tgt := range targets {
		for _, raw := range []bool{false, true} {
			name := tgt.name + "/nethttp"
			f, cl := netHTTPFactory(tgt, 2)
			if raw {
				name = tgt.name + "/raw"
				f, cl = rawFactory(tgt), func() {}
			}
			t.Run(name, func(t *testing.T) {
				defer cl()
				st, err := closedLoop(context.Background(), 2, 20*time.Millisecond, 100*time.Millisecond, nil, f)
				if err != nil {
					t.Fatal(err)
				}
				wantErrors := tgt.name == "wrong" || tgt.name == "missing"
				if wantErrors != (st.Errors > 0) || (!wantErrors && st.Requests == 0) {
					t.Errorf("requests %d, errors %d (first %q); want errors: %v", st.Requests, st.Errors, st.FirstErr, wantErrors)
				}
				if !wantErrors && (st.P50ms <= 0 || st.P99ms < st.P50ms) {
					t.Errorf("implausible latencies p50 %v p99 %v", st.P50ms, st.P99ms)
				}
			})
		}
	}
}

func TestBusyTakesItsTime(t *testing.T) {
	start := time.Now()
	_ = busy(3 * time.Millisecond)
	if el := time.Since(start); el < 3*time.Millisecond || el > 50*time.Millisecond {
		t.Errorf("busy(3ms) took %v", el)
	}
}

// BenchmarkScrape measures Gather and a whole /metrics request for the
// registry of pair 5:
//
//	go test -run '^$' -bench Scrape -cpuprofile /tmp/scrape.pprof ./bench
func BenchmarkScrape(b *testing.B) {
	scrapeOnce.Do(func() { scrapeSrv, scrapeErr = startScrapeService(context.Background()) })
	if scrapeErr != nil {
		b.Fatal(scrapeErr)
	}
	b.Run("gather", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := scrapeSrv.Gatherer().Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("http_text", func(b *testing.B) {
		for b.Loop() {
			resp, err := http.Get(scrapeSrv.MetricsURL())
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

var (
	scrapeOnce sync.Once
	scrapeSrv  *bento.Server
	scrapeErr  error
)

// TestSmokeReportHasNoVerdicts checks that a --quick report marks its
// figures as a smoke run and judges no target, while a full run does.
func TestSmokeReportHasNoVerdicts(t *testing.T) {
	side := sideResult{Label: "x", Median: stats{RPS: 1000}}
	tests := []struct {
		name      string
		quick     bool
		want      []string
		wantNever []string
	}{
		{"quick", true, []string{"Smoke run (--quick)", smokeVerdict}, []string{"| met |", "missed"}},
		{"full", false, []string{"**missed**", "| met |"}, []string{"Smoke run", smokeVerdict}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &options{quick: tc.quick, duration: time.Second, rounds: 1}
			rep := newReport(o)
			rep.Pairs = []*pairResult{{ID: "1", Title: "echo", A: side, B: side, Ratio: 0.404, Ratios: []float64{0.404}, Target: 0.95}}
			rep.Scrape = &scrapeResult{TargetMs: 100, Rows: []scrapeRow{{Format: "text", MedianMs: 1}}}
			rep.Batching = &batchingResult{SatBatched: side, SatUnbatched: side, LightRun: side, LightDirect: side, MaxLatencyMs: 50}
			var b strings.Builder
			rep.writeMarkdown(&b)
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantNever {
				if strings.Contains(out, w) {
					t.Errorf("report has %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestHelpExitsZero checks that -h and --help print the usage and are not
// an error.
func TestHelpExitsZero(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		t.Run(arg, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if err := run([]string{arg}, &stdout, &stderr); err != nil {
				t.Errorf("run(%s) = %v", arg, err)
			}
			if !strings.Contains(stderr.String(), "-quick") {
				t.Errorf("no usage printed:\n%s", stderr.String())
			}
		})
	}
}

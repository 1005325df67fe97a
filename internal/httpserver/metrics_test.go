package httpserver

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"identity"}, false},
		{[]string{"br, gzip;q=0.5"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.0"}, false},
		{[]string{"gzip;q=bogus"}, false},
		{[]string{"gzip;q=2"}, false},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"*, gzip;q=0"}, false},
		{[]string{"deflate", "gzip"}, true},
		{[]string{"zstd,identity"}, false},
	} {
		if got := acceptsGzip(tc.header); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

// TestMetricsHandlerEncodings scrapes a real loopback server in every
// format and encoding a scraper may ask for and parses what comes back.
func TestMetricsHandlerEncodings(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enc_test_total", Help: "h"}, []string{"k"})
	reg.MustRegister(c)
	for _, k := range []string{"a", "b", "c"} {
		c.WithLabelValues(k).Add(2)
	}
	srv := httptest.NewServer(MetricsHandler(reg, nil, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	// A transport that leaves Accept-Encoding and decompression to the test.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}

	const om = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
	for _, tc := range []struct {
		name, accept, encoding string
		wantGzip               bool
		wantType               string
	}{
		{"text identity", "", "", false, "text/plain"},
		{"text gzip", "", "gzip", true, "text/plain"},
		{"text gzip refused", "", "gzip;q=0, identity", false, "text/plain"},
		{"openmetrics gzip", om, "gzip", true, "application/openmetrics-text"},
		{"openmetrics identity", om, "", false, "application/openmetrics-text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			if tc.encoding != "" {
				req.Header.Set("Accept-Encoding", tc.encoding)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary = %q", got)
			}
			if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, tc.wantType) {
				t.Errorf("Content-Type = %q, want %s", got, tc.wantType)
			}
			body := io.Reader(resp.Body)
			if got := resp.Header.Get("Content-Encoding"); (got == "gzip") != tc.wantGzip {
				t.Fatalf("Content-Encoding = %q, want gzip: %v", got, tc.wantGzip)
			}
			if tc.wantGzip {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = zr
			}
			raw, err := io.ReadAll(body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantType != "text/plain" {
				if !strings.HasSuffix(string(raw), "# EOF\n") {
					t.Fatalf("OpenMetrics body does not end with # EOF:\n%s", raw)
				}
				return // expfmt has no OpenMetrics parser; the trailer proves a complete body
			}
			dec := expfmt.NewDecoder(strings.NewReader(string(raw)), expfmt.NewFormat(expfmt.TypeTextPlain))
			n := 0
			for {
				var mf dto.MetricFamily
				if err := dec.Decode(&mf); err != nil {
					if err == io.EOF {
						break
					}
					t.Fatalf("parsing the exposition: %v\n%s", err, raw)
				}
				if mf.GetName() == "enc_test_total" {
					n = len(mf.GetMetric())
				}
			}
			if n != 3 {
				t.Fatalf("enc_test_total has %d series, want 3:\n%s", n, raw)
			}
		})
	}
}

// An aborted scrape logs one line at most, not one per family.
func TestAbortedScrapeLogsOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	for i := range 50 {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: fmt.Sprintf("g%d", i), Help: "h"})
		reg.MustRegister(g)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := MetricsHandler(reg, nil, log)
	rec := &failingWriter{header: http.Header{}}
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if n := strings.Count(logs.String(), "\n"); n > 1 {
		t.Errorf("%d log lines for one aborted scrape:\n%s", n, logs.String())
	}
	if rec.writes > 1 {
		t.Errorf("%d writes after the first failed", rec.writes-1)
	}
}

// failingWriter is a ResponseWriter whose every write fails, as on a
// connection the scraper closed.
type failingWriter struct {
	header http.Header
	writes int
}

func (f *failingWriter) Header() http.Header { return f.header }
func (f *failingWriter) WriteHeader(int)     {}
func (f *failingWriter) Write([]byte) (int, error) {
	f.writes++
	return 0, errors.New("write: broken pipe")
}

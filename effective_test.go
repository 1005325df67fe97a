package bento_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
)

// tunedService has one runner whose batch method sets its batching in
// code, and a plain method.
func tunedService() *bento.Service {
	svc := bento.NewService("tuned")
	r := bento.NewRunner(svc, "clf", func() (int, error) { return 0, nil }, bento.Workers(2))
	bento.BatchMethod(r, "predict", func(_ int, _ context.Context, in []int) ([]int, error) { return in, nil },
		bento.MaxBatchSize(100), bento.MaxLatency(20*time.Millisecond))
	bento.Method(r, "explain", func(_ int, _ context.Context, in int) (int, error) { return in, nil })
	return svc
}

// TestConfigCommandEffective checks that `config` prints the values each
// runner and method runs with, and where each comes from.
func TestConfigCommandEffective(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bentoml.yaml")
	if err := os.WriteFile(file, []byte("version: 1\nrunners:\n  traffic:\n    timeout: 30\n  clf:\n    batching:\n      max_latency_ms: 500\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		options string
		want    []string
	}{
		{"defaults and code", []string{"config"}, "", []string{
			"# runners.clf:",
			"#   workers: 2 ", "# code: Workers(2)\n",
			"#   batching.enabled: true ", "# default\n",
			"#   method predict:",
			"#     batching.max_batch_size: 100 ", "# code: MaxBatchSize(100)\n",
			"#     batching.max_latency_ms: 20 ", "# code: MaxLatency(20ms)\n",
			"#   method explain:", "#     batchable: false",
		}},
		{"the environment overrides code", []string{"config"}, "runners.clf.batching.max_batch_size=32", []string{
			"max_batch_size: 32\n", // the configuration as loaded
			"#     batching.max_batch_size: 32 ", "# env BENTOML_CONFIG_OPTIONS; overrides MaxBatchSize(100) in code",
		}},
		{"file values, one overriding code", []string{"config", "--config", file}, "", []string{
			"#   traffic.timeout: 30 ", "# file " + file + " line 4\n",
			"#     batching.max_latency_ms: 500 ", "# file " + file + " line 7; overrides MaxLatency(20ms) in code",
		}},
		{"a flag", []string{"config", "--timeout", "5"}, "runners.traffic.timeout=7", []string{
			"#   traffic.timeout: 5 ", "# flag --timeout\n",
		}},
		{"the configuration overrides code for workers too", []string{"config"}, "runners.workers=3", []string{
			"#   workers: 3 ", "# env BENTOML_CONFIG_OPTIONS; overrides Workers(2) in code",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BENTOML_CONFIG_OPTIONS", tc.options)
			var out, logs strings.Builder
			if err := bento.Execute(context.Background(), tunedService(), tc.args, &out, &logs); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("config output lacks %q:\n%s", w, out.String())
				}
			}
			if _, err := config.Parse([]byte(out.String()), "output"); err != nil {
				t.Errorf("config output is not a valid configuration: %v", err)
			}
		})
	}
}

// TestOverrideWarnings checks that a server logs one warning for each
// value given in code that the configuration overrides, and none otherwise.
func TestOverrideWarnings(t *testing.T) {
	tests := []struct {
		name    string
		options string
		want    []string // one warning each
	}{
		{"nothing overridden", "runners.traffic.timeout=5 runners.batching.enabled=true", nil},
		{"per-runner key", "runners.clf.batching.max_batch_size=32", []string{
			`key=runners.clf.batching.max_batch_size value=32 set_in="env BENTOML_CONFIG_OPTIONS" runner=clf method=predict code=MaxBatchSize(100)`}},
		{"workers", "runners.workers=1", []string{
			`key=runners.workers value=1 set_in="env BENTOML_CONFIG_OPTIONS" runner=clf method="" code=Workers(2)`}},
		{"global keys", "runners.batching.max_batch_size=8 runners.batching.max_latency_ms=1000", []string{
			"key=runners.batching.max_batch_size value=8 ",
			"key=runners.batching.max_latency_ms value=1000 ",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if err := config.ApplyOptions(cfg, tc.options); err != nil {
				t.Fatal(err)
			}
			var logs lockedBuffer
			srv, err := bento.StartHTTP(context.Background(), tunedService(), cfg, bento.Logger(slogTo(&logs)))
			if err != nil {
				t.Fatal(err)
			}
			shutdown(t, srv)
			got := strings.Count(logs.String(), "option given in code overridden by the configuration")
			if got != len(tc.want) {
				t.Errorf("%d override warnings, want %d:\n%s", got, len(tc.want), logs.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, logs.String())
				}
			}
		})
	}
}

// slogTo returns a text logger writing to w.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// The one precedence rule at run time: a batch size set in the
// configuration bounds the batches of a method whose code says
// MaxBatchSize(100).
func TestConfigurationOverridesCodeAtRunTime(t *testing.T) {
	svc := bento.NewService("tuned_run")
	r := bento.NewRunner(svc, "clf", func() (int, error) { return 0, nil })
	m := bento.BatchMethod(r, "predict", func(_ int, _ context.Context, in []int) ([]int, error) {
		time.Sleep(time.Millisecond)
		return in, nil
	}, bento.MaxBatchSize(100), bento.MaxLatency(5*time.Second))
	bento.API(svc, "predict", bento.JSON[int](), bento.JSON[int](), m.Run)
	cfg := testConfig(t)
	if err := config.ApplyOptions(cfg, "runners.clf.batching.max_batch_size=2"); err != nil {
		t.Fatal(err)
	}
	srv := relStartHTTP(t, svc, cfg)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if st, _, err := relSend(http.DefaultClient, "POST", srv.URL()+"/predict", "application/json", []byte(strconv.Itoa(i))); err != nil || st != 200 {
				t.Errorf("predict: %d %v", st, err)
			}
		})
	}
	wg.Wait()
	fams := relSettledScrape(t, srv.MetricsURL())
	f := fams["bentoml_runner_adaptive_batch_size"]
	if f == nil {
		t.Fatal("no bentoml_runner_adaptive_batch_size")
	}
	var total, upTo2 uint64
	for _, m := range f.GetMetric() {
		h := m.GetHistogram()
		total += h.GetSampleCount()
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == 2 {
				upTo2 += b.GetCumulativeCount()
			}
		}
	}
	if total == 0 || upTo2 != total {
		t.Errorf("%d of %d batches of at most 2 items, want all: the configuration's max_batch_size=2 must win over MaxBatchSize(100)", upTo2, total)
	}
}

package onnx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
	"github.com/gobento/bento/onnx"
)

func testConfig() *config.Config {
	cfg := config.Default()
	cfg.APIServer.HTTP.Host = "127.0.0.1"
	cfg.APIServer.HTTP.Port = 0
	return cfg
}

// start serves svc on loopback until the test ends.
func start(t testing.TB, svc *bento.Service) *bento.Server {
	t.Helper()
	srv, err := bento.StartHTTP(context.Background(), svc, testConfig(), bento.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("StartHTTP: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return srv
}

// rowsAPI declares an API that sends a [][]float32 request to the runner
// as one [rows, cols] tensor and answers with the first output's rows.
func rowsAPI(svc *bento.Service, r *onnx.Runner) {
	bento.API(svc, "predict", bento.NDArray[[][]float32](), bento.NDArray[[][]float32](),
		func(ctx context.Context, rows [][]float32) ([][]float32, error) {
			var flat []float32
			for _, row := range rows {
				flat = append(flat, row...)
			}
			cols := 0
			if len(rows) > 0 {
				cols = len(rows[0])
			}
			x, err := onnx.NewTensor(flat, int64(len(rows)), int64(cols))
			if err != nil {
				return nil, bento.BadInput(err)
			}
			out, err := r.Run(ctx, x)
			if err != nil {
				return nil, err
			}
			y, err := onnx.Data[float32](out[0])
			if err != nil {
				return nil, err
			}
			res := make([][]float32, out[0].Shape()[0])
			for i := range res {
				res[i] = y[i*cols : (i+1)*cols]
			}
			return res, nil
		})
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRunnerHTTP(t *testing.T) {
	svc := bento.NewService("onnx_http")
	r := onnx.NewRunner(svc, "identity", onnx.File(filepath.Join("testdata", "identity_float32.onnx")), &onnx.RunnerOptions{Workers: 2})
	rowsAPI(svc, r)
	srv := start(t, svc)
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"one row", `[[1,2,3]]`, 200, `[[1,2,3]]`},
		{"two rows", `[[1,2,3],[4,5,6]]`, 200, `[[1,2,3],[4,5,6]]`},
		{"wrong width", `[[1,2,3,4]]`, 400, `input \"x\": expected float32[? 3], got float32[1 4]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, srv.URL()+"/predict", tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("status %d body %s; want %d containing %s", status, body, tt.status, tt.want)
			}
		})
	}
	if r.Model() == nil || r.Model().FileName() != "identity_float32.onnx" {
		t.Errorf("Model() = %v", r.Model())
	}
	fams, err := srv.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["runner_name"] != "identity" {
				continue
			}
			switch f.GetName() {
			case "gobento_model_info":
				want := map[string]string{"model_file": "identity_float32.onnx", "opset": "17", "runtime": "onnxruntime",
					"runtime_version": "1.30.0", "execution_provider": "CPU"}
				for k, v := range want {
					if labels[k] != v {
						t.Errorf("gobento_model_info %s=%q, want %q", k, labels[k], v)
					}
				}
				if len(labels["model_sha256"]) != 12 {
					t.Errorf("model_sha256 %q", labels["model_sha256"])
				}
				found[f.GetName()] = true
			case "gobento_model_load_duration_seconds":
				if c := m.GetHistogram().GetSampleCount(); c < 2 {
					t.Errorf("%s{phase=%s} count %d, want one per worker", f.GetName(), labels["phase"], c)
				}
				found[f.GetName()+"/"+labels["phase"]] = true
			}
		}
	}
	for _, k := range []string{"gobento_model_info", "gobento_model_load_duration_seconds/load", "gobento_model_load_duration_seconds/warmup"} {
		if !found[k] {
			t.Errorf("%s missing from /metrics", k)
		}
	}
}

func TestRunnerCorruptModel(t *testing.T) {
	for _, name := range []string{"corrupt.onnx", "does_not_exist.onnx"} {
		t.Run(name, func(t *testing.T) {
			svc := bento.NewService("onnx_corrupt")
			path := filepath.Join("testdata", name)
			onnx.NewRunner(svc, "broken", onnx.File(path), nil)
			srv, err := bento.StartHTTP(context.Background(), svc, testConfig(), bento.Logger(slog.New(slog.DiscardHandler)))
			if err == nil {
				srv.Shutdown(context.Background())
				t.Fatal("service started with a corrupt model")
			}
			var me *onnx.ModelError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `runner "broken"`) {
				t.Errorf("err = %v, want a ModelError naming %s and the runner", err, path)
			}
		})
	}
}

// TestRunnerBatchKeepsCallers sends many concurrent calls of different
// sizes through the batched runner: each caller gets exactly its own rows.
func TestRunnerBatchKeepsCallers(t *testing.T) {
	svc := bento.NewService("onnx_batch")
	r := onnx.NewRunner(svc, "sum", onnx.File(filepath.Join("testdata", "two_in_two_out.onnx")),
		&onnx.RunnerOptions{Workers: 2, MaxBatchSize: 16, MaxLatency: 5 * time.Second})
	srv := start(t, svc)
	const callers = 200
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Go(func() {
			rows := c%4 + 1
			a := make([]float32, rows*3)
			b := make([]float32, rows*3)
			for i := range a {
				a[i] = float32(c*100 + i)
				b[i] = 1
			}
			ta, _ := onnx.NewTensor(a, int64(rows), 3)
			tb, _ := onnx.NewTensor(b, int64(rows), 3)
			out, err := r.Run(context.Background(), ta, tb)
			if err != nil {
				errs <- err
				return
			}
			sum, _ := onnx.Data[float32](out[0])
			total, _ := onnx.Data[float32](out[1])
			if len(sum) != rows*3 || len(total) != rows {
				errs <- fmt.Errorf("caller %d: %d sums, %d totals for %d rows", c, len(sum), len(total), rows)
				return
			}
			for i := range sum {
				if sum[i] != a[i]+1 {
					errs <- fmt.Errorf("caller %d: sum[%d] = %v, want %v", c, i, sum[i], a[i]+1)
					return
				}
			}
			for i := range total {
				if want := a[3*i] + a[3*i+1] + a[3*i+2] + 3; total[i] != want {
					errs <- fmt.Errorf("caller %d: total[%d] = %v, want %v", c, i, total[i], want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	batches := 0.0
	fams, _ := srv.Gatherer().Gather()
	for _, f := range fams {
		if f.GetName() == "bentoml_runner_adaptive_batch_size" {
			for _, m := range f.GetMetric() {
				batches += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Logf("%d calls ran in %.0f batches", callers, batches)
	if batches == 0 || batches > callers {
		t.Errorf("%v batches for %d calls", batches, callers)
	}
}

func TestRunBatch(t *testing.T) {
	ctx := context.Background()
	row := func(v ...float32) onnx.Tensor { return mustTensor(t, v, 1, int64(len(v))) }
	rows := func(n int64, v ...float32) onnx.Tensor { return mustTensor(t, v, n, int64(len(v))/n) }
	tests := []struct {
		name  string
		model string
		items [][]onnx.Tensor
		want  [][]float32 // first output of each item
		shape []onnx.Shape
	}{
		{"dynamic batch merges", "identity_float32.onnx",
			[][]onnx.Tensor{{row(1, 2, 3)}, {rows(2, 4, 5, 6, 7, 8, 9)}, {row(0, 0, 1)}},
			[][]float32{{1, 2, 3}, {4, 5, 6, 7, 8, 9}, {0, 0, 1}}, []onnx.Shape{{1, 3}, {2, 3}, {1, 3}}},
		{"different lengths are grouped", "sequence.onnx",
			[][]onnx.Tensor{{row(1, 2)}, {row(1, 2, 3)}, {row(3, 4)}, {rows(2, 1, 1, 1, 2, 2, 2)}},
			[][]float32{{2, 4}, {2, 4, 6}, {6, 8}, {2, 2, 2, 4, 4, 4}}, []onnx.Shape{{1, 2}, {1, 3}, {1, 2}, {2, 3}}},
		{"fixed batch runs item by item", "fixed_batch.onnx",
			[][]onnx.Tensor{{rows(2, 1, 2, 3, 4, 5, 6)}, {rows(2, 0, 0, 0, 1, 1, 1)}},
			[][]float32{{2, 4, 6, 8, 10, 12}, {0, 0, 0, 2, 2, 2}}, []onnx.Shape{{2, 3}, {2, 3}}},
		{"output without batch axis runs item by item", "not_batch_axis.onnx",
			[][]onnx.Tensor{{row(1, 2, 3)}, {rows(2, 1, 1, 1, 1, 1, 1)}},
			[][]float32{{6}, {6}}, []onnx.Shape{{1}, {1}}},
		{"empty batch", "identity_float32.onnx", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := load(t, tt.model)
			out, err := s.RunBatch(ctx, tt.items)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(tt.items) {
				t.Fatalf("%d results for %d items", len(out), len(tt.items))
			}
			for i := range out {
				got, _ := onnx.Data[float32](out[i][0])
				if !slices.Equal(got, tt.want[i]) || !slices.Equal(out[i][0].Shape(), tt.shape[i]) {
					t.Errorf("item %d: %v %v, want %v %v", i, got, out[i][0].Shape(), tt.want[i], tt.shape[i])
				}
			}
		})
	}
	t.Run("bad item names it", func(t *testing.T) {
		s := load(t, "identity_float32.onnx")
		_, err := s.RunBatch(ctx, [][]onnx.Tensor{{row(1, 2, 3)}, {row(1, 2)}})
		var be *bento.Error
		if !errors.As(err, &be) || be.Status != 400 || !strings.Contains(err.Error(), "item 1") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestRunnerConcurrentWorkers runs calls from many goroutines across
// workers (meant for -race), without and with batching.
func TestRunnerConcurrentWorkers(t *testing.T) {
	for _, disable := range []bool{false, true} {
		t.Run(fmt.Sprintf("batching=%v", !disable), func(t *testing.T) {
			svc := bento.NewService("onnx_race")
			r := onnx.NewRunner(svc, "identity", onnx.File(filepath.Join("testdata", "identity_int64.onnx")),
				&onnx.RunnerOptions{Workers: 3, DisableBatching: disable})
			start(t, svc)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 50 {
						v := []int64{int64(g), int64(i), -1}
						out, err := r.Run(context.Background(), mustTensor(t, v, 1, 3))
						if err != nil {
							t.Error(err)
							return
						}
						if got, _ := onnx.Data[int64](out[0]); !slices.Equal(got, v) {
							t.Errorf("got %v, want %v", got, v)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// TestRunnerStable checks that 10 000 calls leave goroutines and heap flat.
func TestRunnerStable(t *testing.T) {
	if testing.Short() {
		t.Skip("10 000 calls; skipped with -short")
	}
	svc := bento.NewService("onnx_stable")
	r := onnx.NewRunner(svc, "identity", onnx.File(filepath.Join("testdata", "identity_float32.onnx")), &onnx.RunnerOptions{Workers: 2})
	start(t, svc)
	x := mustTensor(t, []float32{1, 2, 3}, 1, 3)
	call := func(n int) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range n / 8 {
					if _, err := r.Run(context.Background(), x); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	call(1000) // warm up pools and caches
	g0, h0 := runtime.NumGoroutine(), heap()
	call(10_000)
	time.Sleep(50 * time.Millisecond)
	g1, h1 := runtime.NumGoroutine(), heap()
	t.Logf("goroutines %d → %d, heap %d KiB → %d KiB", g0, g1, h0>>10, h1>>10)
	if g1 > g0+2 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if h1 > h0+4<<20 {
		t.Errorf("heap grew from %d KiB to %d KiB", h0>>10, h1>>10)
	}
}

// TestModelInfoForgottenOnStop checks that a stopped runner's model is no
// longer reported in gobento_model_info.
func TestModelInfoForgottenOnStop(t *testing.T) {
	svc := bento.NewService("onnx_info_stop")
	onnx.NewRunner(svc, "info_stop", onnx.File(filepath.Join("testdata", "identity_uint8.onnx")), &onnx.RunnerOptions{Workers: 2})
	srv, err := bento.StartHTTP(context.Background(), svc, testConfig(), bento.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		fams, err := srv.Gatherer().Gather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range fams {
			if f.GetName() != "gobento_model_info" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "runner_name" && l.GetValue() == "info_stop" {
						n++
					}
				}
			}
		}
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("%d gobento_model_info series while serving, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("%d gobento_model_info series after stop, want 0", n)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
	"github.com/gobento/bento/onnx"
)

// Targets of the ONNX part (issue 12).
const (
	onnxSpeedupTarget = 5.0 // ONNX Runtime build req/s over the onnx-go build
	onnxRunRatioLimit = 1.2 // Go Run time over ONNX Runtime's own model_run time
	onnxBatchTarget   = 1.5 // batched items/s over batch size 1
	onnxRSSRequests   = 10_000
)

// onnxResult is what the ONNX part measured besides its HTTP pair.
type onnxResult struct {
	// Run vs ONNX Runtime's own timing of the same runs (one MNIST digit).
	RunIterations int     `json:"run_iterations"`
	GoRunP50us    float64 `json:"go_run_p50_us"`
	GoRunMeanUs   float64 `json:"go_run_mean_us"`
	ORTRunP50us   float64 `json:"ort_model_run_p50_us"`
	ORTRunMeanUs  float64 `json:"ort_model_run_mean_us"`
	RunRatio      float64 `json:"ratio_go_to_ort_p50"`
	// Go Run without the profiler, to compare with an outside timing
	// (bench/ort_python_timing.py).
	PlainRunP50us  float64 `json:"go_run_no_profiler_p50_us"`
	PlainRunMeanUs float64 `json:"go_run_no_profiler_mean_us"`
	// Batching: the runner's items/s with batching vs every call alone.
	BatchConc    int        `json:"batch_callers"`
	Batching     []batchRow `json:"batching"`
	RSS          []rssRow   `json:"rss"`
	PerWorkerMiB float64    `json:"rss_per_extra_worker_mib"`
}

// batchRow is one model's batched vs unbatched runner throughput.
type batchRow struct {
	Model     string     `json:"model"`
	Batched   sideResult `json:"batched"`
	Unbatched sideResult `json:"unbatched"`
	Ratio     float64    `json:"ratio_batched_items"`
	Ratios    []float64  `json:"ratios_per_round"`
}

// rssRow is the image example's memory with a given worker count.
type rssRow struct {
	Workers  int   `json:"workers"`
	Started  int64 `json:"rss_started_bytes"`
	After    int64 `json:"rss_after_bytes"`
	Requests int   `json:"requests"`
}

// digitPNG is examples/image_classifier/testdata/digit_7.png scaled to the
// MNIST size (28×28) with a box filter: a real upload of an MNIST digit, so
// the servers' time goes to the model rather than to resizing a large image.
func digitPNG(root string) ([]byte, error) {
	f, err := os.Open(filepath.Join(root, "examples", "image_classifier", "testdata", "digit_7.png"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := png.Decode(f)
	if err != nil {
		return nil, err
	}
	const size = 28
	b := src.Bounds()
	fx, fy := b.Dx()/size, b.Dy()/size
	dst := image.NewGray(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			var sum uint32
			for yy := range fy {
				for xx := range fx {
					sum += uint32(color.GrayModel.Convert(src.At(b.Min.X+x*fx+xx, b.Min.Y+y*fy+yy)).(color.Gray).Y)
				}
			}
			dst.SetGray(x, y, color.Gray{Y: uint8(sum / uint32(fx*fy))})
		}
	}
	var buf bytes.Buffer
	err = png.Encode(&buf, dst)
	return buf.Bytes(), err
}

// fetchDigit posts the PNG once and returns the answer body, checking it is a 7.
func fetchDigit(url string, body []byte) ([]byte, error) {
	resp, err := http.Post(url+"/predict", "image/png", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var p struct{ Digit int }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &p) != nil || p.Digit != 7 {
		return nil, fmt.Errorf("POST /predict: %s: %s (want digit 7)", resp.Status, b)
	}
	return b, nil
}

// onnxPairs runs pair 7 (image_classifier on ONNX Runtime vs the onnx-go
// build) and the memory measurement, as separate server processes.
func (b *bench) onnxPairs(ctx context.Context) error {
	o := b.o
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	bins := map[string]string{"onnxruntime": filepath.Join(b.tmp, "image_ort"), "onnx-go": filepath.Join(b.tmp, "image_onnxgo")}
	for name, bin := range bins {
		args := []string{"build", "-o", bin}
		if name == "onnx-go" {
			args = append(args, "-tags", "onnxgo")
		}
		b.logf("building examples/image_classifier (%s)", name)
		build := exec.CommandContext(ctx, "go", append(args, "./examples/image_classifier")...)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./examples/image_classifier (%s): %w\n%s", name, err, out)
		}
	}
	img, err := digitPNG(root)
	if err != nil {
		return err
	}
	start := func(name, bin string, env ...string) (*server, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		return b.startServer(ctx, name, bin, []string{"serve-http", "--host", "127.0.0.1", "--port", strconv.Itoa(port)}, env, port, httpReady("/readyz"))
	}
	var errs []error
	side := func(label string, s *server) (side, func(), error) {
		want, err := fetchDigit(s.url, img)
		if err != nil {
			return side{}, nil, fmt.Errorf("%s: %w", label, err)
		}
		t := httpTarget{name: label, url: s.url + "/predict", addr: s.addr, path: "/predict",
			contentType: "image/png", body: img, want: want}
		f, cl := b.httpFactory(t, o.conns)
		return side{label: label, srv: s, conc: o.conns, factory: f}, cl, nil
	}
	ortSrv, err := start("image-ort", bins["onnxruntime"])
	if err != nil {
		return err
	}
	goSrv, err := start("image-onnxgo", bins["onnx-go"])
	if err != nil {
		return err
	}
	a, ca, err := side("ONNX Runtime, batched", ortSrv)
	if err != nil {
		return err
	}
	defer ca()
	bs, cb, err := side("onnx-go (-tags onnxgo)", goSrv)
	if err != nil {
		return err
	}
	defer cb()
	b.logf("pair 7-mnist: image_classifier /predict, ONNX Runtime vs onnx-go")
	r, err := b.runPair(ctx, "7-mnist", "image_classifier /predict (28×28 PNG): ONNX Runtime build vs onnx-go build", onnxSpeedupTarget, a, bs)
	if err != nil {
		errs = append(errs, err)
	}
	if r != nil {
		b.rep.Pairs = append(b.rep.Pairs, r)
	}
	errs = append(errs, b.stopServer(ortSrv), b.stopServer(goSrv))

	// Memory: RSS after 10 000 requests with 1, 2 and 4 workers.
	res := b.onnxResult()
	for _, workers := range []int{1, 2, 4} {
		if ctx.Err() != nil {
			break
		}
		s, err := start(fmt.Sprintf("image-ort-w%d", workers), bins["onnxruntime"],
			fmt.Sprintf("BENTOML_CONFIG_OPTIONS=runners.mnist.workers=%d", workers))
		if err != nil {
			errs = append(errs, err)
			break
		}
		row := rssRow{Workers: workers, Requests: onnxRSSRequests}
		row.Started, _ = procStatusKB(s.cmd.Process.Pid, "VmRSS:")
		if err := hammer(ctx, s.url, img, onnxRSSRequests, 16); err != nil {
			errs = append(errs, fmt.Errorf("rss, %d workers: %w", workers, err))
		}
		row.After, err = procStatusKB(s.cmd.Process.Pid, "VmRSS:")
		if err != nil {
			errs = append(errs, err)
		}
		b.logf("rss: %d workers, %s MiB at start, %s MiB after %d requests", workers, mib(row.Started), mib(row.After), onnxRSSRequests)
		res.RSS = append(res.RSS, row)
		errs = append(errs, b.stopServer(s))
	}
	if n := len(res.RSS); n >= 2 {
		first, last := res.RSS[0], res.RSS[n-1]
		res.PerWorkerMiB = float64(last.After-first.After) / float64(last.Workers-first.Workers) / (1 << 20)
	}
	return errors.Join(errs...)
}

// stopServer stops s now and forgets it, so the end-of-pairs cleanup does
// not stop it twice.
func (b *bench) stopServer(s *server) error {
	b.servers = slices.DeleteFunc(b.servers, func(x *server) bool { return x == s })
	return s.stop()
}

// hammer sends n PNG uploads from conc goroutines and checks every answer.
func hammer(ctx context.Context, url string, img []byte, n, conc int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, conc)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	for range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				resp, err := client.Post(url+"/predict", "image/png", bytes.NewReader(img))
				if err != nil {
					errc <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errc <- fmt.Errorf("POST /predict: %s", resp.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func (b *bench) onnxResult() *onnxResult {
	if b.rep.ONNX == nil {
		b.rep.ONNX = &onnxResult{}
	}
	return b.rep.ONNX
}

// runONNXModel measures, in-process on every CPU, the Go binding's Run
// against ONNX Runtime's own timing, and the batched runner's items/s
// against batch size 1.
func (b *bench) runONNXModel(ctx context.Context) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	path := filepath.Join(root, "examples", "image_classifier", "mnist-dynamic.onnx")
	res := b.onnxResult()
	if err := b.onnxRunVsORT(path, res); err != nil {
		return err
	}
	res.BatchConc = 64
	iris := []float32{5.9, 3.0, 5.1, 1.8}
	for _, m := range []struct {
		name, path string
		input      func(i int) onnx.Tensor
	}{
		{"mnist-dynamic.onnx (CNN, ~30 µs of compute per digit)", path, func(i int) onnx.Tensor { return digitTensor(uint64(i)) }},
		{"iris_logreg.onnx (scikit-learn, ~1 µs per row)", filepath.Join(root, "examples", "iris_onnx", "iris_logreg.onnx"),
			func(int) onnx.Tensor { t, _ := onnx.NewTensor(iris, 1, 4); return t }},
	} {
		row, err := b.onnxBatching(ctx, m.path, res.BatchConc, m.input)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		row.Model = m.name
		res.Batching = append(res.Batching, row)
	}
	return nil
}

// digitTensor is one MNIST-shaped input of pseudo-random pixel values.
func digitTensor(seed uint64) onnx.Tensor {
	rng := rand.New(rand.NewPCG(seed, 12))
	px := make([]float32, 28*28)
	for i := range px {
		px[i] = float32(rng.IntN(256))
	}
	t, _ := onnx.NewTensor(px, 1, 1, 28, 28)
	return t
}

// onnxRunVsORT times Session.Run on one digit (IntraOpThreads 1) with ONNX
// Runtime's profiler on, then reads the profiler's "model_run" durations —
// ONNX Runtime timing the same runs from inside, in C++ — and compares the
// medians. The profiler's cost is inside both numbers.
func (b *bench) onnxRunVsORT(path string, res *onnxResult) error {
	iters := 3000
	if b.o.quick {
		iters = 300
	}
	m, err := onnx.ReadModel(path)
	if err != nil {
		return err
	}
	prefix := filepath.Join(b.tmp, "ort-profile")
	s, err := m.NewSession(&onnx.Options{IntraOpThreads: 1, InterOpThreads: 1, ProfilePrefix: prefix})
	if err != nil {
		return err
	}
	x := digitTensor(1)
	const warm = 100
	var wall []float64
	for i := range iters + warm {
		t0 := time.Now()
		if _, err := s.Run(context.Background(), x); err != nil {
			s.Close()
			return err
		}
		if i >= warm {
			wall = append(wall, float64(time.Since(t0).Nanoseconds())/1e3)
		}
	}
	if err := s.Close(); err != nil {
		return err
	}
	files, _ := filepath.Glob(prefix + "*.json")
	if len(files) != 1 {
		return fmt.Errorf("onnx: expected one profile file, found %q", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	var events []struct {
		Name string  `json:"name"`
		Dur  float64 `json:"dur"`
	}
	if err := json.Unmarshal(raw, &events); err != nil {
		return fmt.Errorf("onnx profile: %w", err)
	}
	var ort []float64
	for _, e := range events {
		if e.Name == "model_run" {
			ort = append(ort, e.Dur)
		}
	}
	if len(ort) != iters+warm {
		return fmt.Errorf("onnx profile: %d model_run events for %d runs", len(ort), iters+warm)
	}
	ort = ort[warm:]
	res.RunIterations = iters
	res.GoRunP50us, res.GoRunMeanUs = median(wall), mean(wall)
	res.ORTRunP50us, res.ORTRunMeanUs = median(ort), mean(ort)
	res.RunRatio = res.GoRunP50us / res.ORTRunP50us

	plain, err := m.NewSession(&onnx.Options{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		return err
	}
	defer plain.Close()
	wall = wall[:0]
	for i := range iters + warm {
		t0 := time.Now()
		if _, err := plain.Run(context.Background(), x); err != nil {
			return err
		}
		if i >= warm {
			wall = append(wall, float64(time.Since(t0).Nanoseconds())/1e3)
		}
	}
	res.PlainRunP50us, res.PlainRunMeanUs = median(wall), mean(wall)
	b.logf("onnx: Run p50 %.1f µs, ONNX Runtime model_run p50 %.1f µs (ratio %.3f)", res.GoRunP50us, res.ORTRunP50us, res.RunRatio)
	return nil
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}

// onnxBatching compares the ready-made runner (2 workers) with batching on
// and off, under 64 closed-loop callers of one digit each.
func (b *bench) onnxBatching(ctx context.Context, path string, conc int, input func(int) onnx.Tensor) (batchRow, error) {
	var res batchRow
	start := func(disable bool) (*bento.Server, *onnx.Runner, error) {
		svc := bento.NewService("onnx_bench")
		r := onnx.NewRunner(svc, "mnist", onnx.File(path), &onnx.RunnerOptions{Workers: 2, MaxBatchSize: 64,
			MaxLatency: 5 * time.Second, DisableBatching: disable})
		cfg := config.Default()
		cfg.APIServer.HTTP.Host = "127.0.0.1"
		cfg.APIServer.HTTP.Port = 0
		srv, err := bento.StartHTTP(ctx, svc, cfg, bento.Logger(slog.New(slog.DiscardHandler)))
		return srv, r, err
	}
	stop := func(srv *bento.Server) {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}
	res.Batched.Label, res.Unbatched.Label = "batched (max 64)", "batch size 1 (batching off)"
	// At most 3 rounds per model: the in-process ratio is steadier than the
	// server pairs', and the whole run should stay near 5 minutes.
	for round := range min(b.o.rounds, 3) {
		got := map[bool]stats{}
		order := []bool{false, true}
		if round%2 == 1 {
			order = []bool{true, false}
		}
		for _, disable := range order {
			srv, r, err := start(disable)
			if err != nil {
				return res, err
			}
			inputs := make([]onnx.Tensor, conc)
			for i := range inputs {
				inputs[i] = input(i)
			}
			factory := func(i int) (callFunc, func(), error) {
				x := inputs[i]
				return func(ctx context.Context) error {
					out, err := r.Run(ctx, x)
					if err != nil {
						return err
					}
					if s := out[0].Shape(); len(s) == 0 || s[0] != 1 {
						return fmt.Errorf("caller %d got shape %v", i, s)
					}
					return nil
				}, nil, nil
			}
			st, err := closedLoop(ctx, conc, b.o.warmup, b.o.duration, nil, factory)
			stop(srv)
			if err != nil {
				return res, err
			}
			got[disable] = st
			b.logf("onnx batching %s round %d, batching off=%v: %.0f items/s, p50 %.3f ms", filepath.Base(path), round+1, disable, st.RPS, st.P50ms)
		}
		res.Batched.Rounds = append(res.Batched.Rounds, got[false])
		res.Unbatched.Rounds = append(res.Unbatched.Rounds, got[true])
		if got[true].RPS > 0 {
			res.Ratios = append(res.Ratios, got[false].RPS/got[true].RPS)
		}
	}
	res.Batched.Median = medianStats(res.Batched.Rounds)
	res.Unbatched.Median = medianStats(res.Unbatched.Rounds)
	res.Ratio = median(res.Ratios)
	return res, nil
}

// writeONNX prints the ONNX part of the report.
func (r *onnxResult) writeMarkdown(p func(string, ...any), verdict func(bool) string) {
	p("### Part 8: ONNX Runtime (in-process, every CPU)\n\n")
	if r.RunIterations > 0 {
		p("One MNIST digit (mnist-dynamic.onnx, batch 1, IntraOpThreads 1), %d timed runs after 100 warm-up runs, ONNX Runtime's profiler on: "+
			"the Go side is the wall time of `Session.Run` (tensor creation, cgo call, output copy); ONNX Runtime's own time is the `model_run` "+
			"event its profiler records inside the C++ `Run` for the same runs.\n\n", r.RunIterations)
		p("| Measure | p50 µs | mean µs |\n|---|---:|---:|\n")
		p("| Go `Session.Run` (profiler on) | %.1f | %.1f |\n| ONNX Runtime `model_run` (profiler on, same runs) | %.1f | %.1f |\n", r.GoRunP50us, r.GoRunMeanUs, r.ORTRunP50us, r.ORTRunMeanUs)
		p("| Go `Session.Run`, profiler off (compare with `python bench/ort_python_timing.py`) | %.1f | %.1f |\n\n", r.PlainRunP50us, r.PlainRunMeanUs)
	}
	p("| Check | measured | target | verdict |\n|---|---:|---|---|\n")
	if r.RunIterations > 0 {
		p("| Go Run / ONNX Runtime model_run (p50) | %.3f | ≤ %.1f | %s |\n", r.RunRatio, onnxRunRatioLimit, verdict(r.RunRatio <= onnxRunRatioLimit))
	}
	for _, row := range r.Batching {
		rs := ""
		for _, x := range row.Ratios {
			rs += fmt.Sprintf(" %.2f", x)
		}
		p("| %s: runner items/s batched (%.0f/s, p50 %.2f ms) / batch size 1 (%.0f/s, p50 %.2f ms), %d callers, 2 workers (rounds:%s) | %.3f | ≥ %.1f | %s |\n",
			row.Model, row.Batched.Median.RPS, row.Batched.Median.P50ms, row.Unbatched.Median.RPS, row.Unbatched.Median.P50ms,
			r.BatchConc, rs, row.Ratio, onnxBatchTarget, verdict(row.Ratio >= onnxBatchTarget))
	}
	p("\n")
	if len(r.RSS) > 0 {
		p("Memory of the image_classifier ONNX Runtime build (separate process), before and after %d PNG uploads from 16 clients:\n\n", onnxRSSRequests)
		p("| runners.mnist.workers | RSS at start MiB | RSS after MiB |\n|---:|---:|---:|\n")
		for _, row := range r.RSS {
			p("| %d | %s | %s |\n", row.Workers, mib(row.Started), mib(row.After))
		}
		p("\nPer extra worker: %.1f MiB.\n\n", r.PerWorkerMiB)
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// bench holds the state of one run.
type bench struct {
	o       *options
	log     io.Writer
	rep     *report
	tmp     string
	servers []*server
	echoBin string
	selfBin string
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// cleanup stops every server still running and removes the temp dir.
func (b *bench) cleanup() {
	for _, s := range b.servers {
		s.stop()
	}
	b.servers = nil
	if b.tmp != "" {
		os.RemoveAll(b.tmp)
	}
}

// side is one half of a pair: a server and how to load it.
type side struct {
	label   string
	srv     *server
	conc    int
	factory workerFactory
}

// sideResult is a side's rounds and their medians.
type sideResult struct {
	Label   string  `json:"label"`
	Rounds  []stats `json:"rounds"`
	Median  stats   `json:"median"`
	PeakRSS int64   `json:"peak_rss_bytes"`
}

// pairResult compares A (gobento) with B (its baseline).
type pairResult struct {
	ID    string     `json:"id"`
	Title string     `json:"title"`
	A     sideResult `json:"a"`
	B     sideResult `json:"b"`
	// Ratio is the median over rounds of A's req/s divided by B's in the
	// same round (adjacent in time, so drift on the shared machine cancels).
	Ratio float64 `json:"ratio_rps"`
	// Ratios are the per-round A/B req/s ratios.
	Ratios []float64 `json:"ratios_rps_per_round"`
	// CPURatio is B's server CPU per request divided by A's: the share of
	// the baseline's efficiency A keeps (1 = same cost per request).
	CPURatio float64 `json:"ratio_cpu_per_request"`
	Target   float64 `json:"target"`
}

// runPair alternates A and B for o.rounds rounds (ABBA order).
func (b *bench) runPair(ctx context.Context, id, title string, target float64, a, bb side) (*pairResult, error) {
	res := &pairResult{ID: id, Title: title, Target: target,
		A: sideResult{Label: a.label}, B: sideResult{Label: bb.label}}
	var ratios, cpuRatios []float64
	for r := range b.o.rounds {
		order := []*side{&a, &bb}
		if r%2 == 1 {
			order = []*side{&bb, &a}
		}
		got := map[*side]stats{}
		for _, s := range order {
			st, err := closedLoop(ctx, s.conc, b.o.warmup, b.o.duration, s.srv, s.factory)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", id, s.label, err)
			}
			if err := s.srv.alive(); err != nil {
				return nil, err
			}
			b.logf("%s round %d %-28s %9.0f req/s  p50 %.3f ms  p99 %.3f ms  cpu/1k %.4f s  errors %d",
				id, r+1, s.label, st.RPS, st.P50ms, st.P99ms, st.CPUPer1k, st.Errors)
			got[s] = st
		}
		sa, sb := got[&a], got[&bb]
		res.A.Rounds = append(res.A.Rounds, sa)
		res.B.Rounds = append(res.B.Rounds, sb)
		if sb.RPS > 0 {
			ratios = append(ratios, sa.RPS/sb.RPS)
		}
		if sa.CPUPer1k > 0 {
			cpuRatios = append(cpuRatios, sb.CPUPer1k/sa.CPUPer1k)
		}
	}
	res.A.Median = medianStats(res.A.Rounds)
	res.B.Median = medianStats(res.B.Rounds)
	res.Ratio = median(ratios)
	res.Ratios = ratios
	res.CPURatio = median(cpuRatios)
	var err error
	res.A.PeakRSS, err = a.srv.peakRSS()
	if err != nil {
		return nil, err
	}
	res.B.PeakRSS, err = bb.srv.peakRSS()
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, s := range []sideResult{res.A, res.B} {
		if s.Median.Errors > 0 {
			errs = append(errs, fmt.Errorf("%s, %s: %d failed requests, first: %s", id, s.Label, s.Median.Errors, s.Median.FirstErr))
		}
	}
	return res, errors.Join(errs...)
}

// moduleRoot finds the directory of go.mod (bench may be run from anywhere
// inside the module).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the gobento module: run bench from the repository")
	}
	return filepath.Dir(mod), nil
}

// textPayload returns n bytes of printable ASCII.
func textPayload(n int) string {
	const src = "gobento echo benchmark payload: the quick brown fox jumps over the lazy dog. "
	var sb strings.Builder
	for sb.Len() < n {
		sb.WriteString(src)
	}
	return sb.String()[:n]
}

// jsonPayload is the echo_json request: 70 characters of text, 16 floats
// and a 2-key map (the payload of ecosystem.md §2.4).
func jsonPayload() Doc {
	vals := make([]float64, 16)
	for i := range vals {
		vals[i] = float64(i)*0.125 + 0.5
	}
	return Doc{Text: textPayload(70), Values: vals, Meta: map[string]string{"source": "bench", "lang": "en"}}
}

func (b *bench) httpFactory(t httpTarget, conc int) (workerFactory, func()) {
	if b.o.rawClient {
		return rawFactory(t), func() {}
	}
	return netHTTPFactory(t, conc)
}

// runAll runs every selected part, recording results in b.rep. It keeps
// going after a failed part and returns every error.
func (b *bench) runAll(ctx context.Context) error {
	var err error
	if b.tmp, err = os.MkdirTemp("", "gobento-bench-"); err != nil {
		return err
	}
	var errs []error
	o := b.o
	pairs := o.want("echo") || o.want("metrics") || o.want("json") || o.want("grpc") || o.want("runner")
	unpin := func() error { return nil }
	if o.pin && (pairs || o.want("onnx") || (o.profileDir != "" && o.want("profile"))) {
		if unpin, err = pinSelf(); err != nil {
			return err
		}
	}
	if pairs {
		if err := b.httpPairs(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if o.want("onnx") && ctx.Err() == nil {
		if err := b.onnxPairs(ctx); err != nil {
			errs = append(errs, fmt.Errorf("onnx: %w", err))
		}
	}
	// Stop the server processes before the in-process parts.
	for _, s := range b.servers {
		if err := s.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	b.servers = nil
	if o.profileDir != "" && o.want("profile") && ctx.Err() == nil {
		if err := b.profilePair(ctx, o.profileDir); err != nil {
			errs = append(errs, fmt.Errorf("profile: %w", err))
		}
	}
	// The in-process parts use every CPU.
	if err := unpin(); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if ctx.Err() != nil {
		return errors.Join(append(errs, ctx.Err())...)
	}
	if o.want("scrape") {
		b.logf("scrape: building the registry")
		r, err := runScrape(ctx, b.o)
		if err != nil {
			errs = append(errs, fmt.Errorf("scrape: %w", err))
		}
		b.rep.Scrape = r
	}
	if o.want("batching") && ctx.Err() == nil {
		r, err := runBatching(ctx, b.o, b.logf)
		if err != nil {
			errs = append(errs, fmt.Errorf("batching: %w", err))
		}
		b.rep.Batching = r
	}
	if o.want("onnx") && ctx.Err() == nil {
		if err := b.runONNXModel(ctx); err != nil {
			errs = append(errs, fmt.Errorf("onnx: %w", err))
		}
	}
	return errors.Join(errs...)
}

// httpPairs runs pairs 1–4 against separate server processes.
func (b *bench) httpPairs(ctx context.Context) error {
	o := b.o
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if b.selfBin, err = os.Executable(); err != nil {
		return err
	}
	b.echoBin = filepath.Join(b.tmp, "echo")
	b.logf("building examples/echo")
	build := exec.CommandContext(ctx, "go", "build", "-o", b.echoBin, "./examples/echo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./examples/echo: %w\n%s", err, out)
	}

	text := textPayload(o.payload)
	doc := jsonPayload()
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	echoTarget := func(s *server, label string) httpTarget {
		return httpTarget{name: label, url: s.url + "/echo", addr: s.addr, path: "/echo",
			contentType: "text/plain", body: []byte(text), want: []byte(text)}
	}
	jsonTarget := func(s *server, label string) httpTarget {
		return httpTarget{name: label, url: s.url + "/echo_json", addr: s.addr, path: "/echo_json",
			contentType: "application/json", body: docJSON, want: docJSON}
	}
	start := func(name, bin string, args, env []string, ready func(context.Context, *server) error) (*server, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		full := append(append([]string{}, args...), "--port", strconv.Itoa(port))
		return b.startServer(ctx, name, bin, full, env, port, ready)
	}
	var errs []error
	pair := func(id, title string, target float64, a, bb side, cleanups ...func()) {
		defer func() {
			for _, c := range cleanups {
				c()
			}
		}()
		if ctx.Err() != nil {
			return
		}
		b.logf("pair %s: %s", id, title)
		r, err := b.runPair(ctx, id, title, target, a, bb)
		if err != nil {
			errs = append(errs, err)
		}
		if r != nil {
			b.rep.Pairs = append(b.rep.Pairs, r)
		}
	}
	httpSide := func(label string, s *server, t httpTarget) (side, func()) {
		f, cl := b.httpFactory(t, o.conns)
		return side{label: label, srv: s, conc: o.conns, factory: f}, cl
	}

	var echoOn, bare *server
	if o.want("echo") || o.want("metrics") || o.want("json") || o.want("runner") {
		if echoOn, err = start("gobento-echo", b.echoBin, []string{"serve-http", "--host", "127.0.0.1"}, nil, httpReady("/readyz")); err != nil {
			return err
		}
	}
	if o.want("echo") || o.want("json") {
		if bare, err = start("bare-http", b.selfBin, []string{"serve-bare"}, nil, httpReady("/readyz")); err != nil {
			return err
		}
	}
	if o.want("echo") {
		a, ca := httpSide("gobento echo", echoOn, echoTarget(echoOn, "gobento echo"))
		bs, cb := httpSide("bare net/http", bare, echoTarget(bare, "bare net/http"))
		pair("1-echo", "echo (Text) on gobento vs bare net/http", 0.90, a, bs, ca, cb)
	}
	if o.want("metrics") {
		off, err := start("gobento-echo-nometrics", b.echoBin, []string{"serve-http", "--host", "127.0.0.1"},
			[]string{withUserOptions("api_server.metrics.enabled=false")}, httpReady("/readyz"))
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		a, ca := httpSide("gobento metrics on", echoOn, echoTarget(echoOn, "gobento metrics on"))
		bs, cb := httpSide("gobento metrics off", off, echoTarget(off, "gobento metrics off"))
		pair("2-metrics", "gobento echo, metrics on vs off", 0.97, a, bs, ca, cb)
	}
	if o.want("json") {
		a, ca := httpSide("gobento echo_json", echoOn, jsonTarget(echoOn, "gobento echo_json"))
		bs, cb := httpSide("bare encoding/json", bare, jsonTarget(bare, "bare encoding/json"))
		pair("3-json", "echo_json (JSON) on gobento vs bare encoding/json", 0.90, a, bs, ca, cb)
	}
	if o.want("runner") && ctx.Err() == nil {
		irisBin := filepath.Join(b.tmp, "iris_classifier")
		b.logf("building examples/iris_classifier")
		build := exec.CommandContext(ctx, "go", "build", "-o", irisBin, "./examples/iris_classifier")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("go build ./examples/iris_classifier: %w\n%s", err, out))...)
		}
		iris, err := start("gobento-iris", irisBin, []string{"serve-http", "--host", "127.0.0.1"}, nil, httpReady("/readyz"))
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		// The same number of request bytes through the same HTTP and JSON
		// path, without the runner: what the hand-off to the runner and back
		// costs is the difference.
		row := []byte("[[5.9,3.0,5.1,1.8]]")                // 19 bytes → [2]
		small := []byte(`{"values":[5.9,3.0]}`)             // 20 bytes
		smallEcho := []byte(`{"text":"","values":[5.9,3]}`) // echo_json's answer
		a, ca := httpSide("gobento iris /classify", iris, httpTarget{name: "gobento iris /classify", url: iris.url + "/classify",
			addr: iris.addr, path: "/classify", contentType: "application/json", body: row, want: []byte("[2]")})
		bs, cb := httpSide("gobento echo_json", echoOn, httpTarget{name: "gobento echo_json", url: echoOn.url + "/echo_json",
			addr: echoOn.addr, path: "/echo_json", contentType: "application/json", body: small, want: smallEcho})
		pair("8-runner", fmt.Sprintf("iris /classify (batched runner) vs echo_json, %d- and %d-byte JSON bodies", len(row), len(small)), 0.90, a, bs, ca, cb)
	}
	if o.want("grpc") && ctx.Err() == nil {
		mport, err := freePort()
		if err != nil {
			return err
		}
		g, err := start("gobento-echo-grpc", b.echoBin, []string{"serve-grpc", "--host", "127.0.0.1"},
			[]string{withUserOptions(fmt.Sprintf("api_server.grpc.metrics.host=127.0.0.1 api_server.grpc.metrics.port=%d", mport))},
			grpcReady("echo", "ready"))
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		bg, err := start("bare-grpc", b.selfBin, []string{"serve-bare-grpc"}, nil,
			grpcReady("echo", "ready"))
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		fa, ca, err := grpcFactory(g.addr, "echo", text, o.grpcConns)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		fb, cb, err := grpcFactory(bg.addr, "echo", text, o.grpcConns)
		if err != nil {
			ca()
			return errors.Join(append(errs, err)...)
		}
		pair("4-grpc", fmt.Sprintf("gRPC Call (text) on gobento vs bare grpc-go (%d connections)", o.grpcConns), 0.90,
			side{label: "gobento serve-grpc", srv: g, conc: o.grpcConc, factory: fa},
			side{label: "bare grpc-go", srv: bg, conc: o.grpcConc, factory: fb}, ca, cb)
	}
	return errors.Join(errs...)
}

// withUserOptions is a BENTOML_CONFIG_OPTIONS entry for a server's own
// options after the ones the bench was started with (which every gobento
// server inherits), e.g. BENTOML_CONFIG_OPTIONS=api_server.logging.access.enabled=false.
func withUserOptions(opts string) string {
	return "BENTOML_CONFIG_OPTIONS=" + strings.TrimSpace(os.Getenv("BENTOML_CONFIG_OPTIONS")+" "+opts)
}

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// machine describes where the benchmark ran.
type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	Go         string `json:"go"`
	Kernel     string `json:"kernel"`
}

// report is everything one run measured.
type report struct {
	Date     time.Time       `json:"date"`
	Machine  machine         `json:"machine"`
	Settings map[string]any  `json:"settings"`
	Pairs    []*pairResult   `json:"pairs"`
	Scrape   *scrapeResult   `json:"scrape,omitempty"`
	Batching *batchingResult `json:"batching,omitempty"`
	ONNX     *onnxResult     `json:"onnx,omitempty"`
	Elapsed  time.Duration   `json:"elapsed_ns"`
}

func newReport(o *options) *report {
	client := "net/http"
	if o.rawClient {
		client = "raw HTTP/1.1"
	}
	return &report{
		Date:    time.Now().UTC(),
		Machine: machineInfo(),
		Settings: map[string]any{
			"duration": o.duration.String(), "warmup": o.warmup.String(), "rounds": o.rounds,
			"http_connections": o.conns, "grpc_connections": o.grpcConns, "grpc_goroutines": o.grpcConc,
			"payload_bytes": o.payload, "http_client": client, "quick": o.quick, "pinned": o.pin,
		},
	}
}

func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// smokeVerdict stands in for every verdict of a --quick run: one short
// round says nothing about a target.
const smokeVerdict = "— (smoke run)"

// verdict says whether a target was met; a smoke run gives none.
func (r *report) verdict(ok bool) string {
	if r.smoke() {
		return smokeVerdict
	}
	if ok {
		return "met"
	}
	return "**missed**"
}

// smoke reports whether the run was a --quick smoke run.
func (r *report) smoke() bool {
	q, _ := r.Settings["quick"].(bool)
	return q
}

func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

func (r *report) writeMarkdown(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	m := r.Machine
	p("## gobento benchmark, %s\n\n", r.Date.Format("2006-01-02 15:04 UTC"))
	if r.smoke() {
		p("**Smoke run (--quick): one short round per pair.** The figures below only show that every part runs; " +
			"they are not measurements, and no target is judged. Run `go run ./bench` for numbers to compare.\n\n")
	}
	p("Machine: %d CPUs (%s), GOMAXPROCS %d, %s, Linux %s. ", m.CPUs, m.CPUModel, m.GOMAXPROCS, m.Go, m.Kernel)
	if pinned, _ := r.Settings["pinned"].(bool); pinned {
		p("Pinned (-pin, the default): during pairs 1–4 the load generator runs on CPU %d with GOMAXPROCS 1 and every server process on CPU %d, where its runtime sees one CPU (GOMAXPROCS 1), "+
			"so client and server never compete for a CPU; the in-process parts (scrape, batching) then run on every CPU.\n\n", clientCPU, serverCPU)
	} else {
		p("Server and load generator share these CPUs, so every number includes the client's cost.\n\n")
	}
	s := r.Settings
	p("Settings: %v measured per round after %v warm-up, %v rounds (A/B alternating, ABBA), medians reported; "+
		"HTTP: %v client, %v keep-alive connections (one goroutine each), %v-byte text payload; gRPC: %v goroutines over %v connections. Total run time %s.\n\n",
		s["duration"], s["warmup"], s["rounds"], s["http_client"], s["http_connections"], s["payload_bytes"],
		s["grpc_goroutines"], s["grpc_connections"], r.Elapsed.Round(time.Second))

	if len(r.Pairs) > 0 {
		p("### Pairs 1–4: gobento (A) vs baseline (B), separate server processes\n\n")
		p("| Pair | Side | req/s | p50 ms | p99 ms | p99.9 ms | server CPU s / 1k req | server CPUs busy | peak RSS MiB | errors |\n")
		p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, pr := range r.Pairs {
			for _, sd := range []sideResult{pr.A, pr.B} {
				md := sd.Median
				p("| %s | %s | %.0f | %.3f | %.3f | %.3f | %.4f | %.2f | %s | %d |\n",
					pr.ID, sd.Label, md.RPS, md.P50ms, md.P99ms, md.P999ms, md.CPUPer1k, md.CPUPer1k*md.RPS/1000, mib(sd.PeakRSS), md.Errors)
			}
		}
		p("\n| Pair | ratio req/s A/B (median of rounds) | target | verdict | per-round ratios | server CPU per request, B/A |\n")
		p("|---|---:|---:|---|---|---:|\n")
		for _, pr := range r.Pairs {
			rs := make([]string, len(pr.Ratios))
			for i, x := range pr.Ratios {
				rs[i] = fmt.Sprintf("%.2f", x)
			}
			p("| %s: %s | %.3f | ≥ %.2f | %s | %s | %.3f |\n", pr.ID, pr.Title, pr.Ratio, pr.Target,
				r.verdict(pr.Ratio >= pr.Target), strings.Join(rs, " "), pr.CPURatio)
		}
		p("\n")
	}
	if sc := r.Scrape; sc != nil {
		p("### Pair 5: /metrics scrape (%d APIs × %d status codes, runner metrics, %d custom series)\n\n",
			sc.APIs, sc.StatusesPerAP, sc.CustomSeries)
		p("%d families, %d sample lines; in-process Gather() median %.2f ms. %d timed scrapes per format over loopback HTTP.\n\n",
			sc.Families, sc.Series, sc.GatherMs, sc.Scrapes)
		p("| Format | median ms | p90 ms | max ms | bytes | target ≤ %.0f ms |\n|---|---:|---:|---:|---:|---|\n", sc.TargetMs)
		for _, row := range sc.Rows {
			p("| %s | %.2f | %.2f | %.2f | %d | %s |\n", row.Format, row.MedianMs, row.P90Ms, row.MaxMs, row.Bytes, r.verdict(row.MedianMs <= sc.TargetMs))
		}
		p("\n")
	}
	if b := r.Batching; b != nil {
		p("### Pair 6: adaptive batching (in-process, callers use RunnerMethod.Run)\n\n")
		p("Synthetic model: %s; batch cost is busy CPU work. Ideal throughput max_batch_size/(a + b·max_batch_size) = %.0f items/s "+
			"(without batching: 1/(a+b) = %.0f/s).\n\n", b.Params, b.IdealPerSec, b.UnbatchedIdeal)
		p("| Load | Mode | items/s | mean ms | p50 ms | p99 ms | p99.9 ms | shed (503) |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
		for _, sd := range []sideResult{b.SatBatched, b.SatUnbatched} {
			md := sd.Median
			p("| saturation, %d closed-loop callers | %s | %.0f | %.2f | %.2f | %.2f | %.2f | %d |\n",
				b.SatConc, sd.Label, md.RPS, md.MeanMs, md.P50ms, md.P99ms, md.P999ms, md.Shed)
		}
		for _, sd := range []sideResult{b.LightRun, b.LightDirect} {
			md := sd.Median
			p("| light, 1 caller | %s | %.0f | %.3f | %.3f | %.3f | %.3f | %d |\n", sd.Label, md.RPS, md.MeanMs, md.P50ms, md.P99ms, md.P999ms, md.Shed)
		}
		ov := b.OverloadMedian
		p("| 2× overload, open loop %.0f/s | batching on | %.0f accepted | | %.2f | %.2f | max %.2f | %d of %d |\n\n",
			ov.RatePerSec, ov.AcceptedRPS, ov.P50ms, ov.P99ms, ov.MaxMs, ov.Shed, ov.Offered)
		p("| Check | measured | target | verdict |\n|---|---:|---|---|\n")
		p("| saturation throughput / ideal | %.3f | ≥ %.1f | %s |\n", b.IdealRatio, batchIdealTarget, r.verdict(b.IdealRatio >= batchIdealTarget))
		p("| light-load added p50 (Run − direct) | %.3f ms | ≤ %.1f ms | %s |\n", b.AddedP50ms, batchAddedP50Limit, r.verdict(b.AddedP50ms <= batchAddedP50Limit))
		p("| light-load added mean / p99 (for information) | %.3f ms / %.3f ms | | |\n", b.AddedMeanMs, b.AddedP99ms)
		p("| 2× overload p99 of accepted calls, from scheduled arrival | %.2f ms | ≤ %.0f ms (max_latency) | %s |\n", ov.P99ms, b.MaxLatencyMs, r.verdict(ov.P99ms <= b.MaxLatencyMs))
		p("| 2× overload p99 of accepted calls, from the Run call | %.2f ms | ≤ %.0f ms (max_latency) | %s |\n", ov.RunP99ms, b.MaxLatencyMs, r.verdict(ov.RunP99ms <= b.MaxLatencyMs))
		p("| 2× overload excess shed | %d of %d (%.0f%%) | excess shed, not queued | %s |\n\n",
			ov.Shed, ov.Offered, 100*float64(ov.Shed)/float64(max(ov.Offered, 1)), r.verdict(ov.Shed > 0))
	}
	if r.ONNX != nil {
		r.ONNX.writeMarkdown(p, r.verdict)
	}
}

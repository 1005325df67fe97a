// Command bench measures what gobento costs on top of the physical baseline,
// on this machine, in one run (issue 7, with the batching benchmark of issue 4
// and the gRPC load benchmark of issue 5).
//
//	go run ./bench                 # full run, about 3 min 40 s
//	go run ./bench --quick         # smoke run, about 20 seconds: figures only, no verdicts
//	go run ./bench -json out.json  # also write the results as JSON
//
// Each pair runs a server under test (A) and its baseline (B) as separate
// processes, drives both with the same closed-loop load generator and
// alternates A/B rounds (ABBA order), reporting medians over the rounds. On
// a machine with 2 CPUs or more the load generator runs on CPU 0 and every
// server on CPU 1 (-pin, the default; -pin=false shares every CPU):
//
//  1. examples/echo "echo" on gobento (default config, metrics on) vs a bare
//     net/http handler that reads the body and writes it back;
//  2. gobento with metrics on vs off (api_server.metrics.enabled=false);
//  3. "echo_json" vs a bare handler doing the same encoding/json work;
//  4. gRPC Call (text) on gobento serve-grpc vs a bare grpc-go handler;
//
// then, in-process:
//
//  5. /metrics scrape time and size for 10 APIs × 5 status codes, runner
//     metrics and 5 000 custom-metric series;
//  6. adaptive batching of a synthetic model whose batch costs a + b·n of busy
//     CPU time: saturation vs batching off, light-load added latency, and
//     2× overload;
//  7. (server processes, pinned like 1–4) examples/image_classifier /predict
//     on ONNX Runtime vs its onnx-go build (-tags onnxgo), and the ONNX
//     Runtime build's RSS after 10 000 requests with 1, 2 and 4 workers;
//  9. (server processes, pinned like 1–4) the runner hand-off:
//     examples/iris_classifier /classify (a batched runner around a trivial
//     model) vs examples/echo "echo_json" with a JSON body of the same size
//     (-only runner);
//  8. (in-process) the onnx package's Session.Run against ONNX Runtime's own
//     profiler timing of the same runs, and the ready-made runner's items/s
//     batched vs batch size 1.
//
// The program prints a markdown report to stdout and exits non-zero only on
// errors (a server that fails, a wrong response), never because a ratio
// misses its target: the machine is shared and noisy.
//
// The hidden subcommands serve-bare and serve-bare-grpc run the baselines;
// bench starts them itself by re-executing its own binary. With -profile DIR
// it also loads a CPU-profiled copy of the echo service (hidden subcommand
// serve-gobento) and of the bare server, leaving server-only pprof profiles
// in DIR:
//
//	go run ./bench -only profile -profile /tmp/prof
//	go tool pprof -top /tmp/prof/gobento-echo.pprof
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings of a benchmark run.
type options struct {
	duration   time.Duration // measured time per round
	warmup     time.Duration // unmeasured load before each round
	rounds     int           // A/B rounds per pair
	conns      int           // HTTP connections (= client goroutines)
	grpcConns  int           // gRPC connections
	grpcConc   int           // gRPC client goroutines
	payload    int           // bytes of the echo text
	scrapes    int           // /metrics scrapes per format
	only       map[string]bool
	jsonOut    string
	profileDir string
	profileAPI string
	quick      bool
	rawClient  bool
	pin        bool // load generator on CPU 0, servers on CPU 1
}

func (o *options) want(name string) bool { return len(o.only) == 0 || o.only[name] }

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "serve-bare":
			os.Exit(serveBareHTTP(os.Args[2:]))
		case "serve-bare-grpc":
			os.Exit(serveBareGRPC(os.Args[2:]))
		case "serve-gobento":
			os.Exit(serveProfiled(os.Args[2:]))
		}
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var only string
	fs.DurationVar(&o.duration, "d", 2*time.Second, "measured duration of each round")
	fs.DurationVar(&o.duration, "duration", 2*time.Second, "same as -d")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "warm-up load before each round (connections persist across rounds)")
	fs.IntVar(&o.rounds, "rounds", 7, "A/B rounds per pair (medians are reported); short, many rounds resist the shared machine's noise")
	fs.IntVar(&o.conns, "c", 64, "HTTP connections, one client goroutine each")
	fs.IntVar(&o.grpcConns, "grpc-conns", 2, "gRPC connections")
	fs.IntVar(&o.grpcConc, "grpc-c", 64, "gRPC client goroutines, spread over the connections")
	fs.IntVar(&o.payload, "payload", 64, "bytes of text sent to echo")
	fs.IntVar(&o.scrapes, "scrapes", 50, "timed /metrics scrapes per format")
	fs.StringVar(&o.profileAPI, "profile-api", "echo", "API loaded by -profile: echo or echo_json")
	fs.StringVar(&only, "only", "", "comma-separated subset of: echo,metrics,json,grpc,runner,scrape,batching,profile,onnx")
	fs.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&o.profileDir, "profile", "", "also load a CPU-profiled gobento echo server and bare server and write their pprof profiles to this directory")
	fs.BoolVar(&o.quick, "quick", false, "smoke run: 1 s rounds, 1 round, short warm-up (about 20 s in all); prints figures marked as a smoke run, no verdicts")
	fs.BoolVar(&o.rawClient, "raw-client", false, "drive HTTP pairs with a minimal HTTP/1.1 client instead of net/http (cheaper client, more server-bound)")
	fs.BoolVar(&o.pin, "pin", runtime.NumCPU() >= 2, "while the server pairs run, pin the load generator to CPU 0 and every server to CPU 1 (each then runs with GOMAXPROCS 1), so client and server never compete for a CPU; -pin=false shares every CPU (default true on 2 or more CPUs)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.quick {
		o.duration, o.warmup, o.rounds, o.scrapes = time.Second, 300*time.Millisecond, 1, 10
	}
	if o.duration <= 0 || o.rounds < 1 || o.conns < 1 || o.grpcConns < 1 || o.grpcConc < 1 || o.payload < 1 || o.scrapes < 1 {
		return nil, errors.New("-d, -rounds, -c, -grpc-conns, -grpc-c, -payload and -scrapes must be positive")
	}
	if o.profileAPI != "echo" && o.profileAPI != "echo_json" {
		return nil, fmt.Errorf("-profile-api: want echo or echo_json, got %q", o.profileAPI)
	}
	if only != "" {
		o.only = map[string]bool{}
		for _, s := range strings.Split(only, ",") {
			s = strings.TrimSpace(s)
			switch s {
			case "echo", "metrics", "json", "grpc", "runner", "scrape", "batching", "profile", "onnx":
				o.only[s] = true
			default:
				return nil, fmt.Errorf("-only: unknown part %q", s)
			}
		}
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h, -help, --help: usage was printed
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep := newReport(o)
	start := time.Now()
	b := &bench{o: o, log: stderr, rep: rep}
	defer b.cleanup()
	runErr := b.runAll(ctx)
	rep.Elapsed = time.Since(start)

	rep.writeMarkdown(stdout)
	if o.jsonOut != "" {
		if err := rep.writeJSON(o.jsonOut); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	return runErr
}

// Package bento is gobento: a model-serving framework for Go with
// BentoML-compatible APIs, runners, adaptive batching and Prometheus metrics.
//
// A program declares a [Service], registers typed APIs with [API] and model
// runners with [NewRunner], [Method] and [BatchMethod], then calls [Main]:
//
//	svc := bento.NewService("sentiment_analyzer")
//	r := bento.NewRunner(svc, "nltk_sentiment", newAnalyzer)
//	isPositive := bento.Method(r, "is_positive", (*analyzer).IsPositive)
//	bento.API(svc, "analysis", bento.Text(), bento.JSON[map[string]bool](),
//		func(ctx context.Context, text string) (map[string]bool, error) {
//			pos, err := isPositive.Run(ctx, text)
//			return map[string]bool{"is_positive": pos}, err
//		})
//	bento.Main(svc) // go run . serve-http --port 3000
//
// # Serving
//
// `serve-http` serves every API at POST /<route> with the probes /livez,
// /healthz and /readyz, /metrics, the OpenAPI document /docs.json and a docs
// page at /. Metric names, labels and configuration keys are BentoML 1.x's;
// see docs/metrics.md and the config package.
//
// # Errors
//
// Every failure is answered with a JSON body {"msg": ..., "type": ...} and
// the matching status. API and runner functions pick the status by returning
// an [Error] (see [BadInput], [NotFound], [Unavailable]); any other error is a
// 500 whose details go to the log only.
package bento

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/httpserver"
	"github.com/gobento/bento/internal/logbuf"
)

// Main runs the command line of a gobento program and exits: serve-http,
// openapi, config and kubernetes (see Execute). It returns only when the
// server stops cleanly; on any error it prints it and exits with status 1.
func Main(svc *Service) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Execute(ctx, svc, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		stop()
		os.Exit(1)
	}
}

// Execute runs the command line with args (without the program name),
// writing output to stdout and logs to stderr. Cancelling ctx stops a
// running server gracefully, like SIGTERM.
func Execute(ctx context.Context, svc *Service, args []string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:           programName(),
		Short:         fmt.Sprintf("Serve the %q gobento service", svc.Name()),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serveHTTPCommand(ctx, svc, stderr), serveGRPCCommand(ctx, svc, stderr),
		openAPICommand(svc, stdout), configCommand(svc, stdout), kubernetesCommand(svc, stdout))
	return root.ExecuteContext(ctx)
}

// programName is the name the user runs the program by ("iris_classifier"
// for ./iris_classifier and for go run ./examples/iris_classifier), shown
// in usage lines.
func programName() string {
	name := filepath.Base(os.Args[0])
	if name == "." || name == string(filepath.Separator) || name == "" {
		return "service"
	}
	return strings.TrimSuffix(name, ".exe")
}

// commonFlags are the flags every serving command shares.
type commonFlags struct {
	configFile string
	logLevel   string
}

func (f *commonFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.configFile, "config", "", "configuration file (.yaml); default: $BENTOML_CONFIG")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
}

func (f *commonFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error (optionally with an offset such as warn+2): %w", f.logLevel, err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

func loadConfig(file string) (*config.Config, error) {
	return config.Load(config.LoadOptions{File: file})
}

// serveSpec is what differs between the serving commands.
type serveSpec struct {
	use, short string
	// flags registers the command's own flags; apply copies those the user
	// set into cfg (flags beat the file and BENTOML_CONFIG_OPTIONS).
	flags func(fs *pflag.FlagSet)
	apply func(fs *pflag.FlagSet, cfg *config.Config) error
	start func(ctx context.Context, svc *Service, cfg *config.Config, opts ...ServerOption) (*Server, error)
	// started logs the start-up line.
	started func(log *slog.Logger, svc *Service, srv *Server, cfg *config.Config)
}

// serveCommand builds a serving command: load config, apply flags, start,
// serve until ctx ends, drain.
func serveCommand(ctx context.Context, svc *Service, stderr io.Writer, sp serveSpec) *cobra.Command {
	var cf commonFlags
	cmd := &cobra.Command{
		Use:   sp.use,
		Short: sp.short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Log lines are written out together every 100 ms (WARN and
			// above at once): an access line then costs a copy, not a
			// system call.
			out := logbuf.New(stderr, 100*time.Millisecond)
			defer out.Close()
			log, err := cf.logger(out)
			if err != nil {
				return err
			}
			log = slog.New(logbuf.NewHandler(log.Handler(), out))
			cfg, err := loadConfig(cf.configFile)
			if err != nil {
				return err
			}
			if err := sp.apply(cmd.Flags(), cfg); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			srv, err := sp.start(ctx, svc, cfg, Logger(log))
			if err != nil {
				return err
			}
			sp.started(log, svc, srv, cfg)
			return waitAndShutdown(ctx, srv, cfg, log)
		},
	}
	cf.register(cmd)
	sp.flags(cmd.Flags())
	return cmd
}

func serveHTTPCommand(ctx context.Context, svc *Service, stderr io.Writer) *cobra.Command {
	var (
		host     string
		port     int
		timeout  float64
		applySSL func(fs *pflag.FlagSet, cfg *config.Config)
	)
	return serveCommand(ctx, svc, stderr, serveSpec{
		use:   "serve-http",
		short: "Serve the APIs over HTTP, with /metrics, probes and docs",
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&host, "host", "0.0.0.0", "address to listen on (config api_server.http.host)")
			fs.IntVarP(&port, "port", "p", 3000, "port to listen on (config api_server.http.port)")
			fs.Float64Var(&timeout, "timeout", 60, timeoutFlagUsage)
			applySSL = sslFlags(fs, true)
		},
		apply: func(fs *pflag.FlagSet, cfg *config.Config) error {
			if fs.Changed("host") {
				cfg.APIServer.HTTP.Host = host
			}
			if fs.Changed("port") {
				if err := checkPortFlag(port); err != nil {
					return err
				}
				cfg.APIServer.HTTP.Port = port
			}
			if fs.Changed("timeout") {
				if err := setTimeoutFlag(cfg, timeout); err != nil {
					return err
				}
			}
			applySSL(fs, cfg)
			return nil
		},
		start: StartHTTP,
		started: func(log *slog.Logger, svc *Service, srv *Server, _ *config.Config) {
			attrs := []any{"url", srv.displayURL() + "/"}
			if u := srv.MetricsURL(); u != "" {
				attrs = append(attrs, "metrics", u)
			}
			log.Info(fmt.Sprintf("Starting production HTTP BentoServer %q listening on %s (Press CTRL+C to quit)",
				svc.Name(), srv.Addr()), attrs...)
		},
	})
}

// timeoutFlagUsage is the help of --timeout, shared by serve-http and config.
const timeoutFlagUsage = "request timeout in seconds for the API server and runners (config api_server.traffic.timeout)"

// setTimeoutFlag applies --timeout, after checking it, as serve-http does.
func setTimeoutFlag(cfg *config.Config, timeout float64) error {
	if !(timeout > 0) || math.IsInf(timeout, 0) {
		return fmt.Errorf("--timeout %v: want a number of seconds > 0", timeout)
	}
	cfg.APIServer.Traffic.Timeout = timeout
	cfg.Runners.Traffic.Timeout = timeout
	cfg.MarkSet("api_server.traffic.timeout", "flag --timeout")
	cfg.MarkSet("runners.traffic.timeout", "flag --timeout")
	return nil
}

// checkPortFlag rejects a --port out of range with the flag's name (the
// configuration check would name api_server.*.port instead).
func checkPortFlag(port int) error {
	if port < 0 || port > 65535 {
		return fmt.Errorf("--port %d: want a port between 0 and 65535", port)
	}
	return nil
}

// waitAndShutdown serves until ctx ends or the server fails, then drains
// within api_server.shutdown_timeout.
func waitAndShutdown(ctx context.Context, srv *Server, cfg *config.Config, log *slog.Logger) error {
	select {
	case err := <-srv.Done():
		if err != nil {
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return errors.Join(err, srv.Shutdown(shutdownCtx))
		}
		return nil
	case <-ctx.Done():
	}
	grace := seconds(cfg.APIServer.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	log.Info("server stopped")
	return nil
}

func openAPICommand(svc *Service, stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the OpenAPI 3 document of the service, as serve-http serves it at /docs.json",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := svc.Validate(); err != nil {
				return err
			}
			cfg, err := loadConfig("")
			if err != nil {
				return err
			}
			// Describe the paths serve-http serves at /docs.json: /metrics
			// is among them unless metrics are off or on their own port.
			var gatherer prometheus.Gatherer
			if m := cfg.APIServer.Metrics; m.Enabled && m.Port == nil {
				gatherer = prometheus.Gatherers{}
			}
			doc, err := httpserver.OpenAPI(httpserver.Options{
				ServiceName: svc.Name(), ServiceVersion: svc.Version(), ServiceDoc: svc.doc,
				Endpoints: svc.endpoints(), Gatherer: gatherer,
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, string(doc))
			return err
		},
	}
}

func configCommand(svc *Service, stdout io.Writer) *cobra.Command {
	var (
		file    string
		timeout float64
	)
	var cmd *cobra.Command
	cmd = &cobra.Command{
		Use:   "config",
		Short: "Print the configuration (defaults, file, BENTOML_CONFIG_OPTIONS) as YAML, then the values each runner and method runs with and where they come from",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := loadConfig(file)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("timeout") {
				if err := setTimeoutFlag(cfg, timeout); err != nil {
					return err
				}
			}
			if err := errors.Join(svc.Validate(), cfg.CheckRunners(svc.runnerNames())); err != nil {
				return err
			}
			b, err := cfg.YAML()
			if err != nil {
				return err
			}
			if _, err := io.WriteString(stdout, strings.TrimRight(string(b), "\n")+"\n"); err != nil {
				return err
			}
			return writeRunnerSettings(stdout, svc.Name(), svc.runnerSettings(cfg))
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "configuration file (.yaml); default: $BENTOML_CONFIG")
	cmd.Flags().Float64Var(&timeout, "timeout", 60, timeoutFlagUsage+"; shows what serve-http --timeout would run with")
	return cmd
}

package bento

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/connlimit"
	"github.com/gobento/bento/internal/customreg"
	"github.com/gobento/bento/internal/dashboard"
	"github.com/gobento/bento/internal/httpserver"
	"github.com/gobento/bento/internal/instrument"
	"github.com/gobento/bento/internal/otlpmetrics"
	"github.com/gobento/bento/internal/tracing"
	"github.com/gobento/bento/metrics"
)

// ServerOption configures [StartHTTP] and [StartGRPC].
type ServerOption func(*serverOptions)

type serverOptions struct {
	log *slog.Logger
}

// Logger sets the server's logger; the default is slog.Default().
func Logger(l *slog.Logger) ServerOption { return func(o *serverOptions) { o.log = l } }

// WithLogger is [Logger].
//
// Deprecated: use Logger; options carry no With prefix.
func WithLogger(l *slog.Logger) ServerOption { return Logger(l) }

// Metrics makes ms the custom metrics the service exports, and no
// others. Without it a service exports every metric the program declares
// with the metrics package, which suits the usual one service per program;
// when a process serves several services, give each its own list so that
// each /metrics shows only its own. Calling it again adds to the list.
func Metrics(ms ...metrics.Metric) ServiceOption {
	return serviceOption(func(s *Service) {
		if s.metrics == nil {
			s.metrics = []any{}
		}
		for _, m := range ms {
			s.metrics = append(s.metrics, m)
		}
	})
}

// WithMetrics is [Metrics].
//
// Deprecated: use Metrics; options carry no With prefix.
func WithMetrics(ms ...metrics.Metric) ServiceOption { return Metrics(ms...) }

// ownedMetrics returns the keys of the custom metrics the service exports,
// or nil for every declared one.
func (s *Service) ownedMetrics() []any { return s.metrics }

// runtime is what both servers share: registry, metrics, runners, readiness.
type runtime struct {
	svc     *Service
	cfg     *config.Config
	log     *slog.Logger
	reg     *prometheus.Registry
	custom  *customreg.Attachment // the service's custom metrics in reg
	gather  prometheus.Gatherer   // reg with the custom metrics' direct families
	metrics *instrument.Set
	env     *runtimeEnv
	dash    *dashboard.Dashboard // nil when off
	ready   atomic.Bool
	// runners are this start's runner instances, in declaration order;
	// started counts those running.
	runners []runnerRuntime
	started int
	otlp    *otlpmetrics.Pusher // nil when api_server.metrics.otlp is off
	tracing *tracing.Tracing    // off (a no-op) without tracing.exporter_type
}

// newRuntime validates svc and cfg and builds the registry with every
// default metric and the service's custom metrics. Runners are not started
// yet. Whoever gets a runtime releases it with [runtime.close].
func newRuntime(svc *Service, cfg *config.Config, proto instrument.Protocol, o serverOptions) (rt *runtime, err error) {
	if cfg == nil {
		cfg = config.Default()
	}
	if err := errors.Join(svc.Validate(), cfg.Validate(), cfg.CheckRunners(svc.runnerNames())); err != nil {
		return nil, err
	}
	log := o.log
	if log == nil {
		log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	apiBuckets, err := cfg.APIServer.Metrics.Buckets()
	if err != nil {
		return nil, err
	}
	runnerBuckets, err := cfg.Runners.Metrics.Buckets()
	if err != nil {
		return nil, err
	}
	opts := instrument.Options{
		Protocol:        proto,
		ServiceName:     svc.Name(),
		ServiceVersion:  svc.Version(),
		APINamespace:    cfg.APIServer.Metrics.Namespace,
		RunnerNamespace: cfg.Runners.Metrics.Namespace,
		APIBuckets:      apiBuckets,
		RunnerBuckets:   runnerBuckets,
		APIEnabled:      cfg.APIServer.Metrics.Enabled,
		RunnerEnabled:   cfg.Runners.Metrics.Enabled,
	}
	if n := cfg.APIServer.Metrics.NativeHistograms; n.Enabled {
		opts.NativeBucketFactor, opts.NativeMaxBuckets = n.BucketFactor, uint32(n.MaxBuckets)
	}
	set, err := instrument.New(reg, opts)
	if err != nil {
		return nil, fmt.Errorf("bento: default metrics: %w", err)
	}
	custom, err := customreg.Attach(reg, svc.ownedMetrics())
	if err != nil {
		return nil, fmt.Errorf("bento: custom metrics: %w", err)
	}
	logBentoMLKeys(cfg, log)
	rt = &runtime{svc: svc, cfg: cfg, log: log, reg: reg, custom: custom, gather: custom, metrics: set}
	defer rt.closeOnError(&err)
	if rt.tracing, err = tracing.New(context.Background(), cfg.Tracing, tracing.Options{
		ServiceName: svc.Name(), ServiceVersion: svc.Version(), Log: log, Registerer: reg}); err != nil {
		return nil, err
	}
	rt.env = &runtimeEnv{cfg: cfg, metrics: set, log: log, tracing: rt.tracing}
	if cfg.APIServer.Dashboard.Enabled && cfg.APIServer.Metrics.Enabled {
		rt.dash = dashboard.New(dashboard.Options{Gatherer: rt.gather,
			APINamespace: cfg.APIServer.Metrics.Namespace, RunnerNamespace: cfg.Runners.Metrics.Namespace})
	}
	var errsList []error
	for _, r := range svc.runnerDecls() {
		inst, err := r.instantiate(rt.env)
		if err != nil {
			errsList = append(errsList, err)
			continue
		}
		rt.runners = append(rt.runners, inst)
	}
	if err := errors.Join(errsList...); err != nil {
		return nil, err
	}
	rt.warnOverrides()
	if o := cfg.APIServer.Metrics.OTLP; o.Enabled && cfg.APIServer.Metrics.Enabled {
		if rt.otlp, err = otlpmetrics.Start(context.Background(), rt.gather, o, svc.Name(), svc.Version()); err != nil {
			return nil, err
		}
	}
	return rt, nil
}

// closeOnError closes rt if *err is not nil: deferred by whoever builds on
// a new runtime, so that every failure path releases it.
func (rt *runtime) closeOnError(err *error) {
	if *err != nil {
		rt.close()
	}
}

// close releases what newRuntime acquired: the custom metrics' attachment,
// the dashboard's sampler, the tracing (after exporting the spans queued,
// within 10 s) and the OTLP pusher (after its last push, within
// api_server.metrics.otlp.timeout). Runners are stopped separately.
// Calling it twice is safe.
func (rt *runtime) close() {
	if rt.dash != nil {
		rt.dash.Close()
	}
	if t := rt.tracing; t != nil && t.On() {
		rt.tracing = nil
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := t.Shutdown(ctx); err != nil {
			rt.log.Warn("tracing: the spans still queued were not all exported", "error", err)
		}
		cancel()
	}
	if p := rt.otlp; p != nil {
		rt.otlp = nil
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rt.cfg.APIServer.Metrics.OTLP.Timeout*float64(time.Second)))
		if err := p.Shutdown(ctx); err != nil { // a collector that is down is not the server's failure
			rt.log.Warn("metrics: the last OTLP push failed", "error", err)
		}
		cancel()
	}
	rt.custom.Close()
}

// startRunners starts this start's runner instances (each builds its
// models); on failure it stops the runners already started (the failing one
// has stopped and closed what it started itself).
func (rt *runtime) startRunners(ctx context.Context) error {
	for _, r := range rt.runners {
		if err := r.start(ctx); err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			rt.stopRunners(stopCtx)
			cancel()
			return err
		}
		rt.started++
	}
	rt.ready.Store(true)
	rt.metrics.SetState(instrument.StateReady)
	return nil
}

func (rt *runtime) stopRunners(ctx context.Context) error {
	var errsList []error
	for i := rt.started - 1; i >= 0; i-- {
		if err := rt.runners[i].stop(ctx); err != nil {
			errsList = append(errsList, err)
		}
	}
	rt.started = 0
	return errors.Join(errsList...)
}

// Server is a running gobento server (HTTP or gRPC).
type Server struct {
	rt         *runtime
	kind       string
	addr       net.Addr
	metricsURL string
	serveErr   chan error
	shutdown   func(ctx context.Context) error
	once       sync.Once
	stopErr    error
	tls        bool // the API listener speaks TLS (api_server.ssl)
}

// Addr returns the address the API listener is bound to.
func (s *Server) Addr() net.Addr { return s.addr }

// URL returns the API base URL, e.g. "http://127.0.0.1:3000" (https with
// TLS).
func (s *Server) URL() string {
	if s.tls {
		return "https://" + s.addr.String()
	}
	return "http://" + s.addr.String()
}

// MetricsURL returns the URL of the metrics endpoint, or "" when metrics are
// disabled.
func (s *Server) MetricsURL() string { return s.metricsURL }

// Gatherer returns every metric of the service, as /metrics serves them.
func (s *Server) Gatherer() prometheus.Gatherer { return s.rt.gather }

// Ready reports whether runners are started and the server is not draining.
func (s *Server) Ready() bool { return s.rt.ready.Load() }

// Done is closed with the serving error (nil after a clean Shutdown) when
// the server stops serving.
func (s *Server) Done() <-chan error { return s.serveErr }

// Shutdown stops the server gracefully: readiness turns to 503, the
// listener stops accepting, in-flight requests finish (or ctx ends), then the
// runners drain and stop. Calling it again returns the first result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() {
		s.rt.ready.Store(false)
		s.rt.metrics.SetState(instrument.StateDraining)
		s.rt.log.Info("shutting down", "server", s.kind)
		err := s.shutdown(ctx)
		err = errors.Join(err, s.rt.stopRunners(ctx))
		s.rt.close()
		s.stopErr = err
	})
	return s.stopErr
}

func listen(host string, port int) (net.Listener, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bento: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// metricsMaxConnections caps the separate metrics listener: scrapers hold
// one connection each.
const metricsMaxConnections = 64

// listen binds a listener capped at max connections (0: derived from the
// file-descriptor limit) whose counts are exported under listener=name.
func (rt *runtime) listen(host string, port, max int, name string) (*connlimit.Listener, error) {
	ln, err := listen(host, port)
	if err != nil {
		return nil, err
	}
	l := connlimit.New(ln, max, name, rt.log)
	rt.metrics.Listener(name, l.Stats)
	return l, nil
}

// trackIdle lets ln close idle keep-alive connections (and connections that
// have not sent a request yet) to make room at its cap.
func trackIdle(ln *connlimit.Listener) func(net.Conn, http.ConnState) {
	return func(c net.Conn, st http.ConnState) {
		ln.SetIdle(c, st == http.StateIdle || st == http.StateNew)
	}
}

// displayURL turns a listener address into a URL a user can open.
func displayURL(addr net.Addr, path string) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + path
}

// StartHTTP serves svc over HTTP as configured by cfg (nil means defaults)
// and returns once the listener is bound and every runner has started, with
// /readyz answering 200. If a runner fails to start, the listener is closed
// and the error names the runner. Stop it with [Server.Shutdown].
func StartHTTP(ctx context.Context, svc *Service, cfg *config.Config, opts ...ServerOption) (_ *Server, err error) {
	rt, err := newRuntime(svc, cfg, instrument.HTTP, newServerOptions(opts))
	if err != nil {
		return nil, err
	}
	defer rt.closeOnError(&err)
	cfg = rt.cfg
	hc := cfg.APIServer.HTTP
	metricsCfg := cfg.APIServer.Metrics
	separateMetrics := metricsCfg.Enabled && metricsCfg.Port != nil
	handler, err := rt.httpHandler(metricsCfg.Enabled && !separateMetrics)
	if err != nil {
		return nil, err
	}
	ln, err := rt.listen(hc.Host, hc.Port, hc.MaxConnections, "api")
	if err != nil {
		return nil, err
	}
	apiLn, useTLS, err := tlsListener(ln, cfg, false)
	if err != nil {
		return nil, err
	}
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: seconds(hc.ReadHeaderTimeout),
		ReadTimeout:       seconds(hc.ReadTimeout),
		IdleTimeout:       seconds(hc.IdleTimeout),
		MaxHeaderBytes:    hc.MaxHeaderBytes,
		ConnState:         unwrapTLS(trackIdle(ln)),
		ErrorLog:          slog.NewLogLogger(rt.log.Handler(), slog.LevelDebug),
	}
	s := &Server{rt: rt, kind: "http", addr: ln.Addr(), serveErr: make(chan error, 1), tls: useTLS}
	var metricsSrv *http.Server
	if separateMetrics {
		host := hc.Host
		if metricsCfg.Host != nil {
			host = *metricsCfg.Host
		}
		metricsSrv, s.metricsURL, err = rt.serveMetrics(host, *metricsCfg.Port, "/metrics")
		if err != nil {
			ln.Close()
			return nil, metricsListenError("api_server.metrics", err)
		}
	} else if metricsCfg.Enabled {
		s.metricsURL = displayURL(ln.Addr(), "/metrics")
	}
	if err := s.launch(ctx, func() error { return hs.Serve(apiLn) }, http.ErrServerClosed, hs.Shutdown, metricsSrv); err != nil {
		return nil, err
	}
	return s, nil
}

func newServerOptions(opts []ServerOption) serverOptions {
	var o serverOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// httpHandler builds the HTTP server's handler: every API, the probes, the
// docs and, when inlineMetrics is set, /metrics and the dashboard, wrapped
// in the configured trace-id, access-log and CORS layers. [StartHTTP] serves
// it on its listener and [NewHandler] returns it.
func (rt *runtime) httpHandler(inlineMetrics bool) (http.Handler, error) {
	cfg, svc := rt.cfg, rt.svc
	hc := cfg.APIServer.HTTP
	var gatherer prometheus.Gatherer
	var dash http.Handler
	if inlineMetrics {
		gatherer = rt.gather
		if rt.dash != nil {
			dash = rt.dash
		}
	}
	var maxConc int
	if cfg.APIServer.Traffic.MaxConcurrency != nil {
		maxConc = *cfg.APIServer.Traffic.MaxConcurrency
	}
	h, err := httpserver.New(httpserver.Options{
		ServiceName:    svc.Name(),
		ServiceVersion: svc.Version(),
		ServiceDoc:     svc.doc,
		Endpoints:      svc.endpoints(),
		Metrics:        rt.metrics,
		Gatherer:       gatherer,
		Timeout:        seconds(cfg.APIServer.Traffic.Timeout),
		MaxConcurrency: maxConc,
		MaxBodyBytes:   hc.MaxRequestSize,
		Ready:          rt.ready.Load,

		BodyMemoryLimit: hc.BodyMemoryLimit,
		WriteTimeout:    seconds(hc.WriteTimeout),
		LingerTimeout:   seconds(hc.LingerTimeout),
		LingerBytes:     hc.LingerBytes,
		Log:             rt.log,
		Exemplars:       cfg.APIServer.Metrics.Exemplars,
		Tracing:         rt.tracing.On(),
		Dashboard:       dash,
	})
	if err != nil {
		return nil, err
	}
	routes := make([]string, 0, len(svc.endpoints()))
	for _, ep := range svc.endpoints() {
		routes = append(routes, ep.Route)
	}
	return wrapHTTP(h, cfg, rt.log, rt.tracing, routes, gatherer != nil)
}

// launch serves in the background, then starts the runners; if a runner
// fails to start, serving stops again and the error is returned.
// serverClosed is the error serve returns after a clean stop.
func (s *Server) launch(ctx context.Context, serve func() error, serverClosed error,
	stop func(context.Context) error, metricsSrv *http.Server) error {
	go func() {
		err := serve()
		if errors.Is(err, serverClosed) {
			err = nil
		}
		s.serveErr <- err
		close(s.serveErr)
	}()
	s.shutdown = func(ctx context.Context) error {
		err := stop(ctx)
		if metricsSrv != nil {
			err = errors.Join(err, metricsSrv.Shutdown(ctx))
		}
		return err
	}
	s.rt.log.Info("starting runners", "service", s.rt.svc.Name(), "runners", len(s.rt.runners))
	if err := s.rt.startRunners(ctx); err != nil {
		s.shutdown(context.Background())
		return err
	}
	return nil
}

// serveMetrics serves the registry on its own listener, at / and /metrics,
// and returns the server and the URL to show (ending in shownPath).
func (rt *runtime) serveMetrics(host string, port int, shownPath string) (*http.Server, string, error) {
	ln, err := rt.listen(host, port, metricsMaxConnections, "metrics")
	if err != nil {
		return nil, "", err
	}
	mux := http.NewServeMux()
	mh := httpserver.MetricsHandler(rt.gather, rt.metrics, rt.log)
	mux.Handle("/metrics", mh)
	mux.Handle("/{$}", mh)
	if rt.dash != nil {
		for _, p := range []string{dashboard.PagePath, dashboard.JSPath, dashboard.CSSPath, dashboard.DataPath} {
			mux.Handle(p, rt.dash)
		}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ConnState: trackIdle(ln)}
	go srv.Serve(ln)
	return srv, displayURL(ln.Addr(), shownPath), nil
}

// metricsListenError names the metrics listener (configured under key) in
// a listen error, which otherwise reads like the API port's.
func metricsListenError(key string, err error) error {
	return fmt.Errorf("%w (the metrics listener, %s.port)", err, key)
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// endpoints converts the registered APIs for the HTTP server.
func (s *Service) endpoints() []httpserver.Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	eps := make([]httpserver.Endpoint, len(s.apis))
	for i, a := range s.apis {
		eps[i] = httpserver.Endpoint{Name: a.name, Route: a.route, Doc: a.doc,
			Input: a.in, Output: a.out, Call: a.callHTTP}
	}
	return eps
}

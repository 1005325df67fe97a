package bento

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	goruntime "runtime"
	"strings"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/accesslog"
	"github.com/gobento/bento/internal/cors"
	"github.com/gobento/bento/internal/httpserver"
	"github.com/gobento/bento/internal/tlsconf"
	"github.com/gobento/bento/internal/traceid"
	"github.com/gobento/bento/internal/tracing"
)

// This file wires BentoML's CORS, TLS, access-log and trace-id keys around
// the HTTP handler and the listeners, and logs what the keys of BentoML's
// process model and tracing mean in gobento.

// wrapHTTP puts the middlewares of the configuration around h, in
// BentoML's order: CORS outermost (a preflight is answered there, so it is
// neither logged, traced nor counted), then the server span (tracing), the
// access log, then the trace-id header. metricsOnAPIPort tells whether /metrics is served by h (it is not
// access-logged, as in BentoML).
func wrapHTTP(h http.Handler, cfg *config.Config, log *slog.Logger, tr *tracing.Tracing, routes []string, metricsOnAPIPort bool) (http.Handler, error) {
	hc := cfg.APIServer.HTTP
	if hc.Response.TraceID {
		h = traceid.New(h)
	}
	if al := cfg.APIServer.Logging.Access; al.Enabled {
		o := accesslog.Options{
			Log:                   log,
			RequestIDHeader:       httpserver.RequestIDHeader,
			RequestContentLength:  config.On(al.RequestContentLength),
			RequestContentType:    config.On(al.RequestContentType),
			ResponseContentLength: config.On(al.ResponseContentLength),
			ResponseContentType:   config.On(al.ResponseContentType),
		}
		if metricsOnAPIPort {
			o.Skip = func(r *http.Request) bool { return r.URL.Path == "/metrics" }
		}
		h = accesslog.New(h, o)
	}
	// The server span sits outside the access log, so that the log line
	// can carry the span's ids, and inside CORS: a preflight makes no span.
	h = tr.HTTP(h, routes)
	if c := hc.CORS; c.Enabled {
		o := cors.Options{
			AllowOrigins:     c.AccessControlAllowOrigins,
			AllowMethods:     c.AccessControlAllowMethods,
			AllowHeaders:     c.AccessControlAllowHeaders,
			AllowCredentials: config.On(c.AccessControlAllowCredentials),
			ExposeHeaders:    c.AccessControlExposeHeaders,
			MaxAge:           c.AccessControlMaxAge,
		}
		if c.AccessControlAllowOriginRegex != nil {
			o.AllowOriginRegex = *c.AccessControlAllowOriginRegex
		}
		var err error
		if h, err = cors.New(h, o); err != nil {
			return nil, fmt.Errorf("bento: api_server.http.cors: %w", err)
		}
	}
	return h, nil
}

// grpcAccessLog is the gRPC server's access log, when enabled.
func grpcAccessLog(cfg *config.Config, log *slog.Logger, tr *tracing.Tracing) []grpc.ServerOption {
	var opts []grpc.ServerOption
	if i := tr.UnaryServerInterceptor(); i != nil { // outermost: the access log sees the span
		opts = append(opts, grpc.ChainUnaryInterceptor(i))
	}
	al := cfg.APIServer.Logging.Access
	if !al.Enabled {
		return opts
	}
	return append(opts, grpc.ChainUnaryInterceptor(accesslog.UnaryInterceptor(accesslog.Options{
		Log:                   log,
		RequestContentLength:  config.On(al.RequestContentLength),
		RequestContentType:    config.On(al.RequestContentType),
		ResponseContentLength: config.On(al.ResponseContentLength),
		ResponseContentType:   config.On(al.ResponseContentType),
	})))
}

// tlsOptions returns the TLS options of cfg, and false when TLS is off:
// as in BentoML, TLS is on when a certificate file is given.
func tlsOptions(cfg *config.Config, grpc bool) (tlsconf.Options, bool) {
	s := cfg.APIServer.SSL
	if s.Certfile == nil || *s.Certfile == "" {
		return tlsconf.Options{}, false
	}
	o := tlsconf.Defaults()
	o.GRPC = grpc
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	o.Certfile, o.Keyfile, o.KeyfilePassword, o.CACerts = *s.Certfile, str(s.Keyfile), str(s.KeyfilePassword), str(s.CACerts)
	if s.Version != nil {
		o.Version = *s.Version
	}
	if s.CertReqs != nil {
		o.CertReqs = *s.CertReqs
	}
	if s.Ciphers != nil {
		o.Ciphers = *s.Ciphers
	}
	return o, true
}

// tlsListener wraps ln in TLS when cfg asks for it; the bool reports it.
func tlsListener(ln net.Listener, cfg *config.Config, grpc bool) (net.Listener, bool, error) {
	o, on := tlsOptions(cfg, grpc)
	if !on {
		return ln, false, nil
	}
	protos := []string{"h2", "http/1.1"}
	if grpc {
		protos = []string{"h2"}
	}
	tc, err := tlsconf.ServerConfig(o, protos...)
	if err != nil {
		ln.Close()
		return nil, false, err
	}
	return tls.NewListener(ln, tc), true, nil
}

// sslFlags registers BentoML's --ssl-* flags and returns the function that
// copies the ones given into cfg. serve-http has all seven; serve-grpc,
// like BentoML's, has certfile, keyfile and ca-certs.
func sslFlags(fs *pflag.FlagSet, all bool) func(fs *pflag.FlagSet, cfg *config.Config) {
	var certfile, keyfile, password, caCerts, ciphers string
	var version, certReqs int
	fs.StringVar(&certfile, "ssl-certfile", "", "TLS certificate file; turns TLS on (config api_server.ssl.certfile)")
	fs.StringVar(&keyfile, "ssl-keyfile", "", "TLS private key file (config api_server.ssl.keyfile)")
	fs.StringVar(&caCerts, "ssl-ca-certs", "", "CA certificates for client certificates (config api_server.ssl.ca_certs)")
	if all {
		fs.StringVar(&password, "ssl-keyfile-password", "", "password of an encrypted key file (config api_server.ssl.keyfile_password)")
		fs.IntVar(&version, "ssl-version", 17, "TLS protocol as Python's ssl.PROTOCOL_* (config api_server.ssl.version)")
		fs.IntVar(&certReqs, "ssl-cert-reqs", 0, "client certificates: 0 none, 1 optional, 2 required (config api_server.ssl.cert_reqs)")
		fs.StringVar(&ciphers, "ssl-ciphers", "TLSv1", "TLS 1.2 cipher suites, OpenSSL names (config api_server.ssl.ciphers)")
	}
	return func(fs *pflag.FlagSet, cfg *config.Config) {
		s := &cfg.APIServer.SSL
		set := func(name string, dst **string, v string) {
			if fs.Changed(name) {
				*dst = &v
			}
		}
		set("ssl-certfile", &s.Certfile, certfile)
		set("ssl-keyfile", &s.Keyfile, keyfile)
		set("ssl-ca-certs", &s.CACerts, caCerts)
		if !all {
			return
		}
		set("ssl-keyfile-password", &s.KeyfilePassword, password)
		set("ssl-ciphers", &s.Ciphers, ciphers)
		if fs.Changed("ssl-version") {
			s.Version = &version
		}
		if fs.Changed("ssl-cert-reqs") {
			s.CertReqs = &certReqs
		}
	}
}

// logBentoMLKeys says, once at start-up, what the keys of BentoML's
// process model and tracing mean in gobento, when they are set.
func logBentoMLKeys(cfg *config.Config, log *slog.Logger) {
	if w := cfg.APIServer.Workers; w != nil {
		log.Info(fmt.Sprintf("api_server.workers=%d: gobento serves from one process on every core (GOMAXPROCS=%d); the value is accepted and not used", *w, goruntime.GOMAXPROCS(0)))
	}
}

// bentoMLWorkers is a runner's worker count from runners.resources and
// workers_per_resource (0 when neither is set), logged once with what it
// means in gobento.
func bentoMLWorkers(log *slog.Logger, runner string, rc config.RunnerConfig) int {
	n, why := rc.WorkerCount(goruntime.GOMAXPROCS(0))
	if n == 0 {
		return 0
	}
	if rc.Workers > 0 {
		log.Info(fmt.Sprintf("runner %s: runners.workers=%d wins over resources and workers_per_resource (%s would give %d workers)", runner, rc.Workers, why, n))
		return 0
	}
	log.Info(fmt.Sprintf("runner %s: resources and workers_per_resource give %d workers (%s): gobento runs every runner in this one process, each worker a goroutine with its own model", runner, n, why))
	return n
}

// displayURL is the API base URL to show a user: localhost for an
// unspecified address, https with TLS.
func (s *Server) displayURL() string {
	u := displayURL(s.addr, "")
	if s.tls {
		u = "https" + strings.TrimPrefix(u, "http")
	}
	return u
}

// unwrapTLS passes the connection under a TLS connection to f, so that a
// ConnState hook that knows the listener's own connections (connlimit's
// idle tracking) still recognises them when the server speaks TLS.
func unwrapTLS(f func(net.Conn, http.ConnState)) func(net.Conn, http.ConnState) {
	return func(c net.Conn, st http.ConnState) {
		if tc, ok := c.(*tls.Conn); ok {
			c = tc.NetConn()
		}
		f(c, st)
	}
}

package bento

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/grpcserver"
	"github.com/gobento/bento/internal/instrument"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
	"github.com/gobento/bento/internal/tracing"
)

// protoCaller runs an API from a gRPC request value, timing its decoding
// and encoding in ph (and making their spans when ph.Traced).
type protoCaller func(ctx context.Context, v protoValue, ph *iospec.Phases) (protoValue, error)

func newProtoCaller[In, Out any](in IO[In], out IO[Out], name string, fn func(context.Context, In) (Out, error)) protoCaller {
	spec := in.wireSpec() // built once: Spec allocates its schema maps
	return func(ctx context.Context, v protoValue, ph *iospec.Phases) (protoValue, error) {
		t0 := time.Now()
		x, err := codec.DecodeValue(in.c, &spec, v)
		t1 := time.Now()
		ph.Decode = t1.Sub(t0)
		if ph.Traced {
			tracing.Phase(ctx, "decode "+name, t0, t1)
		}
		if err != nil {
			return protoValue{}, err
		}
		actx, end := ctx, endNothing
		if ph.Traced {
			actx, end = tracing.Step(ctx, "api "+name)
		}
		res, err := fn(actx, x)
		end(err)
		if err != nil {
			return protoValue{}, err
		}
		t2 := time.Now()
		r, err := out.encodeProto(res)
		t3 := time.Now()
		ph.Encode = t3.Sub(t2)
		if ph.Traced {
			tracing.Phase(ctx, "encode "+name, t2, t3)
		}
		return r, err
	}
}

// ---- Request / Response <-> protoValue ------------------------------------------------

func requestValue(req *pb.Request) protoValue {
	switch c := req.GetContent().(type) {
	case *pb.Request_Text:
		return protoValue{Field: "text", Text: c.Text}
	case *pb.Request_Json:
		return protoValue{Field: "json", JSON: c.Json}
	case *pb.Request_Ndarray:
		return protoValue{Field: "ndarray", NDArray: c.Ndarray}
	case *pb.Request_File:
		return protoValue{Field: "file", File: c.File}
	case *pb.Request_Multipart:
		return protoValue{Field: "multipart", Multipart: c.Multipart}
	case *pb.Request_Dataframe:
		return protoValue{Field: "dataframe", DataFrame: c.Dataframe}
	case *pb.Request_Series:
		return protoValue{Field: "series", Series: c.Series}
	case *pb.Request_SerializedBytes:
		return protoValue{Field: "serialized_bytes", Serialized: c.SerializedBytes}
	}
	return protoValue{}
}

func responseOf(v protoValue) (*pb.Response, error) {
	r := &pb.Response{}
	switch v.Field {
	case "text":
		r.Content = &pb.Response_Text{Text: v.Text}
	case "json":
		r.Content = &pb.Response_Json{Json: v.JSON}
	case "ndarray":
		r.Content = &pb.Response_Ndarray{Ndarray: v.NDArray}
	case "file":
		r.Content = &pb.Response_File{File: v.File}
	case "multipart":
		r.Content = &pb.Response_Multipart{Multipart: v.Multipart}
	case "dataframe":
		r.Content = &pb.Response_Dataframe{Dataframe: v.DataFrame}
	case "series":
		r.Content = &pb.Response_Series{Series: v.Series}
	case "serialized_bytes":
		r.Content = &pb.Response_SerializedBytes{SerializedBytes: v.Serialized}
	default:
		return nil, fmt.Errorf("bento: response has no content field %q", v.Field)
	}
	return r, nil
}

// grpcEndpoints converts the registered APIs for the gRPC server.
func (s *Service) grpcEndpoints() []grpcserver.Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	eps := make([]grpcserver.Endpoint, len(s.apis))
	for i, a := range s.apis {
		call := a.proto
		eps[i] = grpcserver.Endpoint{Name: a.name, Doc: a.doc, Input: a.in, Output: a.out,
			Call: func(ctx context.Context, req *pb.Request, ph *iospec.Phases) (*pb.Response, error) {
				v, err := call(ctx, requestValue(req), ph)
				if err != nil {
					return nil, err
				}
				return responseOf(v)
			}}
	}
	return eps
}

// StartGRPC serves svc over gRPC (bentoml.grpc.v1.BentoService, health and,
// when api_server.grpc.reflection.enabled, reflection) as configured by cfg,
// with its metrics on api_server.grpc.metrics.{host,port} at / and /metrics.
// It returns once the listeners are bound and every runner has started; the
// health service then reports SERVING. Stop it with [Server.Shutdown].
func StartGRPC(ctx context.Context, svc *Service, cfg *config.Config, opts ...ServerOption) (_ *Server, err error) {
	rt, err := newRuntime(svc, cfg, instrument.GRPC, newServerOptions(opts))
	if err != nil {
		return nil, err
	}
	defer rt.closeOnError(&err)
	cfg = rt.cfg
	gc := cfg.APIServer.GRPC
	if err := grpcPortsCollide(cfg); err != nil {
		return nil, err
	}
	var maxConc int
	if cfg.APIServer.Traffic.MaxConcurrency != nil {
		maxConc = *cfg.APIServer.Traffic.MaxConcurrency
	}
	if gc.MaximumConcurrentRPCs != nil && (maxConc == 0 || *gc.MaximumConcurrentRPCs < maxConc) {
		maxConc = *gc.MaximumConcurrentRPCs
	}
	var streams uint32
	if gc.MaxConcurrentStreams != nil {
		streams = *gc.MaxConcurrentStreams
	}
	recv, send := int(cfg.APIServer.HTTP.MaxRequestSize), 0
	if gc.MaxMessageLength > 0 {
		recv, send = gc.MaxMessageLength, gc.MaxMessageLength
	}
	gs, err := grpcserver.New(grpcserver.Options{
		ServiceName:          svc.Name(),
		ServiceDoc:           svc.doc,
		Endpoints:            svc.grpcEndpoints(),
		Metrics:              rt.metrics,
		Reflection:           gc.Reflection.Enabled,
		MaxConcurrentStreams: streams,
		MaxRecvMessageSize:   recv,
		MaxSendMessageSize:   send,
		MaxHeaderListSize:    gc.MaxHeaderListSize,
		IdleTimeout:          seconds(cfg.APIServer.HTTP.IdleTimeout),
		HandshakeTimeout:     seconds(cfg.APIServer.HTTP.ReadHeaderTimeout),
		MaxConnectionAge:     seconds(gc.MaxConnectionAge),
		MaxConcurrency:       maxConc,
		Timeout:              seconds(cfg.APIServer.Traffic.Timeout),
		Log:                  rt.log,
		ServerOptions:        grpcAccessLog(cfg, rt.log, rt.tracing),
		Tracing:              rt.tracing.On(),
	})
	if err != nil {
		return nil, err
	}
	ln, err := rt.listen(gc.Host, gc.Port, gc.MaxConnections, "api")
	if err != nil {
		return nil, err
	}
	apiLn, useTLS, err := tlsListener(ln, cfg, true)
	if err != nil {
		return nil, err
	}
	s := &Server{rt: rt, kind: "grpc", addr: ln.Addr(), serveErr: make(chan error, 1), tls: useTLS}
	var metricsSrv *http.Server
	if cfg.APIServer.Metrics.Enabled {
		metricsSrv, s.metricsURL, err = rt.serveMetrics(gc.Metrics.Host, gc.Metrics.Port, "/")
		if err != nil {
			ln.Close()
			return nil, metricsListenError("api_server.grpc.metrics", err)
		}
	}
	if err := s.launch(ctx, func() error { return gs.Serve(apiLn) }, grpc.ErrServerStopped, gs.Stop, metricsSrv); err != nil {
		return nil, err
	}
	gs.SetReady()
	return s, nil
}

// grpcPortsCollide reports a gRPC port equal to the metrics listener's,
// which would otherwise fail as a bare "address already in use" on a free
// port: serve-grpc binds both.
func grpcPortsCollide(cfg *config.Config) error {
	gc := cfg.APIServer.GRPC
	if !cfg.APIServer.Metrics.Enabled || gc.Port == 0 || gc.Port != gc.Metrics.Port {
		return nil
	}
	return fmt.Errorf("bento: api_server.grpc.port and api_server.grpc.metrics.port are both %d: "+
		"serve-grpc serves its metrics on a separate listener, which needs another port "+
		"(choose another --port, or set api_server.grpc.metrics.port)", gc.Port)
}

func serveGRPCCommand(ctx context.Context, svc *Service, stderr io.Writer) *cobra.Command {
	var (
		host       string
		port       int
		reflection bool
		streams    uint32
		applySSL   func(fs *pflag.FlagSet, cfg *config.Config)
	)
	return serveCommand(ctx, svc, stderr, serveSpec{
		use:   "serve-grpc",
		short: "Serve the APIs over gRPC (bentoml.grpc.v1), with metrics on port 3001",
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&host, "host", "0.0.0.0", "address to listen on (config api_server.grpc.host)")
			fs.IntVarP(&port, "port", "p", 3000, "port to listen on (config api_server.grpc.port)")
			fs.BoolVar(&reflection, "enable-reflection", false, "enable gRPC server reflection (config api_server.grpc.reflection.enabled)")
			fs.Uint32Var(&streams, "max-concurrent-streams", 0, "maximum concurrent streams per connection (config api_server.grpc.max_concurrent_streams)")
			applySSL = sslFlags(fs, false)
		},
		apply: func(fs *pflag.FlagSet, cfg *config.Config) error {
			if fs.Changed("host") {
				cfg.APIServer.GRPC.Host = host
			}
			if fs.Changed("port") {
				if err := checkPortFlag(port); err != nil {
					return err
				}
				cfg.APIServer.GRPC.Port = port
			}
			if fs.Changed("enable-reflection") {
				cfg.APIServer.GRPC.Reflection.Enabled = reflection
			}
			if fs.Changed("max-concurrent-streams") {
				cfg.APIServer.GRPC.MaxConcurrentStreams = &streams
			}
			applySSL(fs, cfg)
			return nil
		},
		start: StartGRPC,
		started: func(log *slog.Logger, svc *Service, srv *Server, cfg *config.Config) {
			var attrs []any
			if u := srv.MetricsURL(); u != "" {
				attrs = append(attrs, "metrics", u)
			}
			attrs = append(attrs, "reflection", cfg.APIServer.GRPC.Reflection.Enabled)
			log.Info(fmt.Sprintf("Starting production gRPC BentoServer %q listening on %s (Press CTRL+C to quit)",
				svc.Name(), srv.Addr()), attrs...)
		},
	})
}

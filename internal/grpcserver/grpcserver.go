// Package grpcserver serves a gobento service over gRPC with BentoML's
// bentoml.grpc.v1.BentoService protocol, the standard grpc.health.v1 health
// service and, when enabled, server reflection.
//
// Each Call is counted and timed around the handler with its final status,
// mapped to HTTP in the http_response_code label (bentoml-compat
// "Decisions"); calls naming an unknown api_name are recorded under
// api_name="<unmatched>". ServiceMetadata, health and reflection are not API
// traffic.
//
// Admission, the deadline, panic recovery and error classification are the
// request path's policy, shared with the HTTP server in internal/invoke.
package grpcserver

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/instrument"
	"github.com/gobento/bento/internal/invoke"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// Endpoint is one API, type-erased, as the gRPC server sees it.
type Endpoint struct {
	Name   string
	Doc    string
	Input  iospec.Spec
	Output iospec.Spec
	// Call runs the API on a request whose api_name is Name, filling ph in.
	Call func(ctx context.Context, req *pb.Request, ph *iospec.Phases) (*pb.Response, error)
}

// Options configures [New].
type Options struct {
	ServiceName string
	ServiceDoc  string
	Endpoints   []Endpoint
	// Metrics records Call traffic; nil records nothing.
	Metrics *instrument.Set
	// Tracing is on: a sampled call's exemplars are its server span's
	// {trace_id, span_id}, and the API call makes decode, API and encode
	// spans.
	Tracing bool
	// Reflection registers the server reflection service.
	Reflection bool
	// MaxConcurrentStreams limits streams per connection; 0 means
	// [DefaultMaxConcurrentStreams]. A client opening more gets its extra
	// streams refused, and the server stops reading the connection until
	// one ends.
	MaxConcurrentStreams uint32
	// MaxRecvMessageSize caps received messages in bytes; 0 means
	// [DefaultMaxRecvMessageSize]. A larger message is refused (as
	// RESOURCE_EXHAUSTED) from its 5-byte prefix, before it is read.
	MaxRecvMessageSize int
	// MaxSendMessageSize caps sent messages in bytes; 0 means unlimited.
	MaxSendMessageSize int
	// MaxHeaderListSize caps a call's decoded metadata; 0 means
	// [DefaultMaxHeaderListSize]. Past it the stream is reset, and HPACK
	// decoding of the rest of the block allocates nothing.
	MaxHeaderListSize uint32
	// IdleTimeout closes (GOAWAY) a connection with no call for this long;
	// 0 means 120 s.
	IdleTimeout time.Duration
	// HandshakeTimeout bounds the HTTP/2 preface and settings exchange of a
	// new connection; 0 means 10 s.
	HandshakeTimeout time.Duration
	// MaxConcurrency caps Calls in flight (RESOURCE_EXHAUSTED beyond); 0 means none.
	MaxConcurrency int
	// Timeout bounds each Call once its request message is in
	// (DEADLINE_EXCEEDED after it); 0 means none.
	Timeout time.Duration
	// MaxConnectionAge closes (GOAWAY) every connection after about this
	// long, giving its calls Timeout more to finish; then streams still
	// open are reset. It bounds how long any stream lives, one that never
	// sends its request message included, at no cost per call. 0 means
	// [DefaultMaxConnectionAge]. Clients reconnect on their own.
	MaxConnectionAge time.Duration
	// Log receives errors; nil means slog.Default().
	Log *slog.Logger
	// ServerOptions are added to the server's own (interceptors, ...).
	ServerOptions []grpc.ServerOption
}

// Server is the gRPC server of one service.
type Server struct {
	pb.UnimplementedBentoServiceServer
	o         Options
	log       *slog.Logger
	grpc      *grpc.Server
	health    *health.Server
	apis      map[string]*api
	unmatched *instrument.Route
	meta      *pb.ServiceMetadataResponse
	path      *invoke.Path // admission, deadline, recovery, classification
}

type api struct {
	ep      Endpoint
	metrics *instrument.Route
}

// New builds the server; it serves nothing until [Server.Serve].
func New(o Options) (*Server, error) {
	s := &Server{o: o, log: o.Log, apis: make(map[string]*api, len(o.Endpoints))}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.path = invoke.New(invoke.Options{MaxConcurrency: o.MaxConcurrency, Timeout: o.Timeout, Log: s.log})
	for _, ep := range o.Endpoints {
		if _, dup := s.apis[ep.Name]; dup {
			return nil, fmt.Errorf("grpcserver: duplicate API %q", ep.Name)
		}
		s.apis[ep.Name] = &api{ep: ep, metrics: o.Metrics.API(ep.Name)}
	}
	s.unmatched = o.Metrics.Unmatched()
	meta, err := buildMetadata(o)
	if err != nil {
		return nil, err
	}
	s.meta = meta
	s.grpc = grpc.NewServer(append(s.serverOptions(), o.ServerOptions...)...)
	s.grpc.RegisterService(&callService, s)
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	if o.Reflection {
		reflection.Register(s.grpc)
	}
	s.setServing(healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
}

// Defaults of the Options fields that are 0.
const (
	DefaultMaxConcurrentStreams = 100
	DefaultMaxRecvMessageSize   = 20 << 20
	DefaultMaxHeaderListSize    = 16 << 10
	DefaultIdleTimeout          = 120 * time.Second
	DefaultHandshakeTimeout     = 10 * time.Second
	DefaultMaxConnectionAge     = 5 * time.Minute
)

// Keepalive policy: a client may ping at most every keepaliveMinTime (more
// often is answered with GOAWAY "too_many_pings"), also between calls; the
// server pings a connection silent for keepaliveTime and closes it when the
// answer takes longer than keepaliveTimeout (a peer that vanished).
const (
	keepaliveMinTime = 10 * time.Second
	keepaliveTime    = 60 * time.Second
	keepaliveTimeout = 20 * time.Second
)

// serverOptions turns Options into grpc-go's, with the defaults that bound
// what one client can make the server hold.
func (s *Server) serverOptions() []grpc.ServerOption {
	o := s.o
	or := func(v, def uint32) uint32 {
		if v == 0 {
			return def
		}
		return v
	}
	recv := o.MaxRecvMessageSize
	if recv <= 0 {
		recv = DefaultMaxRecvMessageSize
	}
	send := o.MaxSendMessageSize
	if send <= 0 {
		send = math.MaxInt32
	}
	idle, handshake := o.IdleTimeout, o.HandshakeTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	if handshake <= 0 {
		handshake = DefaultHandshakeTimeout
	}
	age, grace := o.MaxConnectionAge, o.Timeout
	if age <= 0 {
		age = DefaultMaxConnectionAge
	}
	if grace <= 0 {
		grace = time.Minute
	}
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(or(o.MaxConcurrentStreams, DefaultMaxConcurrentStreams)),
		grpc.MaxHeaderListSize(or(o.MaxHeaderListSize, DefaultMaxHeaderListSize)),
		grpc.MaxRecvMsgSize(recv),
		grpc.MaxSendMsgSize(send),
		grpc.ConnectionTimeout(handshake),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: idle, MaxConnectionAge: age, MaxConnectionAgeGrace: grace,
			Time: keepaliveTime, Timeout: keepaliveTimeout,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: keepaliveMinTime, PermitWithoutStream: true}),
		grpc.InTapHandle(s.tap),
	}
}

// callMethod is the full name of the Call method.
const callMethod = "/bentoml.grpc.v1.BentoService/Call"

// tap runs when a call's headers arrive, before anything else: it counts a
// call whose own deadline has already passed, which grpc-go refuses right
// after, before any handler.
func (s *Server) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if info.FullMethodName != callMethod {
		return ctx, nil
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		s.unmatched.Refused(time.Now(), errs.HTTPStatus(codes.DeadlineExceeded))
		return ctx, status.Error(codes.DeadlineExceeded, "deadline exceeded before the call started")
	}
	return ctx, nil
}

// callService is pb's service description with a Call handler of
// gobento's own (see handleCall).
var callService = func() grpc.ServiceDesc {
	d := pb.BentoService_ServiceDesc
	d.Methods = slices.Clone(d.Methods)
	for i := range d.Methods {
		if d.Methods[i].MethodName == "Call" {
			d.Methods[i].Handler = handleCall
		}
	}
	return d
}()

// handleCall runs as soon as a Call stream opens, before its request
// message arrives. A message grpc-go refuses (over MaxRecvMessageSize:
// RESOURCE_EXHAUSTED; one that does not unmarshal: INTERNAL; none before
// the deadline: DEADLINE_EXCEEDED) fails dec, and grpc-go answers it
// itself; the call is counted here under api_name "<unmatched>" (the
// api_name was never read) with the status the client got, mapped to HTTP.
// A stats.Handler would see these too, but costs every call about 20
// allocations.
//
// Interceptors from Options.ServerOptions (the access log) run around the
// Call of a request that decoded.
func handleCall(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	s := srv.(*Server)
	start := time.Now()
	req := new(pb.Request)
	if err := dec(req); err != nil {
		s.unmatched.Refused(start, errs.HTTPStatus(status.Code(err)))
		return nil, err
	}
	if interceptor == nil {
		return s.Call(ctx, req)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: pb.BentoService_Call_FullMethodName}
	return interceptor(ctx, req, info, func(ctx context.Context, r any) (any, error) { return s.Call(ctx, r.(*pb.Request)) })
}

func (s *Server) setServing(st healthpb.HealthCheckResponse_ServingStatus) {
	s.health.SetServingStatus("", st)
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, st)
	}
}

// SetReady marks every registered service SERVING (runners are up).
func (s *Server) SetReady() { s.setServing(healthpb.HealthCheckResponse_SERVING) }

// Serve accepts connections on ln until [Server.Stop].
func (s *Server) Serve(ln net.Listener) error { return s.grpc.Serve(ln) }

// Stop turns health to NOT_SERVING, stops accepting, and waits for in-flight
// calls; when ctx ends first, remaining calls are cancelled.
func (s *Server) Stop(ctx context.Context) error {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
		return fmt.Errorf("grpcserver: calls still running at shutdown were cancelled: %w", ctx.Err())
	}
}

// Call runs one API.
func (s *Server) Call(ctx context.Context, req *pb.Request) (*pb.Response, error) {
	a, ok := s.apis[req.GetApiName()]
	if !ok {
		start := s.unmatched.Start()
		err := status.Errorf(codes.InvalidArgument, "API %q not found; available: %v", req.GetApiName(), s.names())
		s.unmatched.Done(start, errs.HTTPStatus(codes.InvalidArgument))
		return nil, err
	}
	start := a.metrics.Start()
	resp, err := s.call(ctx, a, req)
	if s.o.Tracing {
		doneWithTrace(ctx, a.metrics, start, errs.HTTPStatus(status.Code(err)))
	} else {
		a.metrics.Done(start, errs.HTTPStatus(status.Code(err)))
	}
	return resp, err
}

func (s *Server) names() []string {
	out := make([]string, 0, len(s.o.Endpoints))
	for _, ep := range s.o.Endpoints {
		out = append(out, ep.Name)
	}
	return out
}

// call runs one API through the request path; the message is already in,
// so the call takes its max_concurrency slot now.
func (s *Server) call(ctx context.Context, a *api, req *pb.Request) (*pb.Response, error) {
	ph := iospec.Phases{Traced: s.o.Tracing}
	c := invoke.Call[*pb.Request, *pb.Response]{API: a.ep.Name, In: req,
		Run: func(ctx context.Context, req *pb.Request) (*pb.Response, error) { return a.ep.Call(ctx, req, &ph) }}
	resp, f := invoke.Do(s.path, ctx, &c)
	if f != nil {
		return nil, f.GRPCError()
	}
	a.metrics.Phases(proto.Size(req), ph.Decode, proto.Size(resp), ph.Encode)
	return resp, nil
}

// ServiceMetadata lists the APIs with their descriptors.
func (s *Server) ServiceMetadata(context.Context, *pb.ServiceMetadataRequest) (*pb.ServiceMetadataResponse, error) {
	return s.meta, nil
}

func buildMetadata(o Options) (*pb.ServiceMetadataResponse, error) {
	m := &pb.ServiceMetadataResponse{Name: o.ServiceName, Docs: o.ServiceDoc}
	for _, ep := range o.Endpoints {
		in, err := descriptorMeta(ep.Input)
		if err != nil {
			return nil, fmt.Errorf("grpcserver: API %q input: %w", ep.Name, err)
		}
		out, err := descriptorMeta(ep.Output)
		if err != nil {
			return nil, fmt.Errorf("grpcserver: API %q output: %w", ep.Name, err)
		}
		api := &pb.ServiceMetadataResponse_InferenceAPI{Name: ep.Name, Input: in, Output: out}
		if ep.Doc != "" {
			api.Docs = &ep.Doc
		}
		m.Apis = append(m.Apis, api)
	}
	return m, nil
}

// descriptorMeta is the descriptor's metadata as BentoML 1.1's servicer
// builds it: its to_spec() minus the id, i.e. {"args": {...}}, or an empty
// Struct for a descriptor without args (Text).
func descriptorMeta(spec iospec.Spec) (*pb.ServiceMetadataResponse_DescriptorMetadata, error) {
	fields := map[string]any{}
	if spec.Attributes != nil {
		fields["args"] = spec.Attributes
	}
	attrs, err := structpb.NewStruct(normalize(fields))
	if err != nil {
		return nil, err
	}
	id := spec.ID
	return &pb.ServiceMetadataResponse_DescriptorMetadata{DescriptorId: &id, Attributes: attrs}, nil
}

// normalize converts attribute values to the types structpb accepts.
func normalize(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case []int:
			l := make([]any, len(x))
			for i, n := range x {
				l[i] = n
			}
			out[k] = l
		case []string:
			l := make([]any, len(x))
			for i, n := range x {
				l[i] = n
			}
			out[k] = l
		case map[string]any:
			out[k] = normalize(x)
		case map[string]string:
			mm := make(map[string]any, len(x))
			for kk, vv := range x {
				mm[kk] = vv
			}
			out[k] = mm
		default:
			out[k] = v
		}
	}
	return out
}

// doneWithTrace records a call with its sampled span's ids as the exemplar.
//
//go:noinline
func doneWithTrace(ctx context.Context, m *instrument.Route, start time.Time, code int) {
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		m.DoneWithExemplar(start, code, prometheus.Labels{"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String()})
		return
	}
	m.Done(start, code)
}

// Package grpcserver serves a gobento service over gRPC with BentoML's
// bentoml.grpc.v1.BentoService protocol, the standard grpc.health.v1 health
// service and, when enabled, server reflection.
//
// Each Call is counted and timed around the handler with its final status,
// mapped to HTTP in the http_response_code label (bentoml-compat
// "Decisions"); calls naming an unknown api_name are recorded under
// api_name="<unmatched>". ServiceMetadata, health and reflection are not API
// traffic.
package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/gobento/bento/internal/deadline"
	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/instrument"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// Endpoint is one API, type-erased, as the gRPC server sees it.
type Endpoint struct {
	Name   string
	Doc    string
	Input  iospec.Spec
	Output iospec.Spec
	// Call runs the API on a request whose api_name is Name.
	Call func(ctx context.Context, req *pb.Request) (*pb.Response, error)
}

// Options configures [New].
type Options struct {
	ServiceName string
	ServiceDoc  string
	Endpoints   []Endpoint
	// Metrics records Call traffic; nil records nothing.
	Metrics *instrument.Set
	// Reflection registers the server reflection service.
	Reflection bool
	// MaxConcurrentStreams limits streams per connection; 0 means grpc-go's default.
	MaxConcurrentStreams uint32
	// MaxMessageLength caps sent and received messages in bytes; 0 or
	// negative means unlimited.
	MaxMessageLength int
	// MaxConcurrency caps Calls in flight (RESOURCE_EXHAUSTED beyond); 0 means none.
	MaxConcurrency int
	// Timeout bounds each Call (DEADLINE_EXCEEDED after it); 0 means none.
	Timeout time.Duration
	// Log receives errors; nil means slog.Default().
	Log *slog.Logger
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
	inFlight  atomic.Int64
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
	var opts []grpc.ServerOption
	if o.MaxConcurrentStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(o.MaxConcurrentStreams))
	}
	if o.MaxMessageLength > 0 {
		opts = append(opts, grpc.MaxRecvMsgSize(o.MaxMessageLength), grpc.MaxSendMsgSize(o.MaxMessageLength))
	} else {
		opts = append(opts, grpc.MaxRecvMsgSize(1<<31-1), grpc.MaxSendMsgSize(1<<31-1))
	}
	s.grpc = grpc.NewServer(opts...)
	pb.RegisterBentoServiceServer(s.grpc, s)
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	if o.Reflection {
		reflection.Register(s.grpc)
	}
	s.setServing(healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
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
	a.metrics.Done(start, errs.HTTPStatus(status.Code(err)))
	return resp, err
}

func (s *Server) names() []string {
	out := make([]string, 0, len(s.o.Endpoints))
	for _, ep := range s.o.Endpoints {
		out = append(out, ep.Name)
	}
	return out
}

func (s *Server) call(ctx context.Context, a *api, req *pb.Request) (resp *pb.Response, err error) {
	if max := int64(s.o.MaxConcurrency); max > 0 {
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		if n > max {
			return nil, status.Error(codes.ResourceExhausted, "Too many requests")
		}
	}
	if s.o.Timeout > 0 {
		dl := deadline.New(ctx, s.o.Timeout)
		defer dl.Release()
		ctx = dl
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in API", "api", a.ep.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp, err = nil, status.Error(codes.Internal,
				"An error has occurred in user code when handling this request; see the server logs for details")
		}
	}()
	resp, err = a.ep.Call(ctx, req)
	if err != nil {
		return nil, toStatus(ctx, s.log, a.ep.Name, err)
	}
	return resp, nil
}

// toStatus converts an API error to a gRPC status error.
func toStatus(ctx context.Context, log *slog.Logger, apiName string, err error) error {
	if _, ok := status.FromError(err); ok && !isBentoError(err) {
		return err
	}
	st, _, msg := errs.Classify(err)
	if errors.Is(err, context.DeadlineExceeded) || (ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && st == errs.StatusClientClosed) {
		st = 504
	}
	if st >= 500 {
		log.Error("API error", "api", apiName, "status", st, "error", err.Error())
	}
	return status.Error(errs.GRPCCode(st), msg)
}

func isBentoError(err error) bool {
	var e *errs.Error
	return errors.As(err, &e)
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

func descriptorMeta(spec iospec.Spec) (*pb.ServiceMetadataResponse_DescriptorMetadata, error) {
	attrs, err := structpb.NewStruct(normalize(spec.Attributes))
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

package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// APINameKey is the span attribute naming the API a gRPC call asked for.
const APINameKey = attribute.Key("bentoml.api_name")

// UnaryServerInterceptor makes a server span per gRPC call, continuing the
// traceparent and baggage of its metadata, named after the RPC method and
// carrying the API name (requests with a GetApiName method) and the gRPC
// status code. With tracing off it returns nil.
func (t *Tracing) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	if !t.On() {
		return nil
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if t.Excluded(info.FullMethod) {
			return handler(ctx, req)
		}
		md, _ := metadata.FromIncomingContext(ctx)
		ctx = t.propagator.Extract(ctx, metadataCarrier(md))
		name := info.FullMethod
		if len(name) > 0 && name[0] == '/' {
			name = name[1:]
		}
		ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.RPCSystemNameKey.String("grpc"), attribute.String("rpc.method", info.FullMethod)))
		if a, ok := req.(interface{ GetApiName() string }); ok {
			span.SetAttributes(APINameKey.String(a.GetApiName()))
		}
		defer span.End()
		resp, err := handler(ctx, req)
		st := status.Convert(err)
		span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(st.Code())))
		if err != nil {
			span.SetStatus(codes.Error, st.Code().String())
		}
		return resp, err
	}
}

// metadataCarrier reads gRPC metadata as a propagation.TextMapCarrier.
type metadataCarrier metadata.MD

var _ propagation.TextMapCarrier = metadataCarrier(nil)

func (m metadataCarrier) Get(key string) string {
	if v := metadata.MD(m).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (m metadataCarrier) Set(key, value string) { metadata.MD(m).Set(key, value) }

func (m metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

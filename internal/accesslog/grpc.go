package accesslog

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// UnaryInterceptor is the access log of a gRPC server: one Info record per
// unary call, message "access", with remote, scheme ("grpc"), method (the
// full method name), api_name (for BentoService calls), status (the gRPC
// code), duration_ms and, when switched on in o, the request and response
// message sizes and content types ("application/grpc"). o.Skip and
// o.RequestIDHeader are not used.
func UnaryInterceptor(o Options) grpc.UnaryServerInterceptor {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !log.Enabled(ctx, slog.LevelInfo) {
			return handler(ctx, req)
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		var buf [12]slog.Attr
		attrs := buf[:0]
		remote := ""
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			remote = p.Addr.String()
		}
		attrs = append(attrs, slog.String("remote", remote), slog.String("scheme", "grpc"), slog.String("method", info.FullMethod))
		if r, ok := req.(interface{ GetApiName() string }); ok {
			attrs = append(attrs, slog.String("api_name", r.GetApiName()))
		}
		if o.RequestContentLength {
			attrs = append(attrs, slog.Int("request_content_length", size(req)))
		}
		if o.RequestContentType {
			attrs = append(attrs, slog.String("request_content_type", "application/grpc"))
		}
		attrs = append(attrs, slog.String("status", status.Code(err).String()))
		if o.ResponseContentLength {
			attrs = append(attrs, slog.Int("response_content_length", size(resp)))
		}
		if o.ResponseContentType {
			attrs = append(attrs, slog.String("response_content_type", "application/grpc"))
		}
		attrs = append(attrs, slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
		log.LogAttrs(ctx, slog.LevelInfo, "access", attrs...)
		return resp, err
	}
}

func size(m any) int {
	if pm, ok := m.(proto.Message); ok && pm != nil {
		return proto.Size(pm)
	}
	return 0
}

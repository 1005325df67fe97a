package bento_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/pb"
)

func startGRPC(t testing.TB, svc *bento.Service, cfg *config.Config) (*bento.Server, pb.BentoServiceClient, *grpc.ClientConn) {
	t.Helper()
	return startGRPCWith(t, svc, cfg, quietLogger(t))
}

// startGRPCWith is startGRPC with a given logger.
func startGRPCWith(t testing.TB, svc *bento.Service, cfg *config.Config, log *slog.Logger) (*bento.Server, pb.BentoServiceClient, *grpc.ClientConn) {
	t.Helper()
	if cfg == nil {
		cfg = testConfig(t)
	}
	srv, err := bento.StartGRPC(context.Background(), svc, cfg, bento.Logger(log))
	if err != nil {
		t.Fatalf("StartGRPC: %v", err)
	}
	conn, err := grpc.NewClient(srv.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		shutdown(t, srv)
	})
	return srv, pb.NewBentoServiceClient(conn), conn
}

func TestGRPCCall(t *testing.T) {
	cfg := testConfig(t)
	cfg.APIServer.Traffic.Timeout = 0.3
	srv, c, _ := startGRPC(t, kitchenSink(t), cfg)
	png4x3 := pngBytes(t, 4, 3)
	jsonPoint, _ := structpb.NewValue(map[string]any{"x": 1, "y": 2})
	text := func(api, s string) *pb.Request {
		return &pb.Request{ApiName: api, Content: &pb.Request_Text{Text: wrapperspb.String(s)}}
	}
	tests := []struct {
		name string
		req  *pb.Request
		code codes.Code
		want *pb.Response
	}{
		{name: "text", req: text("echo", "héllo"), want: &pb.Response{Content: &pb.Response_Text{Text: wrapperspb.String("héllo")}}},
		{name: "text via runner", req: text("shout", "abc"), want: &pb.Response{Content: &pb.Response_Text{Text: wrapperspb.String("ABC")}}},
		{name: "serialized_bytes text", req: &pb.Request{ApiName: "shout", Content: &pb.Request_SerializedBytes{SerializedBytes: []byte("xyz")}},
			want: &pb.Response{Content: &pb.Response_Text{Text: wrapperspb.String("XYZ")}}},
		{name: "json", req: &pb.Request{ApiName: "point", Content: &pb.Request_Json{Json: jsonPoint}},
			want: &pb.Response{Content: &pb.Response_Json{Json: mustValue(t, map[string]any{"x": 2, "y": 1})}}},
		{name: "serialized_bytes json", req: &pb.Request{ApiName: "point", Content: &pb.Request_SerializedBytes{SerializedBytes: []byte(`{"x":5,"y":6}`)}},
			want: &pb.Response{Content: &pb.Response_Json{Json: mustValue(t, map[string]any{"x": 6, "y": 5})}}},
		{name: "ndarray", req: &pb.Request{ApiName: "sum", Content: &pb.Request_Ndarray{Ndarray: &pb.NDArray{
			Dtype: pb.NDArray_DTYPE_DOUBLE, Shape: []int32{2, 2}, DoubleValues: []float64{1, 2, 3.5, 4}}}},
			want: &pb.Response{Content: &pb.Response_Ndarray{Ndarray: &pb.NDArray{Dtype: pb.NDArray_DTYPE_DOUBLE, Shape: []int32{2}, DoubleValues: []float64{3, 7.5}}}}},
		{name: "image file", req: &pb.Request{ApiName: "size", Content: &pb.Request_File{File: &pb.File{Kind: proto.String("image/png"), Content: png4x3}}},
			want: &pb.Response{Content: &pb.Response_Json{Json: mustValue(t, map[string]any{"w": 4, "h": 3})}}},
		{name: "image serialized_bytes", req: &pb.Request{ApiName: "size", Content: &pb.Request_SerializedBytes{SerializedBytes: png4x3}},
			want: &pb.Response{Content: &pb.Response_Json{Json: mustValue(t, map[string]any{"w": 4, "h": 3})}}},
		{name: "multipart", req: &pb.Request{ApiName: "form", Content: &pb.Request_Multipart{Multipart: &pb.Multipart{Fields: map[string]*pb.Part{
			"note": {Representation: &pb.Part_Text{Text: wrapperspb.String("hi")}},
			"pt":   {Representation: &pb.Part_Json{Json: jsonPoint}},
		}}}}, want: &pb.Response{Content: &pb.Response_Json{Json: mustValue(t, map[string]any{"note": "hi", "x": 1})}}},
		{name: "unknown api", req: text("nope", "x"), code: codes.InvalidArgument},
		{name: "wrong field", req: &pb.Request{ApiName: "echo", Content: &pb.Request_Json{Json: jsonPoint}}, code: codes.InvalidArgument},
		{name: "no content", req: &pb.Request{ApiName: "echo"}, code: codes.InvalidArgument},
		{name: "undecodable image", req: &pb.Request{ApiName: "size", Content: &pb.Request_File{File: &pb.File{Kind: proto.String("image/png"), Content: []byte("nope")}}}, code: codes.InvalidArgument},
		{name: "ndarray shape mismatch", req: &pb.Request{ApiName: "sum", Content: &pb.Request_Ndarray{Ndarray: &pb.NDArray{
			Dtype: pb.NDArray_DTYPE_DOUBLE, Shape: []int32{1, 3}, DoubleValues: []float64{1, 2, 3}}}}, code: codes.InvalidArgument},
		{name: "user BadInput", req: text("fail", "bad"), code: codes.InvalidArgument},
		{name: "user NotFound", req: text("fail", "missing"), code: codes.NotFound},
		{name: "user Unavailable", req: text("fail", "busy"), code: codes.Unavailable},
		{name: "user plain error", req: text("fail", "secret"), code: codes.Internal},
		{name: "user panic", req: text("fail", "panic"), code: codes.Internal},
		{name: "model panic", req: text("shout", "model-panic"), code: codes.Internal},
		{name: "timeout", req: text("slow", "2s"), code: codes.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Call(context.Background(), tc.req)
			if got := status.Code(err); got != tc.code {
				t.Fatalf("code %v (%v), want %v", got, err, tc.code)
			}
			if tc.code != codes.OK {
				if msg := status.Convert(err).Message(); msg == "" || containsAny(msg, "hunter2", "exploded") {
					t.Errorf("message %q empty or leaking", msg)
				}
				return
			}
			if !proto.Equal(resp, tc.want) {
				t.Errorf("response\n%v\nwant\n%v", resp, tc.want)
			}
		})
	}
	t.Run("metrics", func(t *testing.T) {
		for _, path := range []string{"/", "/metrics"} {
			fams := scrape(t, srv.MetricsURL()[:len(srv.MetricsURL())-1]+path)
			for _, c := range []struct {
				api, code string
				want      float64
			}{{"echo", "200", 1}, {"shout", "200", 2}, {"shout", "500", 1}, {"fail", "400", 1}, {"fail", "404", 1},
				{"fail", "503", 1}, {"fail", "500", 2}, {"slow", "504", 1}, {"<unmatched>", "400", 1}, {"echo", "400", 2}} {
				labels := map[string]string{"api_name": c.api, "http_response_code": c.code, "service_name": "kitchen_sink", "service_version": "1.2.3"}
				if got, _ := sample(fams, "bentoml_api_server_request_total", labels); got != c.want {
					t.Errorf("%s: request_total%v = %v, want %v", path, labels, got, c.want)
				}
				if got, _ := sample(fams, "bentoml_api_server_request_duration_seconds", labels); got != c.want {
					t.Errorf("%s: duration count%v = %v, want %v", path, labels, got, c.want)
				}
			}
			if _, ok := fams["bentoml_runner_request_total"]; !ok {
				t.Errorf("%s: runner metrics missing", path)
			}
		}
	})
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if len(sub) > 0 && len(s) >= len(sub) {
			for i := 0; i+len(sub) <= len(s); i++ {
				if s[i:i+len(sub)] == sub {
					return true
				}
			}
		}
	}
	return false
}

func mustValue(t testing.TB, v any) *structpb.Value {
	t.Helper()
	pv, err := structpb.NewValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return pv
}

func TestGRPCServiceMetadata(t *testing.T) {
	_, c, _ := startGRPC(t, kitchenSink(t), nil)
	md, err := c.ServiceMetadata(context.Background(), &pb.ServiceMetadataRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if md.GetName() != "kitchen_sink" {
		t.Errorf("name %q", md.GetName())
	}
	got := map[string][2]string{}
	for _, a := range md.GetApis() {
		got[a.GetName()] = [2]string{a.GetInput().GetDescriptorId(), a.GetOutput().GetDescriptorId()}
	}
	want := map[string][2]string{
		"echo":  {"bentoml.io.Text", "bentoml.io.Text"},
		"point": {"bentoml.io.JSON", "bentoml.io.JSON"},
		"sum":   {"bentoml.io.NumpyNdarray", "bentoml.io.NumpyNdarray"},
		"size":  {"bentoml.io.Image", "bentoml.io.JSON"},
		"form":  {"bentoml.io.Multipart", "bentoml.io.JSON"},
	}
	for name, ids := range want {
		if got[name] != ids {
			t.Errorf("%s: %v, want %v", name, got[name], ids)
		}
	}
	// The attributes are BentoML's to_spec() minus the id: {"args": {...}},
	// or empty for Text, as BentoML 1.1's servicer sends them.
	attrs := map[string][2]string{}
	for _, a := range md.GetApis() {
		in, _ := protojson.Marshal(a.GetInput().GetAttributes())
		out, _ := protojson.Marshal(a.GetOutput().GetAttributes())
		attrs[a.GetName()] = [2]string{compactJSON(t, in), compactJSON(t, out)}
	}
	jsonArgs := `{"args":{"has_json_encoder":false,"has_pydantic_model":false}}`
	wantAttrs := map[string][2]string{
		"echo":  {`{}`, `{}`},
		"point": {jsonArgs, jsonArgs},
		"sum":   {`{"args":{"dtype":"float64","enforce_dtype":false,"enforce_shape":true,"shape":[-1,2]}}`, `{"args":{"dtype":"float64","enforce_dtype":false,"enforce_shape":false,"shape":null}}`},
		"size":  {`{"args":{"allowed_mime_types":["image/png","image/jpeg","image/gif"],"mime_type":"image/png","pilmode":"RGB"}}`, jsonArgs},
		"form":  {`{"args":{"note":{"id":"bentoml.io.Text"},"pt":{"args":{"has_json_encoder":false,"has_pydantic_model":false},"id":"bentoml.io.JSON"}}}`, jsonArgs},
	}
	for name, w := range wantAttrs {
		if attrs[name] != w {
			t.Errorf("%s attributes:\n got %v\nwant %v", name, attrs[name], w)
		}
	}
}

// compactJSON re-encodes b with sorted keys and no spaces.
func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestGRPCHealthAndReflection(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		t.Run("reflection="+strconv.FormatBool(enabled), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.APIServer.GRPC.Reflection.Enabled = enabled
			srv, _, conn := startGRPC(t, kitchenSink(t), cfg)
			hc := healthpb.NewHealthClient(conn)
			for _, svcName := range []string{"", "bentoml.grpc.v1.BentoService"} {
				resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svcName})
				if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
					t.Fatalf("health %q: %v %v", svcName, resp, err)
				}
			}
			rc := reflectionpb.NewServerReflectionClient(conn)
			stream, err := rc.ServerReflectionInfo(context.Background())
			if err == nil {
				// Send may see io.EOF when the server already ended the
				// stream; Recv then returns the real status.
				if err = stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); errors.Is(err, io.EOF) {
					err = nil
				}
			}
			var resp *reflectionpb.ServerReflectionResponse
			if err == nil {
				resp, err = stream.Recv()
			}
			if !enabled {
				if status.Code(err) != codes.Unimplemented {
					t.Fatalf("reflection disabled: err %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range resp.GetListServicesResponse().GetService() {
				names = append(names, s.GetName())
			}
			if !containsAny(fmt.Sprint(names), "bentoml.grpc.v1.BentoService") {
				t.Errorf("services %v", names)
			}
			// health turns NOT_SERVING on shutdown
			watch, err := hc.Watch(context.Background(), &healthpb.HealthCheckRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("watch: %v %v", r, err)
			}
			go srv.Shutdown(context.Background())
			r, err := watch.Recv()
			if err == nil && r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
				t.Errorf("after shutdown: %v", r.GetStatus())
			}
		})
	}
}

func TestGRPCGracefulStopLosesNoCall(t *testing.T) {
	srv, c, _ := startGRPC(t, kitchenSink(t), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			resp, err := c.Call(context.Background(), &pb.Request{ApiName: "slow", Content: &pb.Request_Text{Text: wrapperspb.String("300ms")}})
			if err != nil {
				errs <- err
				return
			}
			if resp.GetText().GetValue() != "300ms" {
				errs <- fmt.Errorf("response %v", resp)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("in-flight call failed: %v", err)
	}
	if _, err := net.DialTimeout("tcp", srv.Addr().String(), time.Second); err == nil {
		t.Error("listener still accepting after shutdown")
	}
}

package bento

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/grpcserver"
	"github.com/gobento/bento/internal/instrument"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

type fuzzPoint struct {
	X int     `json:"x"`
	Y float64 `json:"y"`
}

// fuzzGRPCService has one API per descriptor (and per notable option),
// most echoing their input so that decoding and encoding both run on
// fuzzed values; text goes through a runner method, floats through a
// batchable one.
func fuzzGRPCService() *Service {
	svc := NewService("fuzz_grpc")
	r := NewRunner(svc, "upper", func() (int, error) { return 0, nil })
	upper := Method(r, "upper", func(_ int, _ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	sum := BatchMethod(r, "sum", func(_ int, _ context.Context, rows [][]float64) ([]float64, error) {
		out := make([]float64, len(rows))
		for i, row := range rows {
			for _, v := range row {
				out[i] += v
			}
		}
		return out, nil
	}, MaxBatchSize(16))
	API(svc, "text", Text(), Text(), upper.Run)
	API(svc, "json_any", JSON[any](), JSON[any](), fuzzEcho[any])
	API(svc, "json_strict", JSON[fuzzPoint](Strict()), JSON[fuzzPoint](), fuzzEcho[fuzzPoint])
	API(svc, "nd_rows", NDArray[[][]float64](Shape(-1, 2)), NDArray[[]float64](),
		func(ctx context.Context, rows [][]float64) ([]float64, error) {
			if len(rows) == 0 {
				return []float64{}, nil
			}
			return sum.RunMany(ctx, rows)
		})
	API(svc, "nd_i64", NDArray[[]int64](), NDArray[[]int64](), fuzzEcho[[]int64])
	API(svc, "nd_f32", NDArray[[][]float32](DType("float32")), NDArray[[][]float32](), fuzzEcho[[][]float32])
	API(svc, "nd_u32", NDArray[[]uint32](DType("uint32")), NDArray[[]uint32](), fuzzEcho[[]uint32])
	API(svc, "nd_bool", NDArray[[]bool](), NDArray[[]bool](), fuzzEcho[[]bool])
	API(svc, "image", Image(MaxImagePixels(1<<16)), JSON[map[string]int](),
		func(_ context.Context, img image.Image) (map[string]int, error) {
			b := img.Bounds()
			return map[string]int{"w": b.Dx(), "h": b.Dy()}, nil
		})
	API(svc, "file", File(), File(), fuzzEcho[FileData])
	form := Multipart(Field("t", Text()), Field("j", JSON[any]()), Field("a", NDArray[[]float64]()))
	API(svc, "multi", form, form, fuzzEcho[Parts])
	return svc
}

func fuzzEcho[T any](_ context.Context, v T) (T, error) { return v, nil }

// fuzzSeed is a seed request and whether it must succeed.
type fuzzSeed struct {
	req *pb.Request
	ok  bool
}

// fuzzGRPCSeeds are well-formed and malformed requests for every API.
func fuzzGRPCSeeds() []fuzzSeed {
	text := func(api, s string) *pb.Request {
		return &pb.Request{ApiName: api, Content: &pb.Request_Text{Text: wrapperspb.String(s)}}
	}
	raw := func(api, s string) *pb.Request {
		return &pb.Request{ApiName: api, Content: &pb.Request_SerializedBytes{SerializedBytes: []byte(s)}}
	}
	jsonv := func(api string, v any) *pb.Request {
		pv, err := structpb.NewValue(v)
		if err != nil {
			panic(err)
		}
		return &pb.Request{ApiName: api, Content: &pb.Request_Json{Json: pv}}
	}
	nd := func(api string, a *pb.NDArray) *pb.Request {
		return &pb.Request{ApiName: api, Content: &pb.Request_Ndarray{Ndarray: a}}
	}
	file := func(api, kind string, b []byte) *pb.Request {
		f := &pb.File{Content: b}
		if kind != "" {
			f.Kind = proto.String(kind)
		}
		return &pb.Request{ApiName: api, Content: &pb.Request_File{File: f}}
	}
	var gifBuf bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White})
	if err := gif.Encode(&gifBuf, pal, nil); err != nil {
		panic(err)
	}
	img := gifBuf.Bytes()
	multi := func(parts map[string]*pb.Part) *pb.Request {
		return &pb.Request{ApiName: "multi", Content: &pb.Request_Multipart{Multipart: &pb.Multipart{Fields: parts}}}
	}
	return []fuzzSeed{
		{text("text", "héllo"), true},
		{raw("text", "raw bytes"), true},
		{&pb.Request{ApiName: "text"}, false},
		{text("no_such_api", "x"), false},
		{jsonv("json_any", map[string]any{"a": []any{1.0, "b", nil, true}}), true},
		{raw("json_any", `{"deep":[[[[{"x":1}]]]]}`), true},
		{jsonv("json_strict", map[string]any{"x": 1.0, "y": 2.5}), true},
		{jsonv("json_strict", map[string]any{"x": 1.5, "z": 1.0}), false},
		{raw("json_strict", `{"x":1e400}`), false},
		{text("json_any", "not json"), false},
		{nd("nd_rows", &pb.NDArray{Dtype: pb.NDArray_DTYPE_DOUBLE, Shape: []int32{2, 2}, DoubleValues: []float64{1, 2, 3, 4}}), true},
		{nd("nd_rows", &pb.NDArray{Dtype: pb.NDArray_DTYPE_DOUBLE, Shape: []int32{3, 2}, DoubleValues: []float64{1, 2}}), false},
		{nd("nd_rows", &pb.NDArray{Shape: []int32{-1, 2}, FloatValues: []float32{1, 2}}), false},
		{raw("nd_rows", `[[1,2],[3,4]]`), true},
		{nd("nd_i64", &pb.NDArray{Dtype: pb.NDArray_DTYPE_INT64, Shape: []int32{3}, Int64Values: []int64{-1 << 63, 0, 1<<63 - 1}}), true},
		{nd("nd_i64", &pb.NDArray{Dtype: pb.NDArray_DTYPE_DOUBLE, DoubleValues: []float64{1.5}}), false},
		{nd("nd_f32", &pb.NDArray{Dtype: pb.NDArray_DTYPE_FLOAT, Shape: []int32{1, 2}, FloatValues: []float32{1.5, -2}}), true},
		{nd("nd_f32", &pb.NDArray{Dtype: pb.NDArray_DTYPE_DOUBLE, Shape: []int32{1, 1}, DoubleValues: []float64{1e300}}), false},
		{nd("nd_u32", &pb.NDArray{Dtype: pb.NDArray_DTYPE_UINT32, Uint32Values: []uint32{1, 1<<32 - 1}}), true},
		{nd("nd_u32", &pb.NDArray{Dtype: pb.NDArray_DTYPE_INT64, Int64Values: []int64{-1}}), false},
		{nd("nd_bool", &pb.NDArray{Dtype: pb.NDArray_DTYPE_BOOL, BoolValues: []bool{true, false}}), true},
		{nd("nd_bool", &pb.NDArray{Dtype: pb.NDArray_DTYPE_STRING, StringValues: []string{"true"}}), false},
		{file("image", "image/gif", img), true},
		{file("image", "", img), true},
		{file("image", "text/plain", img), false},
		{raw("image", string(img)), true},
		{file("image", "image/png", []byte("\x89PNG\r\n\x1a\n")), false},
		{file("file", "application/pdf", []byte("%PDF-1.4")), true},
		{raw("file", "bytes"), true},
		{multi(map[string]*pb.Part{
			"t": {Representation: &pb.Part_Text{Text: wrapperspb.String("hi")}},
			"j": {Representation: &pb.Part_Json{Json: structpb.NewNumberValue(1)}},
			"a": {Representation: &pb.Part_SerializedBytes{SerializedBytes: []byte("[1,2]")}},
		}), true},
		{multi(map[string]*pb.Part{
			"t":     {Representation: &pb.Part_Ndarray{Ndarray: &pb.NDArray{}}},
			"extra": {},
		}), false},
		{&pb.Request{ApiName: "json_any", Content: &pb.Request_Dataframe{Dataframe: &pb.DataFrame{ColumnNames: []string{"a"}}}}, false},
		{&pb.Request{ApiName: "nd_rows", Content: &pb.Request_Series{Series: &pb.Series{}}}, false},
	}
}

// fuzzGRPCHarness is a started runtime with the fuzz service's endpoints
// and a gRPC server built on them (called in process, without a network).
type fuzzGRPCHarness struct {
	rt  *runtime
	gs  *grpcserver.Server
	eps map[string]func(context.Context, *pb.Request) (*pb.Response, error)
}

func newFuzzGRPCHarness(tb testing.TB) *fuzzGRPCHarness {
	tb.Helper()
	svc := fuzzGRPCService()
	log := slog.New(slog.DiscardHandler)
	rt, err := newRuntime(svc, config.Default(), instrument.GRPC, serverOptions{log: log})
	if err != nil {
		tb.Fatal(err)
	}
	if err := rt.startRunners(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.stopRunners(context.Background()) })
	eps := svc.grpcEndpoints()
	gs, err := grpcserver.New(grpcserver.Options{ServiceName: svc.Name(), Endpoints: eps, Metrics: rt.metrics, Log: log})
	if err != nil {
		tb.Fatal(err)
	}
	h := &fuzzGRPCHarness{rt: rt, gs: gs, eps: map[string]func(context.Context, *pb.Request) (*pb.Response, error){}}
	for _, ep := range eps {
		h.eps[ep.Name] = func(ctx context.Context, req *pb.Request) (*pb.Response, error) {
			return ep.Call(ctx, req, &iospec.Phases{})
		}
	}
	return h
}

// check runs req through the gRPC server's Call (routing, recovery, status
// mapping, metrics) and then through every API's call path directly, where
// a panic is not recovered and fails the test.
func (h *fuzzGRPCHarness) check(t *testing.T, req *pb.Request) {
	ctx := context.Background()
	resp, err := h.gs.Call(ctx, req)
	switch c := status.Code(err); c {
	case codes.OK:
		if _, merr := proto.Marshal(resp); merr != nil {
			t.Fatalf("Call(%s): the response cannot be sent: %v", req.GetApiName(), merr)
		}
	case codes.InvalidArgument:
	default:
		t.Fatalf("Call(%s): %v (code %v): a client's request must succeed or be INVALID_ARGUMENT", req.GetApiName(), err, c)
	}
	for name, call := range h.eps {
		resp, err := call(ctx, req)
		if err != nil {
			st, typ, msg := errs.Classify(err)
			if st < 400 || st > 499 {
				t.Fatalf("API %s: error %v maps to status %d (%s)", name, err, st, typ)
			}
			if len(msg) > 1000 {
				t.Fatalf("API %s: %d-byte error message", name, len(msg))
			}
			continue
		}
		if _, err := proto.Marshal(resp); err != nil {
			t.Fatalf("API %s: the response cannot be sent: %v", name, err)
		}
	}
	// requestValue and responseOf map the same oneof fields both ways
	v := requestValue(req)
	if v.Field == "" {
		if req.GetContent() != nil {
			t.Fatalf("content %T not mapped", req.GetContent())
		}
		return
	}
	back, err := responseOf(v)
	if err != nil {
		t.Fatalf("responseOf(%s): %v", v.Field, err)
	}
	if got, want := fmt.Sprintf("%T", back.GetContent()), strings.Replace(fmt.Sprintf("%T", req.GetContent()), "Request_", "Response_", 1); got != want {
		t.Fatalf("request %s came back as %s", want, got)
	}
}

// FuzzGRPCRequest decodes arbitrary bytes as a bentoml.grpc.v1 Request and
// serves it: no input may panic, and every failure must be a client error
// (INVALID_ARGUMENT; a 4xx *Error inside), never an internal one.
func FuzzGRPCRequest(f *testing.F) {
	for _, seed := range fuzzGRPCSeeds() {
		b, err := proto.Marshal(seed.req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	h := newFuzzGRPCHarness(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var req pb.Request
		if err := proto.Unmarshal(data, &req); err != nil {
			return
		}
		h.check(t, &req)
	})
}

// TestGRPCSeedsServe checks the fuzz seeds' expected outcomes, so that the
// harness is known to tell success from failure.
func TestGRPCSeedsServe(t *testing.T) {
	h := newFuzzGRPCHarness(t)
	for i, seed := range fuzzGRPCSeeds() {
		t.Run(fmt.Sprintf("%d-%s", i, seed.req.GetApiName()), func(t *testing.T) {
			h.check(t, seed.req)
			_, err := h.gs.Call(context.Background(), seed.req)
			if got := err == nil; got != seed.ok {
				t.Errorf("success = %v (%v), want %v", got, err, seed.ok)
			}
		})
	}
}

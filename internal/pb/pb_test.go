package pb_test

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento/internal/pb"
)

const pkg = "bentoml.grpc.v1."

// fileDesc is the descriptor of the generated service.proto.
func fileDesc() protoreflect.FileDescriptor { return pb.File_bentoml_grpc_v1_service_proto }

// message looks up a message (possibly nested, e.g. "ServiceMetadataResponse.InferenceAPI")
// in the generated file by its name relative to the package.
func message(t *testing.T, rel string) protoreflect.MessageDescriptor {
	t.Helper()
	d := fileDesc()
	var md protoreflect.MessageDescriptor
	msgs := d.Messages()
	for _, part := range splitDots(rel) {
		md = msgs.ByName(protoreflect.Name(part))
		if md == nil {
			t.Fatalf("message %s not found", rel)
		}
		msgs = md.Messages()
	}
	return md
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func TestFile(t *testing.T) {
	d := fileDesc()
	if got, want := d.Path(), "bentoml/grpc/v1/service.proto"; got != want {
		t.Errorf("Path() = %q, want %q", got, want)
	}
	if got, want := d.Package(), protoreflect.FullName("bentoml.grpc.v1"); got != want {
		t.Errorf("Package() = %q, want %q", got, want)
	}
	if got := d.Syntax(); got != protoreflect.Proto3 {
		t.Errorf("Syntax() = %v, want proto3", got)
	}
	var imports []string
	for i := 0; i < d.Imports().Len(); i++ {
		imports = append(imports, d.Imports().Get(i).Path())
	}
	wantImports := []string{"google/protobuf/struct.proto", "google/protobuf/wrappers.proto"}
	if len(imports) != len(wantImports) {
		t.Fatalf("imports = %v, want %v", imports, wantImports)
	}
	for i := range wantImports {
		if imports[i] != wantImports[i] {
			t.Errorf("import %d = %q, want %q", i, imports[i], wantImports[i])
		}
	}

	opts, ok := d.Options().(*descriptorpb.FileOptions)
	if !ok {
		t.Fatalf("Options() is %T", d.Options())
	}
	optTests := []struct {
		name      string
		got, want any
	}{
		{"go_package", opts.GetGoPackage(), "github.com/gobento/bento/internal/pb;pb"},
		{"java_package", opts.GetJavaPackage(), "com.bentoml.grpc.v1"},
		{"java_outer_classname", opts.GetJavaOuterClassname(), "ServiceProto"},
		{"java_multiple_files", opts.GetJavaMultipleFiles(), true},
		{"objc_class_prefix", opts.GetObjcClassPrefix(), "SVC"},
		{"cc_enable_arenas", opts.GetCcEnableArenas(), true},
		{"py_generic_services", opts.GetPyGenericServices(), true},
	}
	for _, tt := range optTests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
			}
		})
	}
}

func TestService(t *testing.T) {
	sd := fileDesc().Services().ByName("BentoService")
	if sd == nil {
		t.Fatal("service BentoService not found")
	}
	if got, want := sd.FullName(), protoreflect.FullName("bentoml.grpc.v1.BentoService"); got != want {
		t.Errorf("FullName() = %q, want %q", got, want)
	}
	if got, want := pb.BentoService_ServiceDesc.ServiceName, "bentoml.grpc.v1.BentoService"; got != want {
		t.Errorf("ServiceDesc.ServiceName = %q, want %q", got, want)
	}
	methods := []struct {
		name, in, out, fullMethod, generated string
	}{
		{"Call", "Request", "Response", "/bentoml.grpc.v1.BentoService/Call", pb.BentoService_Call_FullMethodName},
		{"ServiceMetadata", "ServiceMetadataRequest", "ServiceMetadataResponse",
			"/bentoml.grpc.v1.BentoService/ServiceMetadata", pb.BentoService_ServiceMetadata_FullMethodName},
	}
	if got := sd.Methods().Len(); got != len(methods) {
		t.Errorf("BentoService has %d methods, want %d", got, len(methods))
	}
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			md := sd.Methods().ByName(protoreflect.Name(m.name))
			if md == nil {
				t.Fatalf("method %s not found", m.name)
			}
			if got := string(md.Input().FullName()); got != pkg+m.in {
				t.Errorf("input = %s, want %s", got, pkg+m.in)
			}
			if got := string(md.Output().FullName()); got != pkg+m.out {
				t.Errorf("output = %s, want %s", got, pkg+m.out)
			}
			if md.IsStreamingClient() || md.IsStreamingServer() {
				t.Errorf("method %s is streaming, want unary", m.name)
			}
			if m.generated != m.fullMethod {
				t.Errorf("generated full method name = %q, want %q", m.generated, m.fullMethod)
			}
		})
	}
}

// field describes one expected field of a message.
type field struct {
	num      protowire.Number
	name     string
	kind     protoreflect.Kind
	typ      string // full name of the message or enum type, if any
	oneof    string // name of the (non-synthetic) oneof, if any
	list     bool   // repeated
	packed   bool   // packed on the wire
	optional bool   // proto3 `optional` keyword
}

const (
	msgK    = protoreflect.MessageKind
	bytesK  = protoreflect.BytesKind
	stringK = protoreflect.StringKind
)

// contentFields returns the oneof members shared by Request, Response and Part,
// numbered as given.
func contentFields(oneof string, ndarray, dataframe, series, file, text, json, serialized protowire.Number) []field {
	return []field{
		{num: ndarray, name: "ndarray", kind: msgK, typ: pkg + "NDArray", oneof: oneof},
		{num: dataframe, name: "dataframe", kind: msgK, typ: pkg + "DataFrame", oneof: oneof},
		{num: series, name: "series", kind: msgK, typ: pkg + "Series", oneof: oneof},
		{num: file, name: "file", kind: msgK, typ: pkg + "File", oneof: oneof},
		{num: text, name: "text", kind: msgK, typ: "google.protobuf.StringValue", oneof: oneof},
		{num: json, name: "json", kind: msgK, typ: "google.protobuf.Value", oneof: oneof},
		{num: serialized, name: "serialized_bytes", kind: bytesK, oneof: oneof},
	}
}

func TestMessageFields(t *testing.T) {
	tests := []struct {
		msg    string
		fields []field
	}{
		{"Request", append(contentFields("content", 3, 5, 6, 7, 8, 9, 2),
			field{num: 1, name: "api_name", kind: stringK},
			field{num: 10, name: "multipart", kind: msgK, typ: pkg + "Multipart", oneof: "content"},
		)},
		{"Response", append(contentFields("content", 1, 3, 5, 6, 7, 8, 2),
			field{num: 9, name: "multipart", kind: msgK, typ: pkg + "Multipart", oneof: "content"},
		)},
		{"Part", contentFields("representation", 1, 3, 5, 6, 7, 8, 4)},
		{"Multipart", []field{
			{num: 1, name: "fields", kind: msgK, typ: pkg + "Multipart.FieldsEntry", list: true},
		}},
		{"File", []field{
			{num: 3, name: "kind", kind: stringK, optional: true},
			{num: 2, name: "content", kind: bytesK},
		}},
		{"DataFrame", []field{
			{num: 1, name: "column_names", kind: stringK, list: true},
			{num: 2, name: "columns", kind: msgK, typ: pkg + "Series", list: true},
		}},
		{"Series", []field{
			{num: 1, name: "bool_values", kind: protoreflect.BoolKind, list: true, packed: true},
			{num: 2, name: "float_values", kind: protoreflect.FloatKind, list: true, packed: true},
			{num: 3, name: "int32_values", kind: protoreflect.Int32Kind, list: true, packed: true},
			{num: 4, name: "double_values", kind: protoreflect.DoubleKind, list: true, packed: true},
			{num: 5, name: "string_values", kind: stringK, list: true},
			{num: 6, name: "int64_values", kind: protoreflect.Int64Kind, list: true, packed: true},
		}},
		{"NDArray", []field{
			{num: 1, name: "dtype", kind: protoreflect.EnumKind, typ: pkg + "NDArray.DType"},
			{num: 2, name: "shape", kind: protoreflect.Int32Kind, list: true, packed: true},
			{num: 3, name: "float_values", kind: protoreflect.FloatKind, list: true, packed: true},
			{num: 4, name: "double_values", kind: protoreflect.DoubleKind, list: true, packed: true},
			{num: 5, name: "string_values", kind: stringK, list: true},
			{num: 6, name: "bool_values", kind: protoreflect.BoolKind, list: true, packed: true},
			{num: 7, name: "int32_values", kind: protoreflect.Int32Kind, list: true, packed: true},
			{num: 8, name: "int64_values", kind: protoreflect.Int64Kind, list: true, packed: true},
			{num: 9, name: "uint32_values", kind: protoreflect.Uint32Kind, list: true, packed: true},
			{num: 10, name: "uint64_values", kind: protoreflect.Uint64Kind, list: true, packed: true},
		}},
		{"ServiceMetadataRequest", nil},
		{"ServiceMetadataResponse", []field{
			{num: 1, name: "name", kind: stringK},
			{num: 2, name: "apis", kind: msgK, typ: pkg + "ServiceMetadataResponse.InferenceAPI", list: true},
			{num: 3, name: "docs", kind: stringK},
		}},
		{"ServiceMetadataResponse.InferenceAPI", []field{
			{num: 1, name: "name", kind: stringK},
			{num: 2, name: "input", kind: msgK, typ: pkg + "ServiceMetadataResponse.DescriptorMetadata", optional: true},
			{num: 3, name: "output", kind: msgK, typ: pkg + "ServiceMetadataResponse.DescriptorMetadata", optional: true},
			{num: 4, name: "docs", kind: stringK, optional: true},
		}},
		{"ServiceMetadataResponse.DescriptorMetadata", []field{
			{num: 1, name: "descriptor_id", kind: stringK, optional: true},
			{num: 2, name: "attributes", kind: msgK, typ: "google.protobuf.Struct"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			md := message(t, tt.msg)
			if got := string(md.FullName()); got != pkg+tt.msg {
				t.Errorf("FullName() = %s, want %s", got, pkg+tt.msg)
			}
			if got := md.Fields().Len(); got != len(tt.fields) {
				t.Errorf("%s has %d fields, want %d", tt.msg, got, len(tt.fields))
			}
			for _, want := range tt.fields {
				fd := md.Fields().ByNumber(want.num)
				if fd == nil {
					t.Errorf("field #%d (%s) missing", want.num, want.name)
					continue
				}
				if got := string(fd.Name()); got != want.name {
					t.Errorf("field #%d name = %q, want %q", want.num, got, want.name)
				}
				if fd.Kind() != want.kind {
					t.Errorf("field %s kind = %v, want %v", want.name, fd.Kind(), want.kind)
				}
				var typ string
				switch {
				case fd.Message() != nil:
					typ = string(fd.Message().FullName())
				case fd.Enum() != nil:
					typ = string(fd.Enum().FullName())
				}
				if typ != want.typ {
					t.Errorf("field %s type = %q, want %q", want.name, typ, want.typ)
				}
				var oneof string
				if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
					oneof = string(od.Name())
				}
				if oneof != want.oneof {
					t.Errorf("field %s oneof = %q, want %q", want.name, oneof, want.oneof)
				}
				if got := fd.Cardinality() == protoreflect.Repeated; got != want.list {
					t.Errorf("field %s repeated = %v, want %v", want.name, got, want.list)
				}
				if got := fd.IsPacked(); got != want.packed {
					t.Errorf("field %s packed = %v, want %v", want.name, got, want.packed)
				}
				if got := fd.HasOptionalKeyword(); got != want.optional {
					t.Errorf("field %s optional = %v, want %v", want.name, got, want.optional)
				}
			}
		})
	}
}

func TestMultipartIsMap(t *testing.T) {
	fd := message(t, "Multipart").Fields().ByName("fields")
	if !fd.IsMap() {
		t.Fatal("Multipart.fields is not a map")
	}
	if got := fd.MapKey().Kind(); got != protoreflect.StringKind {
		t.Errorf("map key kind = %v, want string", got)
	}
	if got := fd.MapValue().Message().FullName(); got != pkg+"Part" {
		t.Errorf("map value = %s, want %sPart", got, pkg)
	}
}

func TestOneofs(t *testing.T) {
	tests := []struct {
		msg, oneof string
		members    int
	}{
		{"Request", "content", 8},
		{"Response", "content", 8},
		{"Part", "representation", 7},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			md := message(t, tt.msg)
			var real []protoreflect.OneofDescriptor
			for i := 0; i < md.Oneofs().Len(); i++ {
				if od := md.Oneofs().Get(i); !od.IsSynthetic() {
					real = append(real, od)
				}
			}
			if len(real) != 1 || string(real[0].Name()) != tt.oneof {
				t.Fatalf("oneofs of %s = %v, want exactly %q", tt.msg, real, tt.oneof)
			}
			if got := real[0].Fields().Len(); got != tt.members {
				t.Errorf("oneof %s has %d members, want %d", tt.oneof, got, tt.members)
			}
		})
	}
}

func TestDTypeEnum(t *testing.T) {
	ed := message(t, "NDArray").Enums().ByName("DType")
	if ed == nil {
		t.Fatal("enum NDArray.DType not found")
	}
	want := []string{
		"DTYPE_UNSPECIFIED", "DTYPE_FLOAT", "DTYPE_DOUBLE", "DTYPE_BOOL", "DTYPE_INT32",
		"DTYPE_INT64", "DTYPE_UINT32", "DTYPE_UINT64", "DTYPE_STRING",
	}
	if got := ed.Values().Len(); got != len(want) {
		t.Errorf("DType has %d values, want %d", got, len(want))
	}
	for num, name := range want {
		t.Run(name, func(t *testing.T) {
			v := ed.Values().ByName(protoreflect.Name(name))
			if v == nil {
				t.Fatalf("value %s missing", name)
			}
			if got := v.Number(); got != protoreflect.EnumNumber(num) {
				t.Errorf("%s = %d, want %d", name, got, num)
			}
			if got := pb.NDArray_DType(num).String(); got != name {
				t.Errorf("NDArray_DType(%d).String() = %q, want %q", num, got, name)
			}
		})
	}
}

func TestReservedRanges(t *testing.T) {
	// Ranges are half-open [start, end), as protoreflect reports them.
	tests := []struct {
		msg  string
		want [][2]protowire.Number
	}{
		{"Request", [][2]protowire.Number{{4, 5}, {11, 14}}},
		{"Response", [][2]protowire.Number{{4, 5}, {10, 14}}},
		{"Part", [][2]protowire.Number{{2, 3}, {9, 14}}},
		{"File", nil},
		{"NDArray", nil},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			md := message(t, tt.msg)
			rr := md.ReservedRanges()
			if rr.Len() != len(tt.want) {
				t.Fatalf("%s has %d reserved ranges, want %d", tt.msg, rr.Len(), len(tt.want))
			}
			for i, w := range tt.want {
				if got := rr.Get(i); got != w {
					t.Errorf("range %d = %v, want %v", i, got, w)
				}
			}
			if n := md.ReservedNames().Len(); n != 0 {
				t.Errorf("%s has %d reserved names, want 0", tt.msg, n)
			}
		})
	}
}

func TestRequestRoundTrip(t *testing.T) {
	jsonValue, err := structpb.NewValue(map[string]any{"a": 1.5, "b": []any{"x", true}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content any // one of the pb.Request_* oneof wrappers
		oneof   string
	}{
		{"ndarray", &pb.Request_Ndarray{Ndarray: &pb.NDArray{
			Dtype: pb.NDArray_DTYPE_FLOAT, Shape: []int32{2, 2}, FloatValues: []float32{1, 2, 3, 4},
		}}, "ndarray"},
		{"dataframe", &pb.Request_Dataframe{Dataframe: &pb.DataFrame{
			ColumnNames: []string{"a", "b"},
			Columns: []*pb.Series{
				{Int64Values: []int64{1, -2}},
				{StringValues: []string{"x", "y"}},
			},
		}}, "dataframe"},
		{"series", &pb.Request_Series{Series: &pb.Series{DoubleValues: []float64{0.5, -1}}}, "series"},
		{"file", &pb.Request_File{File: &pb.File{Kind: proto.String("image/png"), Content: []byte{0x89, 'P', 'N', 'G'}}}, "file"},
		{"file without kind", &pb.Request_File{File: &pb.File{Content: []byte("raw")}}, "file"},
		{"text", &pb.Request_Text{Text: wrapperspb.String("hello")}, "text"},
		{"json", &pb.Request_Json{Json: jsonValue}, "json"},
		{"multipart", &pb.Request_Multipart{Multipart: &pb.Multipart{Fields: map[string]*pb.Part{
			"img":  {Representation: &pb.Part_File{File: &pb.File{Content: []byte{1, 2}}}},
			"note": {Representation: &pb.Part_Text{Text: wrapperspb.String("n")}},
			"arr":  {Representation: &pb.Part_Ndarray{Ndarray: &pb.NDArray{Uint64Values: []uint64{1 << 40}}}},
			"raw":  {Representation: &pb.Part_SerializedBytes{SerializedBytes: []byte("r")}},
		}}}, "multipart"},
		{"serialized_bytes", &pb.Request_SerializedBytes{SerializedBytes: []byte{0, 1, 2, 255}}, "serialized_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &pb.Request{ApiName: "predict"}
			switch c := tt.content.(type) {
			case *pb.Request_Ndarray:
				in.Content = c
			case *pb.Request_Dataframe:
				in.Content = c
			case *pb.Request_Series:
				in.Content = c
			case *pb.Request_File:
				in.Content = c
			case *pb.Request_Text:
				in.Content = c
			case *pb.Request_Json:
				in.Content = c
			case *pb.Request_Multipart:
				in.Content = c
			case *pb.Request_SerializedBytes:
				in.Content = c
			default:
				t.Fatalf("unexpected content type %T", tt.content)
			}
			b, err := proto.Marshal(in)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			out := new(pb.Request)
			if err := proto.Unmarshal(b, out); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !proto.Equal(in, out) {
				t.Errorf("round trip changed the message:\n in: %v\nout: %v", in, out)
			}
			m := out.ProtoReflect()
			od := m.Descriptor().Oneofs().ByName("content")
			set := m.WhichOneof(od)
			if set == nil || string(set.Name()) != tt.oneof {
				t.Errorf("oneof content holds %v, want %s", set, tt.oneof)
			}
		})
	}
}

func TestFileKindPresence(t *testing.T) {
	// kind is proto3 `optional`: an explicitly empty kind survives the wire.
	in := &pb.File{Kind: proto.String("")}
	b, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := new(pb.File)
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	if out.Kind == nil {
		t.Error("empty but set kind was lost on the wire")
	}
	if err := proto.Unmarshal(nil, out); err != nil {
		t.Fatal(err)
	}
	if out.Kind != nil {
		t.Error("kind set after decoding an empty message")
	}
}

// TestWireFormat decodes messages built by hand with protowire, proving the
// field numbers and wire types that clients put on the wire.
func TestWireFormat(t *testing.T) {
	payload := []byte{0xde, 0xad, 0xbe, 0xef}

	t.Run("Request serialized_bytes", func(t *testing.T) {
		var b []byte
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, "predict")
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, payload)

		got := new(pb.Request)
		if err := proto.Unmarshal(b, got); err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		if got.GetApiName() != "predict" {
			t.Errorf("api_name = %q, want %q", got.GetApiName(), "predict")
		}
		if _, ok := got.GetContent().(*pb.Request_SerializedBytes); !ok {
			t.Errorf("content is %T, want *pb.Request_SerializedBytes", got.GetContent())
		}
		if !bytes.Equal(got.GetSerializedBytes(), payload) {
			t.Errorf("serialized_bytes = %x, want %x", got.GetSerializedBytes(), payload)
		}
		if len(got.ProtoReflect().GetUnknown()) != 0 {
			t.Errorf("unexpected unknown fields %x", got.ProtoReflect().GetUnknown())
		}
		// Deterministic marshalling gives back exactly the hand-built bytes.
		again, err := proto.MarshalOptions{Deterministic: true}.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Errorf("Marshal = %x, want %x", again, b)
		}
	})

	t.Run("Request file", func(t *testing.T) {
		var file []byte
		file = protowire.AppendTag(file, 2, protowire.BytesType)
		file = protowire.AppendBytes(file, payload)
		file = protowire.AppendTag(file, 3, protowire.BytesType)
		file = protowire.AppendString(file, "text/csv")

		var b []byte
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, "upload")
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendBytes(b, file)

		got := new(pb.Request)
		if err := proto.Unmarshal(b, got); err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		want := &pb.Request{ApiName: "upload", Content: &pb.Request_File{File: &pb.File{
			Kind: proto.String("text/csv"), Content: payload,
		}}}
		if !proto.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})

	t.Run("NDArray packed values", func(t *testing.T) {
		var shape, floats []byte
		shape = protowire.AppendVarint(shape, 2)
		shape = protowire.AppendVarint(shape, 1)
		floats = protowire.AppendFixed32(floats, 0x3f800000) // 1.0
		floats = protowire.AppendFixed32(floats, 0x40000000) // 2.0

		var b []byte
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, 1) // DTYPE_FLOAT
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, shape)
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, floats)

		got := new(pb.NDArray)
		if err := proto.Unmarshal(b, got); err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		want := &pb.NDArray{Dtype: pb.NDArray_DTYPE_FLOAT, Shape: []int32{2, 1}, FloatValues: []float32{1, 2}}
		if !proto.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		again, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Errorf("Marshal = %x, want packed encoding %x", again, b)
		}
	})

	t.Run("reserved field 4 is unknown", func(t *testing.T) {
		var b []byte
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, payload)

		got := new(pb.Request)
		if err := proto.Unmarshal(b, got); err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		if got.GetContent() != nil {
			t.Errorf("content = %T, want nil", got.GetContent())
		}
		if !bytes.Equal(got.ProtoReflect().GetUnknown(), b) {
			t.Errorf("unknown fields = %x, want %x", got.ProtoReflect().GetUnknown(), b)
		}
	})
}

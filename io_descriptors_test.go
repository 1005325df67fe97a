package bento

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"reflect"
	goruntime "runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento/internal/codec"
	multipartcodec "github.com/gobento/bento/internal/codec/multipart"
	"github.com/gobento/bento/internal/codec/text"
	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// ---- helpers --------------------------------------------------------------------

// statusOf is the HTTP status a client would see for err.
func ioStatusOf(err error) int {
	st, _, _ := errs.Classify(err)
	return st
}

// clientErr is what the server classifies as an error with a status and a
// client message (*Error, and the codecs' own errs.Error).
type clientErr interface {
	HTTPStatus() int
	ClientError() (typ, msg string)
}

// checkErr fails unless err is a client error (clientErr) with status want
// whose message contains every fragment.
func checkErr(t *testing.T, err error, want int, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %d", want)
	}
	var e clientErr
	if want < 500 && !errors.As(err, &e) {
		t.Fatalf("error %q (%T) has no client status and message", err, err)
	}
	if got := ioStatusOf(err); got != want {
		t.Fatalf("status = %d, want %d (error: %v)", got, want, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
}

func jsonBody(s string) iospec.Payload {
	return iospec.Payload{ContentType: "application/json", Body: []byte(s)}
}

// form builds a multipart/form-data body from parts.
type formItem struct {
	name, filename, contentType string
	body                        []byte
}

func buildForm(t testing.TB, items ...formItem) iospec.Payload {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, it := range items {
		h := textproto.MIMEHeader{}
		params := map[string]string{"name": it.name}
		if it.filename != "" {
			params["filename"] = it.filename
		}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", params))
		if it.contentType != "" {
			h.Set("Content-Type", it.contentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(it.body)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return iospec.Payload{ContentType: w.FormDataContentType(), Body: buf.Bytes()}
}

// testImage is a small image with distinct pixels.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(40 * x), G: uint8(60 * y), B: 200, A: 255})
		}
	}
	return img
}

func encodeTestImage(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, nil)
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hugePNG is a PNG signature and IHDR chunk claiming w×h pixels, without
// any image data.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	data := make([]byte, 13)
	binary.BigEndian.PutUint32(data[0:], w)
	binary.BigEndian.PutUint32(data[4:], h)
	data[8], data[9] = 8, 6 // 8-bit RGBA
	chunk := append([]byte("IHDR"), data...)
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// ---- NDArray: HTTP ----------------------------------------------------------------

type myFloat float32
type vec []myFloat

func TestNDArrayDecodeHTTP(t *testing.T) {
	ok := []struct {
		name string
		d    func(string) (any, error)
		body string
		want any
	}{
		{"2d float64", dec(NDArray[[][]float64]()), "[[1,2.5],[3,4]]", [][]float64{{1, 2.5}, {3, 4}}},
		{"whitespace", dec(NDArray[[][]float64]()), " \n[ [1 , 2 ] ,\t[3,4] ]\r\n", [][]float64{{1, 2}, {3, 4}}},
		{"empty outer", dec(NDArray[[][]float64]()), "[]", [][]float64{}},
		{"empty rows", dec(NDArray[[][]float64]()), "[[],[]]", [][]float64{{}, {}}},
		{"exponent", dec(NDArray[[]float64]()), "[1e3,-2.5E-1,0]", []float64{1000, -0.25, 0}},
		{"float32", dec(NDArray[[]float32]()), "[0.1,3.4e38,3.4028235e38]", []float32{0.1, 3.4e38, math.MaxFloat32}},
		{"int64 extremes", dec(NDArray[[]int64]()), "[9223372036854775807,-9223372036854775808]", []int64{math.MaxInt64, math.MinInt64}},
		{"integral float into int", dec(NDArray[[]int]()), "[1.0,2e2,-0,1.5e1,100e-2,-0.0e5,0e99999999999999999999]", []int{1, 200, 0, 15, 1, 0, 0}},
		{"exact int64 limits as floats", dec(NDArray[[]int64]()), "[9223372036854775807.0,-9223372036854775808.000,92233720368547758.07e2]",
			[]int64{math.MaxInt64, math.MinInt64, math.MaxInt64}},
		{"uint64 max as float", dec(NDArray[[]uint64]()), "[1844674407370955161.5e1]", []uint64{math.MaxUint64}},
		{"uint64 max", dec(NDArray[[]uint64]()), "[18446744073709551615]", []uint64{math.MaxUint64}},
		{"uint8", dec(NDArray[[][]uint8]()), "[[0,255]]", [][]uint8{{0, 255}}},
		{"int8", dec(NDArray[[]int8]()), "[-128,127]", []int8{-128, 127}},
		{"bool", dec(NDArray[[]bool]()), "[true,false]", []bool{true, false}},
		{"rank 3", dec(NDArray[[][][]float32]()), "[[[1],[2]],[[3],[4]]]", [][][]float32{{{1}, {2}}, {{3}, {4}}}},
		{"rank 4", dec(NDArray[[][][][]int32]()), "[[[[1,2]]]]", [][][][]int32{{{{1, 2}}}}},
		{"named types", dec(NDArray[[]vec]()), "[[1.5,2]]", []vec{{1.5, 2}}},
		{"shape wildcard", dec(NDArray[[][]float64](Shape(-1, 2))), "[[1,2],[3,4],[5,6]]", [][]float64{{1, 2}, {3, 4}, {5, 6}}},
		{"shape empty batch", dec(NDArray[[][]float64](Shape(-1, 2))), "[]", [][]float64{}},
		{"dtype int64 on float", dec(NDArray[[]float64](DType("int64"))), "[2,3]", []float64{2, 3}},
		{"dtype float32 on float64", dec(NDArray[[]float64](DType("float32"))), "[0.5]", []float64{0.5}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.d(tc.body)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}

	bad := []struct {
		name      string
		d         func(string) (any, error)
		body      string
		fragments []string
	}{
		{"empty body", dec(NDArray[[]float64]()), "", []string{"empty"}},
		{"not an array", dec(NDArray[[]float64]()), "5", []string{"JSON array"}},
		{"object", dec(NDArray[[]float64]()), `{"a":1}`, []string{"JSON array"}},
		{"ragged", dec(NDArray[[][]float64]()), "[[1,2],[3]]", []string{"ragged"}},
		{"ragged empty row", dec(NDArray[[][]float64]()), "[[],[1]]", []string{"ragged"}},
		{"too shallow", dec(NDArray[[][]float64]()), "[1,2]", []string{"2-dimensional"}},
		{"too deep", dec(NDArray[[][]float64]()), "[[[1]]]", []string{"2-dimensional"}},
		{"mixed depth", dec(NDArray[[][]float64]()), "[[1],2]", []string{"expected a list"}},
		{"null", dec(NDArray[[]float64]()), "[null]", []string{"null"}},
		{"string", dec(NDArray[[]float64]()), `["1"]`, []string{"string"}},
		{"NaN", dec(NDArray[[]float64]()), "[NaN]", []string{"expected a number"}},
		{"bool for number", dec(NDArray[[]float64]()), "[true]", []string{"boolean"}},
		{"number for bool", dec(NDArray[[]bool]()), "[1]", []string{"expected a boolean"}},
		{"fraction into int", dec(NDArray[[]int64]()), "[1.5]", []string{"1.5", "int64"}},
		{"int64 overflow", dec(NDArray[[]int64]()), "[9223372036854775808]", []string{"int64"}},
		{"int64 underflow", dec(NDArray[[]int64]()), "[-9223372036854775809]", []string{"int64"}},
		{"int64 underflow as float", dec(NDArray[[]int64]()), "[-9223372036854775809.0]", []string{"int64"}},
		{"int64 overflow as float", dec(NDArray[[]int64]()), "[9223372036854775808e0]", []string{"int64"}},
		{"fraction lost in rounding", dec(NDArray[[]int64]()), "[1.0000000000000000001]", []string{"int64"}},
		{"tiny into int", dec(NDArray[[]int64]()), "[1e-400]", []string{"int64"}},
		{"100 digits into int", dec(NDArray[[]int64]()), "[" + strings.Repeat("7", 100) + "]", []string{"int64"}},
		{"uint64 overflow", dec(NDArray[[]uint64]()), "[18446744073709551616]", []string{"uint64"}},
		{"huge exponent", dec(NDArray[[]float64]()), "[1e400]", []string{"out of range"}},
		{"float32 overflow", dec(NDArray[[]float32]()), "[1e39]", []string{"float32"}},
		{"uint8 overflow", dec(NDArray[[]uint8]()), "[256]", []string{"uint8"}},
		{"negative uint", dec(NDArray[[]uint32]()), "[-1]", []string{"uint32"}},
		{"leading zero", dec(NDArray[[]float64]()), "[01]", []string{"expected ','"}},
		{"bare minus", dec(NDArray[[]float64]()), "[-]", []string{"expected a number"}},
		{"trailing comma", dec(NDArray[[]float64]()), "[1,]", []string{"expected a number"}},
		{"unterminated", dec(NDArray[[]float64]()), "[1,2", []string{"end of input"}},
		{"trailing data", dec(NDArray[[]float64]()), "[1] [2]", []string{"after the JSON array"}},
		{"shape mismatch", dec(NDArray[[][]float64](Shape(-1, 2))), "[[1,2,3]]", []string{"(1, 3)", "(-1, 2)"}},
		{"shape fixed rows", dec(NDArray[[]float64](Shape(3))), "[1,2]", []string{"(2,)", "(3,)"}},
		{"dtype int64 enforced", dec(NDArray[[]float64](DType("int64"))), "[1.5]", []string{"int64"}},
		{"dtype float32 enforced", dec(NDArray[[]float64](DType("float32"))), "[1e39]", []string{"float32"}},
		{"dtype uint32 enforced", dec(NDArray[[]int64](DType("uint32"))), "[-3]", []string{"uint32"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.d(tc.body)
			checkErr(t, err, http.StatusBadRequest, tc.fragments...)
		})
	}
}

// dec adapts a descriptor's decodeHTTP to a table.
func dec[T any](d IO[T]) func(string) (any, error) {
	return func(body string) (any, error) {
		v, err := d.decodeHTTP(jsonBody(body))
		return v, err
	}
}

func TestNDArrayErrorsDoNotEchoHugeInput(t *testing.T) {
	long := "[1." + strings.Repeat("5", 100000) + "]"
	_, err := NDArray[[]int64]().decodeHTTP(jsonBody(long))
	checkErr(t, err, http.StatusBadRequest)
	if len(err.Error()) > 300 {
		t.Fatalf("error message is %d bytes long", len(err.Error()))
	}
}

func TestNDArrayEncodeHTTP(t *testing.T) {
	cases := []struct {
		name string
		enc  func() (iospec.Payload, error)
		want string
	}{
		{"2d", func() (iospec.Payload, error) {
			return NDArray[[][]float64]().encodeHTTP([][]float64{{1, 2.5}, {3, 4}})
		}, "[[1,2.5],[3,4]]"},
		{"float32 shortest", func() (iospec.Payload, error) { return NDArray[[]float32]().encodeHTTP([]float32{0.1, 1.5}) }, "[0.1,1.5]"},
		{"exponents", func() (iospec.Payload, error) {
			return NDArray[[]float64]().encodeHTTP([]float64{1e-7, 1e21, -2e-300, 0})
		}, "[1e-7,1e+21,-2e-300,0]"},
		{"nil", func() (iospec.Payload, error) { return NDArray[[][]float64]().encodeHTTP(nil) }, "[]"},
		{"empty rows", func() (iospec.Payload, error) { return NDArray[[][]int]().encodeHTTP([][]int{{}, {}}) }, "[[],[]]"},
		{"ints", func() (iospec.Payload, error) {
			return NDArray[[]int64]().encodeHTTP([]int64{math.MinInt64, math.MaxInt64})
		}, "[-9223372036854775808,9223372036854775807]"},
		{"uint64", func() (iospec.Payload, error) { return NDArray[[]uint64]().encodeHTTP([]uint64{math.MaxUint64}) }, "[18446744073709551615]"},
		{"uint8 not base64", func() (iospec.Payload, error) { return NDArray[[]uint8]().encodeHTTP([]uint8{1, 2}) }, "[1,2]"},
		{"bool", func() (iospec.Payload, error) { return NDArray[[][]bool]().encodeHTTP([][]bool{{true, false}}) }, "[[true,false]]"},
		{"named", func() (iospec.Payload, error) { return NDArray[[]vec]().encodeHTTP([]vec{{0.25}}) }, "[[0.25]]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.enc()
			if err != nil {
				t.Fatal(err)
			}
			if p.ContentType != "application/json" || string(p.Body) != tc.want {
				t.Fatalf("got %q %q, want application/json %q", p.ContentType, p.Body, tc.want)
			}
		})
	}

	bad := []struct {
		name string
		enc  func() (iospec.Payload, error)
	}{
		{"ragged", func() (iospec.Payload, error) { return NDArray[[][]float64]().encodeHTTP([][]float64{{1, 2}, {3}}) }},
		{"NaN", func() (iospec.Payload, error) { return NDArray[[]float64]().encodeHTTP([]float64{math.NaN()}) }},
		{"Inf", func() (iospec.Payload, error) {
			return NDArray[[]float32]().encodeHTTP([]float32{float32(math.Inf(1))})
		}},
		{"shape", func() (iospec.Payload, error) { return NDArray[[]float64](Shape(2)).encodeHTTP([]float64{1}) }},
		{"dtype", func() (iospec.Payload, error) { return NDArray[[]float64](DType("int32")).encodeHTTP([]float64{0.5}) }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.enc()
			checkErr(t, err, http.StatusInternalServerError)
		})
	}
}

func TestNDArrayHTTPRoundTrip(t *testing.T) {
	d := NDArray[[][][]float64]()
	in := [][][]float64{{{1, -2.5}, {3e-9, 4e22}}, {{math.MaxFloat64, math.SmallestNonzeroFloat64}, {0, 1}}}
	p, err := d.encodeHTTP(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.decodeHTTP(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip: got %v, want %v", out, in)
	}
}

// ---- NDArray: gRPC ----------------------------------------------------------------

func TestNDArrayProtoRoundTrip(t *testing.T) {
	cases := []struct {
		name  string
		d     func(any) (protoValue, any, error)
		in    any
		dtype pb.NDArray_DType
		shape []int32
	}{
		{"float32", rt(NDArray[[]float32]()), []float32{1.5, -2}, pb.NDArray_DTYPE_FLOAT, []int32{2}},
		{"float64", rt(NDArray[[][]float64]()), [][]float64{{1, 2, 3}, {4, 5, 6}}, pb.NDArray_DTYPE_DOUBLE, []int32{2, 3}},
		{"int32", rt(NDArray[[]int32]()), []int32{math.MinInt32, math.MaxInt32}, pb.NDArray_DTYPE_INT32, []int32{2}},
		{"int64", rt(NDArray[[][]int64]()), [][]int64{{math.MinInt64}, {math.MaxInt64}}, pb.NDArray_DTYPE_INT64, []int32{2, 1}},
		{"int", rt(NDArray[[]int]()), []int{7}, pb.NDArray_DTYPE_INT64, []int32{1}},
		{"int8", rt(NDArray[[]int8]()), []int8{-128}, pb.NDArray_DTYPE_INT32, []int32{1}},
		{"uint8", rt(NDArray[[]uint8]()), []uint8{255}, pb.NDArray_DTYPE_UINT32, []int32{1}},
		{"uint32", rt(NDArray[[]uint32]()), []uint32{math.MaxUint32}, pb.NDArray_DTYPE_UINT32, []int32{1}},
		{"uint64", rt(NDArray[[]uint64]()), []uint64{math.MaxUint64, 0}, pb.NDArray_DTYPE_UINT64, []int32{2}},
		{"bool", rt(NDArray[[][][]bool]()), [][][]bool{{{true}, {false}}}, pb.NDArray_DTYPE_BOOL, []int32{1, 2, 1}},
		{"declared dtype", rt(NDArray[[]float64](DType("float32"))), []float64{0.5}, pb.NDArray_DTYPE_FLOAT, []int32{1}},
		{"empty rows", rt(NDArray[[][]float64]()), [][]float64{{}, {}, {}}, pb.NDArray_DTYPE_DOUBLE, []int32{3, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pv, out, err := tc.d(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if pv.Field != "ndarray" || pv.NDArray.GetDtype() != tc.dtype || !reflect.DeepEqual(pv.NDArray.GetShape(), tc.shape) {
				t.Fatalf("encoded %v, want dtype %v shape %v", pv.NDArray, tc.dtype, tc.shape)
			}
			if !reflect.DeepEqual(out, tc.in) {
				t.Fatalf("round trip: got %#v, want %#v", out, tc.in)
			}
		})
	}
}

// rt encodes a value to gRPC and decodes it back.
func rt[T any](d IO[T]) func(any) (protoValue, any, error) {
	return func(in any) (protoValue, any, error) {
		pv, err := d.encodeProto(in.(T))
		if err != nil {
			return pv, nil, err
		}
		out, err := decodePV(d, pv)
		return pv, out, err
	}
}

func TestNDArrayDecodeProto(t *testing.T) {
	nd := func(a *pb.NDArray) protoValue { return protoValue{Field: "ndarray", NDArray: a} }
	t.Run("unspecified dtype picks the only field", func(t *testing.T) {
		got, err := NDArray[[][]float64]().decodeProto(nd(&pb.NDArray{Shape: []int32{2, 2}, Int64Values: []int64{1, 2, 3, 4}}))
		if err != nil {
			t.Fatal(err)
		}
		if want := [][]float64{{1, 2}, {3, 4}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
	t.Run("no values is empty", func(t *testing.T) {
		got, err := NDArray[[]float64]().decodeProto(nd(&pb.NDArray{}))
		if err != nil || len(got) != 0 {
			t.Fatalf("got %v, %v; want an empty array", got, err)
		}
	})
	t.Run("nil message is empty", func(t *testing.T) {
		got, err := NDArray[[]float64]().decodeProto(protoValue{Field: "ndarray"})
		if err != nil || len(got) != 0 {
			t.Fatalf("got %v, %v; want an empty array", got, err)
		}
	})
	t.Run("empty shape is flat", func(t *testing.T) {
		got, err := NDArray[[]float32]().decodeProto(nd(&pb.NDArray{Dtype: pb.NDArray_DTYPE_FLOAT, FloatValues: []float32{1, 2, 3}}))
		if err != nil || !reflect.DeepEqual(got, []float32{1, 2, 3}) {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("rows share one backing array", func(t *testing.T) {
		got, err := NDArray[[][]float64]().decodeProto(nd(&pb.NDArray{Shape: []int32{2, 2}, DoubleValues: []float64{1, 2, 3, 4}}))
		if err != nil {
			t.Fatal(err)
		}
		if cap(got[0]) != 2 || uintptr(unsafe.Pointer(&got[1][0]))-uintptr(unsafe.Pointer(&got[0][0])) != 16 {
			t.Fatalf("rows are not slices of one array with tight capacity")
		}
	})

	bad := []struct {
		name      string
		d         IO[[][]float64]
		a         *pb.NDArray
		fragments []string
	}{
		{"two fields", NDArray[[][]float64](), &pb.NDArray{Shape: []int32{1, 1}, FloatValues: []float32{1}, DoubleValues: []float64{1}}, []string{"exactly one"}},
		{"field does not match dtype", NDArray[[][]float64](), &pb.NDArray{Dtype: pb.NDArray_DTYPE_DOUBLE, Shape: []int32{1, 1}, FloatValues: []float32{1}}, []string{"double_values"}},
		{"strings", NDArray[[][]float64](), &pb.NDArray{Shape: []int32{1, 1}, StringValues: []string{"a"}}, []string{"string"}},
		{"string dtype", NDArray[[][]float64](), &pb.NDArray{Dtype: pb.NDArray_DTYPE_STRING}, []string{"string"}},
		{"unknown dtype", NDArray[[][]float64](), &pb.NDArray{Dtype: 99}, []string{"unknown dtype"}},
		{"product mismatch", NDArray[[][]float64](), &pb.NDArray{Shape: []int32{2, 3}, DoubleValues: []float64{1, 2, 3, 4}}, []string{"(2, 3)", "6", "4"}},
		{"negative dim", NDArray[[][]float64](), &pb.NDArray{Shape: []int32{-1, 2}, DoubleValues: []float64{1, 2}}, []string{"negative"}},
		{"rank mismatch", NDArray[[][]float64](), &pb.NDArray{Shape: []int32{4}, DoubleValues: []float64{1, 2, 3, 4}}, []string{"2-dimensional"}},
		{"empty shape rank 2", NDArray[[][]float64](), &pb.NDArray{DoubleValues: []float64{1}}, []string{"2-dimensional"}},
		{"huge empty shape", NDArray[[][]float64](), &pb.NDArray{Shape: []int32{math.MaxInt32, 0}}, []string{"shape"}},
		{"huge product", NDArray[[][]float64](), &pb.NDArray{Shape: []int32{math.MaxInt32, math.MaxInt32}, DoubleValues: []float64{1}}, []string{"shape"}},
		{"bool into float", NDArray[[][]float64](), &pb.NDArray{Shape: []int32{1, 1}, BoolValues: []bool{true}}, []string{"boolean"}},
		{"enforced shape", NDArray[[][]float64](Shape(-1, 2)), &pb.NDArray{Shape: []int32{1, 3}, DoubleValues: []float64{1, 2, 3}}, []string{"(1, 3)"}},
		{"enforced dtype", NDArray[[][]float64](DType("int64")), &pb.NDArray{Shape: []int32{1, 1}, DoubleValues: []float64{0.5}}, []string{"int64"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.d.decodeProto(nd(tc.a))
			checkErr(t, err, http.StatusBadRequest, tc.fragments...)
		})
	}

	intBad := []struct {
		name string
		a    *pb.NDArray
	}{
		{"fraction", &pb.NDArray{DoubleValues: []float64{1.5}}},
		{"NaN", &pb.NDArray{DoubleValues: []float64{math.NaN()}}},
		{"uint64 overflow", &pb.NDArray{Uint64Values: []uint64{math.MaxUint64}}},
	}
	for _, tc := range intBad {
		t.Run("int64 "+tc.name, func(t *testing.T) {
			_, err := NDArray[[]int64]().decodeProto(nd(tc.a))
			checkErr(t, err, http.StatusBadRequest)
		})
	}
	t.Run("float64 into float32 overflow", func(t *testing.T) {
		_, err := NDArray[[]float32]().decodeProto(nd(&pb.NDArray{DoubleValues: []float64{1e300}}))
		checkErr(t, err, http.StatusBadRequest, "float32")
	})
	t.Run("serialized_bytes is JSON", func(t *testing.T) {
		got, err := decodePV(NDArray[[]int](), protoValue{Field: "serialized_bytes", Serialized: []byte("[1,2]")})
		if err != nil || !reflect.DeepEqual(got, []int{1, 2}) {
			t.Fatalf("got %v, %v", got, err)
		}
	})
}

func TestNDArrayEncodeProtoErrors(t *testing.T) {
	_, err := NDArray[[][]int]().encodeProto([][]int{{1}, {2, 3}})
	checkErr(t, err, http.StatusInternalServerError)
	_, err = NDArray[[]int64](DType("int32")).encodeProto([]int64{1 << 40})
	checkErr(t, err, http.StatusInternalServerError)
}

func TestNDArrayValidate(t *testing.T) {
	bad := []struct {
		name     string
		d        any
		fragment string
	}{
		{"not a slice", NDArray[int](), "slice"},
		{"strings", NDArray[[]string](), "element type"},
		{"struct", NDArray[[]struct{}](), "element type"},
		{"too deep", NDArray[[][][][][]float64](), "at most 4"},
		{"array", NDArray[[][3]float64](), "element type"},
		{"zero dim", NDArray[[]float64](Shape(0)), "dimension 0 is 0"},
		{"below -1", NDArray[[]float64](Shape(-2)), "-2"},
		{"rank", NDArray[[]float64](Shape(2, 2)), "2 dimensions"},
		{"no dims", NDArray[[]float64](Shape()), "0 dimensions"},
		{"unknown dtype", NDArray[[]float64](DType("float16")), "float16"},
		{"bool dtype on float", NDArray[[]float64](DType("bool")), "does not fit"},
		{"int dtype on bool", NDArray[[]bool](DType("int64")), "does not fit"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := validateDescriptor(tc.d)
			if err == nil || !strings.Contains(err.Error(), tc.fragment) {
				t.Fatalf("validate() = %v, want an error mentioning %q", err, tc.fragment)
			}
		})
	}
	t.Run("broken descriptor fails calls with 500", func(t *testing.T) {
		d := NDArray[[]string]()
		_, err := d.decodeHTTP(jsonBody("[]"))
		checkErr(t, err, http.StatusInternalServerError, "misconfigured")
		_, err = d.decodeProto(protoValue{Field: "ndarray"})
		checkErr(t, err, http.StatusInternalServerError)
		_, err = d.encodeHTTP(nil)
		checkErr(t, err, http.StatusInternalServerError)
		_, err = d.encodeProto(nil)
		checkErr(t, err, http.StatusInternalServerError)
		if d.wireSpec().ID != "bentoml.io.NumpyNdarray" {
			t.Fatal("Spec of a broken descriptor must still work")
		}
	})
	good := []any{
		NDArray[[]float64](), NDArray[[][]float32](Shape(-1, 4), DType("float32")),
		NDArray[[][][][]uint16](), NDArray[[]bool](DType("bool")), NDArray[[]int](DType("float64")),
	}
	for i, d := range good {
		if err := validateDescriptor(d); err != nil {
			t.Errorf("good[%d]: %v", i, err)
		}
	}
}

func TestNDArraySpec(t *testing.T) {
	s := NDArray[[][]float32](Shape(-1, 4)).wireSpec()
	if s.ID != "bentoml.io.NumpyNdarray" || s.ProtoField != "ndarray" || s.MediaTypes[0] != "application/json" {
		t.Fatalf("spec %+v", s)
	}
	wantAttrs := map[string]any{"dtype": "float32", "shape": []any{-1, 4}, "enforce_dtype": false, "enforce_shape": true}
	if !reflect.DeepEqual(s.Attributes, wantAttrs) {
		t.Fatalf("attributes %v, want %v", s.Attributes, wantAttrs)
	}
	if _, err := structpb.NewStruct(s.Attributes); err != nil {
		t.Fatalf("attributes are not a valid Struct: %v", err)
	}
	items, _ := s.Schema["items"].(map[string]any)
	if s.Schema["type"] != "array" || items["maxItems"] != 4 {
		t.Fatalf("schema %v", s.Schema)
	}
	// The docs example must be accepted by the descriptor itself.
	for _, d := range []IO[[][]float32]{NDArray[[][]float32](Shape(-1, 4)), NDArray[[][]float32]()} {
		if _, err := d.decodeHTTP(jsonBody(d.wireSpec().Example)); err != nil {
			t.Fatalf("example %q: %v", d.wireSpec().Example, err)
		}
	}
	if _, err := NDArray[[]bool]().decodeHTTP(jsonBody(NDArray[[]bool]().wireSpec().Example)); err != nil {
		t.Fatal(err)
	}
}

// ---- Image ------------------------------------------------------------------------

func TestImageDecodeHTTP(t *testing.T) {
	src := testImage(4, 3)
	pngB := encodeTestImage(t, "png", src)
	jpgB := encodeTestImage(t, "jpeg", src)
	gifB := encodeTestImage(t, "gif", src)

	ok := []struct {
		name string
		d    IO[image.Image]
		p    iospec.Payload
	}{
		{"png", Image(), iospec.Payload{ContentType: "image/png", Body: pngB}},
		{"jpeg", Image(), iospec.Payload{ContentType: "image/jpeg", Body: jpgB}},
		{"jpg alias", Image(), iospec.Payload{ContentType: "image/jpg", Body: jpgB}},
		{"gif", Image(), iospec.Payload{ContentType: "image/gif", Body: gifB}},
		{"declared type differs from bytes", Image(), iospec.Payload{ContentType: "image/png", Body: jpgB}},
		{"no content type sniffed", Image(), iospec.Payload{Body: pngB}},
		{"curl default type sniffed", Image(), iospec.Payload{ContentType: "application/x-www-form-urlencoded", Body: gifB}},
		{"octet-stream sniffed", Image(), iospec.Payload{ContentType: "application/octet-stream", Body: jpgB}},
		{"multipart any field name", Image(), buildForm(t, formItem{name: "whatever", filename: "a.png", contentType: "image/png", body: pngB})},
		{"multipart first image after text", Image(), buildForm(t,
			formItem{name: "note", body: []byte("hello")},
			formItem{name: "pic", filename: "a.jpg", contentType: "image/jpeg", body: jpgB},
			formItem{name: "pic2", filename: "b.png", contentType: "image/png", body: []byte("not decoded")})},
		{"multipart untyped file sniffed", Image(), buildForm(t, formItem{name: "f", filename: "x.bin", body: gifB})},
		{"restricted types", Image(AllowedTypes("image/jpeg")), iospec.Payload{ContentType: "image/jpeg", Body: jpgB}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			img, err := tc.d.decodeHTTP(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != src.Bounds() {
				t.Fatalf("bounds %v, want %v", img.Bounds(), src.Bounds())
			}
		})
	}

	truncated := pngB[:len(pngB)/2]
	bad := []struct {
		name      string
		d         IO[image.Image]
		p         iospec.Payload
		status    int
		fragments []string
	}{
		{"wrong content type", Image(), iospec.Payload{ContentType: "text/plain", Body: pngB}, 415, []string{"image/png"}},
		{"image type not accepted", Image(), iospec.Payload{ContentType: "image/webp", Body: pngB}, 415, []string{"image/webp"}},
		{"no content type, not an image", Image(), iospec.Payload{Body: []byte("hello")}, 415, nil},
		{"415 lists every accepted way", Image(), iospec.Payload{ContentType: "application/xml", Body: []byte("<a/>")}, 415,
			[]string{`"application/xml"`, "image/png, image/jpeg, image/gif", "multipart/form-data", "no Content-Type or application/octet-stream"}},
		{"curl -d file, default type", Image(), iospec.Payload{ContentType: "application/x-www-form-urlencoded", Body: stripCRLF(pngB)}, 415,
			[]string{"--data-binary @file or -F image=@file"}},
		{"curl -d file, declared png", Image(), iospec.Payload{ContentType: "image/png", Body: stripCRLF(pngB)}, 400,
			[]string{"invalid image", "--data-binary @file or -F image=@file"}},
		{"corrupt", Image(), iospec.Payload{ContentType: "image/png", Body: []byte("\x89PNG\r\n\x1a\nrubbish")}, 400, []string{"invalid image"}},
		{"truncated", Image(), iospec.Payload{ContentType: "image/png", Body: truncated}, 400, []string{"invalid image"}},
		{"empty", Image(), iospec.Payload{ContentType: "image/png"}, 400, []string{"empty"}},
		{"format not accepted", Image(AllowedTypes("image/png")), iospec.Payload{ContentType: "image/png", Body: jpgB}, 400, []string{"image/jpeg"}},
		{"too many pixels", Image(MaxImagePixels(11)), iospec.Payload{ContentType: "image/png", Body: pngB}, 400, []string{"too large", "4x3"}},
		{"no image part", Image(), buildForm(t, formItem{name: "note", body: []byte("hello")}), 400, []string{"no image file found in multipart form"}},
		{"file part that is not an image", Image(), buildForm(t, formItem{name: "f", filename: "a.txt", body: []byte("hello")}), 400, []string{"no image file found"}},
		{"only unaccepted image parts", Image(), buildForm(t, formItem{name: "f", filename: "a.webp", contentType: "image/webp", body: []byte("RIFF")}), 400, []string{"image/webp"}},
		{"corrupt image part", Image(), buildForm(t, formItem{name: "f", filename: "a.png", contentType: "image/png", body: []byte("xx")}), 400, []string{"invalid image"}},
		{"multipart without boundary", Image(), iospec.Payload{ContentType: "multipart/form-data", Body: []byte("--x\r\n")}, 400, []string{"boundary"}},
		{"malformed multipart", Image(), iospec.Payload{ContentType: "multipart/form-data; boundary=x", Body: []byte("--x\r\nbroken header\r\n\r\n")}, 400, []string{"malformed"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.d.decodeHTTP(tc.p)
			checkErr(t, err, tc.status, tc.fragments...)
		})
	}
}

func TestImageHugeDimensionsRejectedWithoutAllocating(t *testing.T) {
	d := Image()
	for _, dims := range [][2]uint32{{100000, 100000}, {70000, 10}, {10000, 10000}} {
		t.Run(fmt.Sprintf("%dx%d", dims[0], dims[1]), func(t *testing.T) {
			body := hugePNG(dims[0], dims[1])
			var before, after goruntime.MemStats
			goruntime.GC()
			goruntime.ReadMemStats(&before)
			start := time.Now()
			_, err := d.decodeHTTP(iospec.Payload{ContentType: "image/png", Body: body})
			elapsed := time.Since(start)
			goruntime.ReadMemStats(&after)
			checkErr(t, err, http.StatusBadRequest, "too large")
			if delta := after.TotalAlloc - before.TotalAlloc; delta > 1<<20 {
				t.Fatalf("rejecting the image allocated %d bytes", delta)
			}
			if elapsed > time.Second {
				t.Fatalf("rejecting the image took %v", elapsed)
			}
		})
	}
}

func TestImageEncode(t *testing.T) {
	src := testImage(5, 2)
	cases := []struct {
		d      IO[image.Image]
		mime   string
		format string
	}{
		{Image(), "image/png", "png"},
		{Image(ImageFormat("image/jpeg")), "image/jpeg", "jpeg"},
		{Image(ImageFormat("image/gif")), "image/gif", "gif"},
	}
	for _, tc := range cases {
		t.Run(tc.format, func(t *testing.T) {
			p, err := tc.d.encodeHTTP(src)
			if err != nil {
				t.Fatal(err)
			}
			if p.ContentType != tc.mime {
				t.Fatalf("content type %q, want %q", p.ContentType, tc.mime)
			}
			want := fmt.Sprintf(`attachment; filename="output.%s"`, tc.format)
			if got := p.Header.Get("Content-Disposition"); got != want {
				t.Fatalf("Content-Disposition %q", got)
			}
			img, format, err := image.Decode(bytes.NewReader(p.Body))
			if err != nil || format != tc.format || img.Bounds() != src.Bounds() {
				t.Fatalf("decoded %v %q %v", img.Bounds(), format, err)
			}
			pv, err := tc.d.encodeProto(src)
			if err != nil || pv.Field != "file" || pv.File.GetKind() != tc.mime || !bytes.Equal(pv.File.GetContent(), p.Body) {
				t.Fatalf("encodeProto: %v %v", pv.File.GetKind(), err)
			}
		})
	}
	var nilRGBA *image.RGBA
	for _, img := range []image.Image{nil, nilRGBA} {
		_, err := Image().encodeHTTP(img)
		checkErr(t, err, http.StatusInternalServerError)
		_, err = Image().encodeProto(img)
		checkErr(t, err, http.StatusInternalServerError)
	}
}

func TestImageProto(t *testing.T) {
	pngB := encodeTestImage(t, "png", testImage(2, 2))
	kind := func(s string) *string { return &s }
	ok := []*pb.File{
		{Kind: kind("image/png"), Content: pngB},
		{Content: pngB},
	}
	for i, f := range ok {
		img, err := decodePV(Image(), protoValue{Field: "file", File: f})
		if err != nil || img.Bounds().Dx() != 2 {
			t.Fatalf("ok[%d]: %v", i, err)
		}
	}
	img, err := decodePV(Image(), protoValue{Field: "serialized_bytes", Serialized: pngB})
	if err != nil || img.Bounds().Dx() != 2 {
		t.Fatalf("serialized_bytes: %v", err)
	}
	bad := []struct {
		name string
		f    *pb.File
		frag string
	}{
		{"wrong kind", &pb.File{Kind: kind("text/plain"), Content: pngB}, "text/plain"},
		{"empty", &pb.File{Kind: kind("image/png")}, "empty"},
		{"nil file", nil, "empty"},
		{"corrupt", &pb.File{Content: []byte("zzz")}, "invalid image"},
		{"huge", &pb.File{Content: hugePNG(50000, 50000)}, "too large"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Image().decodeProto(protoValue{Field: "file", File: tc.f})
			checkErr(t, err, http.StatusBadRequest, tc.frag)
		})
	}
}

func TestImageValidateAndSpec(t *testing.T) {
	bad := []struct {
		d    IO[image.Image]
		frag string
	}{
		{Image(AllowedTypes("text/plain")), "text/plain"},
		{Image(AllowedTypes("image/*")), "image/*"},
		{Image(AllowedTypes()), "at least one"},
		{Image(ImageFormat("image/bmp")), "image/bmp"},
		{Image(MaxImagePixels(0)), "positive"},
	}
	for i, tc := range bad {
		if err := tc.d.validate(); err == nil || !strings.Contains(err.Error(), tc.frag) {
			t.Errorf("bad[%d]: validate() = %v, want mention of %q", i, err, tc.frag)
		}
		_, err := tc.d.decodeHTTP(iospec.Payload{})
		checkErr(t, err, http.StatusInternalServerError)
	}
	if err := validateDescriptor(Image(AllowedTypes("image/PNG", "image/webp"), ImageFormat("image/jpg"))); err != nil {
		t.Fatal(err)
	}
	s := Image().wireSpec()
	if s.ID != "bentoml.io.Image" || s.ProtoField != "file" || s.ResponseType != "image/png" ||
		!reflect.DeepEqual(s.MediaTypes, []string{"image/png", "image/jpeg", "image/gif", "multipart/form-data"}) {
		t.Fatalf("spec %+v", s)
	}
	if _, err := structpb.NewStruct(s.Attributes); err != nil {
		t.Fatal(err)
	}
}

// ---- File -------------------------------------------------------------------------

func TestFileDecodeHTTP(t *testing.T) {
	data := []byte("%PDF-1.4 hello")
	ok := []struct {
		name string
		d    IO[FileData]
		p    iospec.Payload
		want FileData
	}{
		{"raw", File(), iospec.Payload{ContentType: "application/pdf", Body: data}, FileData{ContentType: "application/pdf", Data: data}},
		{"raw no type", File(), iospec.Payload{Body: data}, FileData{Data: data}},
		{"raw name from header", File(), iospec.Payload{ContentType: "text/csv", Body: data,
			Header: textproto.MIMEHeader{"Content-Disposition": {`attachment; filename="a.csv"`}}}, FileData{Name: "a.csv", ContentType: "text/csv", Data: data}},
		{"raw with mime", File(FileMIME("application/pdf")), iospec.Payload{ContentType: "Application/PDF; x=1", Body: data}, FileData{ContentType: "Application/PDF; x=1", Data: data}},
		{"multipart file part", File(), buildForm(t,
			formItem{name: "note", body: []byte("not a file")},
			formItem{name: "doc", filename: "d.pdf", contentType: "application/pdf", body: data}),
			FileData{Name: "d.pdf", ContentType: "application/pdf", Data: data}},
		{"multipart by mime without filename", File(FileMIME("application/pdf")), buildForm(t,
			formItem{name: "x", filename: "x.txt", contentType: "text/plain", body: []byte("x")},
			formItem{name: "doc", contentType: "application/pdf", body: data}),
			FileData{ContentType: "application/pdf", Data: data}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.d.decodeHTTP(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	bad := []struct {
		name   string
		d      IO[FileData]
		p      iospec.Payload
		status int
		frag   string
	}{
		{"mime mismatch", File(FileMIME("application/pdf")), iospec.Payload{ContentType: "text/plain", Body: data}, 415, "application/pdf"},
		{"mime missing", File(FileMIME("application/pdf")), iospec.Payload{Body: data}, 415, "none"},
		{"empty", File(), iospec.Payload{ContentType: "application/pdf"}, 400, "empty"},
		{"no file part", File(), buildForm(t, formItem{name: "note", body: []byte("x")}), 400, "no file found in multipart form"},
		{"no part of mime", File(FileMIME("application/pdf")), buildForm(t, formItem{name: "f", filename: "a.txt", contentType: "text/plain", body: []byte("x")}), 400, "application/pdf"},
		{"empty file part", File(), buildForm(t, formItem{name: "f", filename: "a.txt"}), 400, "empty"},
		{"no boundary", File(), iospec.Payload{ContentType: "multipart/form-data", Body: data}, 400, "boundary"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.d.decodeHTTP(tc.p)
			checkErr(t, err, tc.status, tc.frag)
		})
	}
}

func TestFileEncode(t *testing.T) {
	cases := []struct {
		name     string
		d        IO[FileData]
		v        FileData
		wantType string
		wantName string
	}{
		{"default type", File(), FileData{Data: []byte("x")}, "application/octet-stream", ""},
		{"option type", File(FileMIME("application/pdf")), FileData{Data: []byte("x")}, "application/pdf", ""},
		{"value type and name", File(), FileData{Name: "report.csv", ContentType: "text/csv", Data: []byte("a,b")}, "text/csv", "report.csv"},
		{"name needing quotes", File(), FileData{Name: `my "file"; ü.txt`, Data: []byte("x")}, "application/octet-stream", `my "file"; ü.txt`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.d.encodeHTTP(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if p.ContentType != tc.wantType || !bytes.Equal(p.Body, tc.v.Data) {
				t.Fatalf("got %q %q", p.ContentType, p.Body)
			}
			cd := p.Header.Get("Content-Disposition")
			if tc.wantName == "" {
				if cd != "" {
					t.Fatalf("unexpected Content-Disposition %q", cd)
				}
			} else {
				_, params, err := mime.ParseMediaType(cd)
				if err != nil || params["filename"] != tc.wantName {
					t.Fatalf("Content-Disposition %q parses to %v, %v", cd, params, err)
				}
			}
			pv, err := tc.d.encodeProto(tc.v)
			if err != nil || pv.File.GetKind() != tc.wantType || !bytes.Equal(pv.File.GetContent(), tc.v.Data) {
				t.Fatalf("encodeProto: %v, %v", pv.File, err)
			}
		})
	}
}

func TestFileProto(t *testing.T) {
	kind := func(s string) *string { return &s }
	got, err := File(FileMIME("application/pdf")).decodeProto(protoValue{Field: "file", File: &pb.File{Kind: kind("application/pdf"), Content: []byte("x")}})
	if err != nil || got.ContentType != "application/pdf" || string(got.Data) != "x" {
		t.Fatalf("got %+v, %v", got, err)
	}
	got, err = decodePV(File(), protoValue{Field: "serialized_bytes", Serialized: []byte("raw")})
	if err != nil || string(got.Data) != "raw" {
		t.Fatalf("serialized_bytes: %+v, %v", got, err)
	}
	_, err = File(FileMIME("application/pdf")).decodeProto(protoValue{Field: "file", File: &pb.File{Kind: kind("image/png"), Content: []byte("x")}})
	checkErr(t, err, http.StatusBadRequest, "image/png")
	_, err = File().decodeProto(protoValue{Field: "file", File: &pb.File{Kind: kind("text/plain")}})
	checkErr(t, err, http.StatusBadRequest, "empty")
}

func TestFileValidateAndSpec(t *testing.T) {
	if err := File(FileMIME("not a mime")).validate(); err == nil {
		t.Fatal("want an error for an invalid FileMIME")
	}
	if err := File(FileMIME("application/pdf")).validate(); err != nil {
		t.Fatal(err)
	}
	s := File(FileMIME("application/pdf")).wireSpec()
	if s.ID != "bentoml.io.File" || s.ProtoField != "file" || s.MediaTypes[0] != "application/pdf" || s.ResponseType != "application/pdf" {
		t.Fatalf("spec %+v", s)
	}
	if _, err := structpb.NewStruct(File().wireSpec().Attributes); err != nil {
		t.Fatal(err)
	}
}

// ---- Multipart --------------------------------------------------------------------

type meta struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

func testMultipart() IO[Parts] {
	return Multipart(
		Field("name", Text()),
		Field("meta", JSON[meta]()),
		Field("img", Image()),
	)
}

func TestMultipartDecodeHTTP(t *testing.T) {
	pngB := encodeTestImage(t, "png", testImage(3, 3))
	metaB := []byte(`{"label":"cat","score":0.5}`)
	full := []formItem{
		{name: "name", body: []byte("Grumpy")},
		{name: "meta", contentType: "application/json", body: metaB},
		{name: "extra", body: []byte("ignored")},
		{name: "img", filename: "cat.png", contentType: "image/png", body: pngB},
		{name: "name", body: []byte("second value ignored")},
	}
	parts, err := testMultipart().decodeHTTP(buildForm(t, full...))
	if err != nil {
		t.Fatal(err)
	}
	name, err := PartValue[string](parts, "name")
	if err != nil || name != "Grumpy" {
		t.Fatalf("name = %q, %v", name, err)
	}
	m, err := PartValue[meta](parts, "meta")
	if err != nil || m != (meta{"cat", 0.5}) {
		t.Fatalf("meta = %+v, %v", m, err)
	}
	img, err := PartValue[image.Image](parts, "img")
	if err != nil || img.Bounds().Dx() != 3 {
		t.Fatalf("img: %v", err)
	}
	if len(parts) != 3 {
		t.Fatalf("parts has %d entries, want 3", len(parts))
	}

	many := make([]formItem, 0, 2000)
	for i := range 2000 {
		many = append(many, formItem{name: fmt.Sprintf("f%d", i), body: []byte("x")})
	}
	bad := []struct {
		name   string
		p      iospec.Payload
		status int
		frags  []string
	}{
		{"missing field", buildForm(t, full[0], full[3]), 400, []string{`"meta"`}},
		{"zero parts", iospec.Payload{ContentType: "multipart/form-data; boundary=b", Body: []byte("--b--\r\n")}, 400, []string{`"name"`, `"meta"`, `"img"`}},
		{"wrong content type", iospec.Payload{ContentType: "application/json", Body: metaB}, 415, []string{"multipart/form-data"}},
		{"no content type", iospec.Payload{Body: metaB}, 415, nil},
		{"no boundary", iospec.Payload{ContentType: "multipart/form-data", Body: metaB}, 400, []string{"boundary"}},
		{"too many parts", buildForm(t, many...), 400, []string{"too many parts"}},
		{"bad field value", buildForm(t, full[0], formItem{name: "meta", contentType: "application/json", body: []byte("{")}, full[3]), 400, []string{`multipart field "meta"`, "Invalid JSON"}},
		{"field with wrong type", buildForm(t, full[0], full[1], formItem{name: "img", contentType: "text/plain", body: []byte("x")}), 415, []string{`multipart field "img"`}},
		{"truncated body", iospec.Payload{ContentType: "multipart/form-data; boundary=b", Body: []byte("--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nabc")}, 400, []string{"malformed"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testMultipart().decodeHTTP(tc.p)
			checkErr(t, err, tc.status, tc.frags...)
		})
	}
}

func TestMultipartTextPartDefaultsToTextPlain(t *testing.T) {
	// A part without Content-Type reaches its descriptor as text/plain; with a
	// filename it keeps no Content-Type.
	var seen []iospec.Payload
	rec := recorderIO{seen: &seen}
	d := Multipart(Field("a", ioOf[string](rec)), Field("b", ioOf[string](rec)))
	_, err := d.decodeHTTP(buildForm(t, formItem{name: "a", body: []byte("x")}, formItem{name: "b", filename: "b.bin", body: []byte("y")}))
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0].ContentType != "text/plain" || seen[1].ContentType != "" || seen[1].Filename != "b.bin" {
		t.Fatalf("payloads seen: %+v", seen)
	}
}

// recorderIO is a Text descriptor that records the payloads it decodes.
type recorderIO struct {
	text.Codec
	seen *[]iospec.Payload
}

func (r recorderIO) DecodeHTTP(p iospec.Payload) (string, error) {
	*r.seen = append(*r.seen, p)
	return string(p.Body), nil
}

func TestMultipartRoundTrip(t *testing.T) {
	d := testMultipart()
	src := testImage(2, 3)
	in := Parts{"name": "Grumpy", "meta": meta{"cat", 0.25}, "img": image.Image(src), "unused": 42}

	p, err := d.encodeHTTP(in)
	if err != nil {
		t.Fatal(err)
	}
	if mt, params, err := mime.ParseMediaType(p.ContentType); err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		t.Fatalf("content type %q", p.ContentType)
	}
	// Part headers: names, the image's filename and content types.
	mr := multipart.NewReader(bytes.NewReader(p.Body), mustBoundary(t, p.ContentType))
	var heads []string
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		heads = append(heads, part.FormName()+"|"+part.FileName()+"|"+part.Header.Get("Content-Type"))
	}
	wantHeads := []string{"name||text/plain; charset=utf-8", "meta||application/json", "img|output.png|image/png"}
	if !reflect.DeepEqual(heads, wantHeads) {
		t.Fatalf("parts %q, want %q", heads, wantHeads)
	}
	out, err := d.decodeHTTP(p)
	if err != nil {
		t.Fatal(err)
	}
	if out["name"] != "Grumpy" || out["meta"] != (meta{"cat", 0.25}) {
		t.Fatalf("round trip: %+v", out)
	}
	img := out["img"].(image.Image)
	if img.Bounds() != src.Bounds() {
		t.Fatalf("image bounds %v", img.Bounds())
	}

	// gRPC round trip.
	pv, err := d.encodeProto(in)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Field != "multipart" || len(pv.Multipart.GetFields()) != 3 || pv.Multipart.Fields["img"].GetFile().GetKind() != "image/png" {
		t.Fatalf("encodeProto: %v", pv.Multipart)
	}
	out, err = decodePV(d, pv)
	if err != nil {
		t.Fatal(err)
	}
	if out["name"] != "Grumpy" || out["meta"] != (meta{"cat", 0.25}) || out["img"].(image.Image).Bounds() != src.Bounds() {
		t.Fatalf("gRPC round trip: %+v", out)
	}

	// Result errors are 500s.
	for _, v := range []Parts{{"name": "x", "meta": meta{}}, {"name": 5, "meta": meta{}, "img": image.Image(src)}} {
		_, err := d.encodeHTTP(v)
		checkErr(t, err, http.StatusInternalServerError)
		_, err = d.encodeProto(v)
		checkErr(t, err, http.StatusInternalServerError)
	}
}

func mustBoundary(t *testing.T, ct string) string {
	t.Helper()
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatal(err)
	}
	return params["boundary"]
}

func TestMultipartDecodeProto(t *testing.T) {
	d := Multipart(Field("note", Text()), Field("pt", JSON[meta]()))
	note := &pb.Part{Representation: &pb.Part_Text{Text: wrapperspb.String("hi")}}
	ptJSON := &pb.Part{Representation: &pb.Part_SerializedBytes{SerializedBytes: []byte(`{"label":"a","score":1}`)}}
	mp := func(f map[string]*pb.Part) protoValue {
		return protoValue{Field: "multipart", Multipart: &pb.Multipart{Fields: f}}
	}
	got, err := d.decodeProto(mp(map[string]*pb.Part{"note": note, "pt": ptJSON}))
	if err != nil || got["note"] != "hi" || got["pt"] != (meta{"a", 1}) {
		t.Fatalf("got %v, %v", got, err)
	}
	bad := []struct {
		name string
		v    protoValue
		frag string
	}{
		{"unknown key", mp(map[string]*pb.Part{"note": note, "pt": ptJSON, "zzz": note}), `"zzz"`},
		{"missing", mp(map[string]*pb.Part{"note": note}), `"pt"`},
		{"nil message", protoValue{Field: "multipart"}, `"note"`},
		{"empty part", mp(map[string]*pb.Part{"note": {}, "pt": ptJSON}), `multipart field "note"`},
		{"wrong part field", mp(map[string]*pb.Part{"note": note, "pt": note}), `"json"`},
		{"bad part value", mp(map[string]*pb.Part{"note": note, "pt": {Representation: &pb.Part_SerializedBytes{SerializedBytes: []byte("{")}}}), "Invalid JSON"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.decodeProto(tc.v)
			checkErr(t, err, http.StatusBadRequest, tc.frag)
		})
	}
	_, err = decodePV(d, protoValue{Field: "serialized_bytes", Serialized: []byte("x")})
	checkErr(t, err, http.StatusBadRequest)
}

func TestPartConversions(t *testing.T) {
	values := []protoValue{
		{Field: "ndarray", NDArray: &pb.NDArray{}},
		{Field: "dataframe", DataFrame: &pb.DataFrame{}},
		{Field: "series", Series: &pb.Series{}},
		{Field: "file", File: &pb.File{}},
		{Field: "text", Text: wrapperspb.String("x")},
		{Field: "json", JSON: structpb.NewNullValue()},
		{Field: "serialized_bytes", Serialized: []byte("x")},
	}
	for _, v := range values {
		part, err := codec.ToPart(v)
		if err != nil {
			t.Fatalf("%s: %v", v.Field, err)
		}
		if back := codec.PartValue(part); !reflect.DeepEqual(back, v) {
			t.Fatalf("%s: round trip gave %+v", v.Field, back)
		}
	}
	if _, err := codec.ToPart(protoValue{Field: "multipart", Multipart: &pb.Multipart{}}); err == nil {
		t.Fatal("a multipart value must not fit in a Part")
	}
	if v := codec.PartValue(nil); v.Field != "" {
		t.Fatalf("nil part gave %q", v.Field)
	}
}

func TestPartValue(t *testing.T) {
	p := Parts{"s": "x", "img": image.Image(testImage(1, 1)), "n": 3}
	if s, err := PartValue[string](p, "s"); err != nil || s != "x" {
		t.Fatalf("%q, %v", s, err)
	}
	if _, err := PartValue[*image.NRGBA](p, "img"); err != nil {
		t.Fatal(err)
	}
	if _, err := PartValue[string](p, "missing"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing: %v", err)
	}
	if _, err := PartValue[string](p, "n"); err == nil || !strings.Contains(err.Error(), "int") {
		t.Fatalf("wrong type: %v", err)
	}
}

func TestMultipartValidateAndSpec(t *testing.T) {
	bad := []struct {
		name string
		d    IO[Parts]
		frag string
	}{
		{"no fields", Multipart(), "at least one"},
		{"duplicate", Multipart(Field("a", Text()), Field("a", Text())), "twice"},
		{"nested", Multipart(Field("a", Multipart(Field("b", Text())))), "itself a Multipart"},
		{"empty name", Multipart(Field("", Text())), "empty name"},
		{"quote in name", Multipart(Field(`a"b`, Text())), "quote"},
		{"zero field", Multipart(PartField[string]{}), "empty name"},
		{"zero field named", Multipart(PartField[string]{f: multipartcodec.Field{Name: "x"}}), "not made with Field"},
		{"nil descriptor", Multipart(Field[string]("a", IO[string]{})), "no descriptor"},
		{"broken inner", Multipart(Field("a", NDArray[[]string]())), "element type"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.d.validate()
			if err == nil || !strings.Contains(err.Error(), tc.frag) {
				t.Fatalf("validate() = %v, want mention of %q", err, tc.frag)
			}
			_ = tc.d.wireSpec() // must not panic
			_, err = tc.d.decodeHTTP(buildForm(t, formItem{name: "a", body: []byte("x")}))
			checkErr(t, err, http.StatusInternalServerError)
		})
	}
	s := testMultipart().wireSpec()
	if s.ID != "bentoml.io.Multipart" || s.ProtoField != "multipart" || s.MediaTypes[0] != "multipart/form-data" {
		t.Fatalf("spec %+v", s)
	}
	if props := s.Schema["properties"].(map[string]any); len(props) != 3 {
		t.Fatalf("schema %v", s.Schema)
	}
	if !reflect.DeepEqual(s.Schema["required"], []string{"name", "meta", "img"}) {
		t.Fatalf("required %v", s.Schema["required"])
	}
	if s.Attributes["img"].(map[string]any)["id"] != "bentoml.io.Image" {
		t.Fatalf("attributes %v", s.Attributes)
	}
	if _, err := structpb.NewStruct(s.Attributes); err != nil {
		t.Fatalf("attributes are not a valid Struct: %v", err)
	}
}

// ---- benchmarks -------------------------------------------------------------------

// irisBatch is a 100×4 float batch, the shape of a tabular request.
func irisBatch() [][]float64 {
	rows := make([][]float64, 100)
	for i := range rows {
		rows[i] = []float64{5.1 + float64(i%7)/10, 3.5, 1.4 + float64(i%3)/10, 0.2}
	}
	return rows
}

func BenchmarkNDArrayDecodeHTTP(b *testing.B) {
	d := NDArray[[][]float64](Shape(-1, 4))
	p, err := d.encodeHTTP(irisBatch())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(p.Body)))
	for b.Loop() {
		if _, err := d.decodeHTTP(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNDArrayEncodeHTTP(b *testing.B) {
	d := NDArray[[][]float64](Shape(-1, 4))
	v := irisBatch()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.encodeHTTP(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNDArrayDecodeProto(b *testing.B) {
	d := NDArray[[][]float64](Shape(-1, 4))
	pv, err := d.encodeProto(irisBatch())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.decodeProto(pv); err != nil {
			b.Fatal(err)
		}
	}
}

// validateDescriptor returns d's configuration error, if d is an IO that
// has one.
func validateDescriptor(d any) error {
	if v, ok := d.(interface{ validate() error }); ok {
		return v.validate()
	}
	return nil
}

// decodePV is codec.DecodeValue with the descriptor's own spec.
func decodePV[T any](d IO[T], v protoValue) (T, error) {
	spec := d.wireSpec()
	return codec.DecodeValue(d.c, &spec, v)
}

// ---- BentoML specs ----------------------------------------------------------------

// TestBentoSpecs checks each descriptor's to_spec() against what BentoML
// 1.1.11 produces for the matching Python descriptor: BentoML's clients pass
// args to the Python constructor (from_spec), so a missing or extra key
// breaks them.
func TestBentoSpecs(t *testing.T) {
	cases := []struct {
		name string
		spec iospec.Spec
		want string // JSON of BentoSpec()
	}{
		{"Text", Text().wireSpec(), `{"id":"bentoml.io.Text"}`},
		{"JSON", JSON[meta]().wireSpec(), `{"args":{"has_json_encoder":false,"has_pydantic_model":false},"id":"bentoml.io.JSON"}`},
		{"NDArray default", NDArray[[][]float64]().wireSpec(), `{"args":{"dtype":"float64","enforce_dtype":false,"enforce_shape":false,"shape":null},"id":"bentoml.io.NumpyNdarray"}`},
		{"NDArray enforced", NDArray[[][]float32](Shape(-1, 4), DType("float32")).wireSpec(), `{"args":{"dtype":"float32","enforce_dtype":true,"enforce_shape":true,"shape":[-1,4]},"id":"bentoml.io.NumpyNdarray"}`},
		{"NDArray int", NDArray[[]int]().wireSpec(), `{"args":{"dtype":"int64","enforce_dtype":false,"enforce_shape":false,"shape":null},"id":"bentoml.io.NumpyNdarray"}`},
		{"Image default", Image().wireSpec(), `{"args":{"allowed_mime_types":["image/png","image/jpeg","image/gif"],"mime_type":"image/png","pilmode":"RGB"},"id":"bentoml.io.Image"}`},
		{"Image options", Image(AllowedTypes("image/jpeg"), ImageFormat("image/jpeg"), MaxImagePixels(100)).wireSpec(), `{"args":{"allowed_mime_types":["image/jpeg"],"mime_type":"image/jpeg","pilmode":"RGB"},"id":"bentoml.io.Image"}`},
		{"File default", File().wireSpec(), `{"args":{"kind":"binaryio","mime_type":null},"id":"bentoml.io.File"}`},
		{"File mime", File(FileMIME("application/pdf")).wireSpec(), `{"args":{"kind":"binaryio","mime_type":"application/pdf"},"id":"bentoml.io.File"}`},
		{"Multipart", Multipart(Field("name", Text()), Field("arr", NDArray[[]float64](Shape(3))), Field("img", Image())).wireSpec(),
			`{"args":{"arr":{"args":{"dtype":"float64","enforce_dtype":false,"enforce_shape":true,"shape":[3]},"id":"bentoml.io.NumpyNdarray"},` +
				`"img":{"args":{"allowed_mime_types":["image/png","image/jpeg","image/gif"],"mime_type":"image/png","pilmode":"RGB"},"id":"bentoml.io.Image"},` +
				`"name":{"id":"bentoml.io.Text"}},"id":"bentoml.io.Multipart"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(c.spec.BentoSpec())
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != c.want {
				t.Errorf("BentoSpec() = %s\nwant          %s", b, c.want)
			}
			if c.spec.Attributes != nil {
				if _, err := structpb.NewStruct(map[string]any{"args": c.spec.Attributes}); err != nil {
					t.Errorf("args are not a valid Struct: %v", err)
				}
			}
		})
	}
}

// stripCRLF removes CR and LF bytes, as curl -d does to a file's content.
func stripCRLF(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r"), nil), []byte("\n"), nil)
}

// TestJSONContentTypes checks which declared media types the JSON-reading
// descriptors take: no type, JSON types and what generic clients send by
// default are read; a type JSON cannot be is a 415.
func TestJSONContentTypes(t *testing.T) {
	type point struct{ X, Y int }
	jsonD := JSON[point]()
	ndD := NDArray[[][]float64]()
	tests := []struct {
		ct     string
		status int // 0: accepted
	}{
		{"", 0},
		{"application/json", 0},
		{"Application/JSON; charset=utf-8", 0},
		{"application/vnd.api+json", 0},
		{"text/json", 0},
		{"application/x-www-form-urlencoded", 0}, // curl -d
		{"application/octet-stream", 0},
		{"application/json; ===", 0}, // parameters are not read
		{"image/png", 415},
		{"application/xml", 415},
		{"text/plain", 415},
		{"text/plain; charset=utf-8", 415},
		{"multipart/form-data; boundary=x", 415},
	}
	for _, tc := range tests {
		t.Run(tc.ct, func(t *testing.T) {
			_, err := jsonD.decodeHTTP(iospec.Payload{ContentType: tc.ct, Body: []byte(`{"X":1,"Y":2}`)})
			_, ndErr := ndD.decodeHTTP(iospec.Payload{ContentType: tc.ct, Body: []byte(`[[1,2]]`)})
			for name, err := range map[string]error{"JSON": err, "NDArray": ndErr} {
				if tc.status == 0 {
					if err != nil {
						t.Errorf("%s: %v", name, err)
					}
					continue
				}
				checkErr(t, err, tc.status, "this API reads JSON", "application/json")
			}
		})
	}
}

// TestConfigErrorsHaveOnePrefix checks that a misconfigured descriptor is
// reported once with the "bento:" prefix, not "bento: API ...: bento: ...".
func TestConfigErrorsHaveOnePrefix(t *testing.T) {
	cases := []struct {
		name string
		reg  func(svc *Service)
	}{
		{"ndarray type", func(svc *Service) { API(svc, "a", NDArray[[]string](), Text(), echoFn[[]string, string]) }},
		{"ndarray shape", func(svc *Service) { API(svc, "a", NDArray[[]float64](Shape(2, 2)), Text(), echoFn[[]float64, string]) }},
		{"ndarray output", func(svc *Service) { API(svc, "a", Text(), NDArray[[]float64](DType("x")), echoFn[string, []float64]) }},
		{"image", func(svc *Service) { API(svc, "a", Image(AllowedTypes()), Text(), echoFn[image.Image, string]) }},
		{"file", func(svc *Service) { API(svc, "a", File(FileMIME("nope")), Text(), echoFn[FileData, string]) }},
		{"multipart", func(svc *Service) {
			API(svc, "a", Multipart(Field("x", NDArray[[]string]())), Text(), echoFn[Parts, string])
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := NewService("s")
			tc.reg(svc)
			err := svc.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			if n := strings.Count(err.Error(), "bento:"); n != 1 {
				t.Fatalf("error has %d \"bento:\" prefixes: %v", n, err)
			}
		})
	}
}

// TestBrokenDescriptorMessages checks the 500 of a misconfigured
// descriptor and the errors of bad results: one "bento:" at most.
func TestBrokenDescriptorMessages(t *testing.T) {
	_, err := NDArray[[]string]().decodeHTTP(jsonBody("[1]"))
	checkErr(t, err, http.StatusInternalServerError, "misconfigured", "element type")
	if strings.Contains(err.Error(), "bento:") {
		t.Fatalf("broken descriptor error: %v", err)
	}
	for _, d := range []IO[[][]float64]{NDArray[[][]float64](), NDArray[[][]float64](Shape(2, 1))} {
		for _, v := range [][][]float64{{{1, 2}, {3}}, {{math.NaN()}}, {{1}}} {
			if _, err := d.encodeHTTP(v); err != nil && strings.Count(err.Error(), "bento:") != 1 {
				t.Fatalf("result error %q", err)
			}
		}
	}
}

func echoFn[In, Out any](context.Context, In) (Out, error) {
	var zero Out
	return zero, nil
}

// TestPartFieldTyped reads and writes multipart fields as their declared
// types, over HTTP and gRPC.
func TestPartFieldTyped(t *testing.T) {
	name, m, img := Field("name", Text()), Field("meta", JSON[meta]()), Field("img", Image())
	d := Multipart(name, m, img)
	if name.Name() != "name" {
		t.Fatalf("Name() = %q", name.Name())
	}
	pngB := encodeTestImage(t, "png", testImage(3, 2))
	parts, err := d.decodeHTTP(buildForm(t,
		formItem{name: "name", body: []byte("Grumpy")},
		formItem{name: "meta", contentType: "application/json", body: []byte(`{"label":"cat","score":0.5}`)},
		formItem{name: "img", filename: "cat.png", contentType: "image/png", body: pngB}))
	if err != nil {
		t.Fatal(err)
	}
	var gotName string = name.Get(parts)
	var gotMeta meta = m.Get(parts)
	var gotImg image.Image = img.Get(parts)
	if gotName != "Grumpy" || gotMeta != (meta{"cat", 0.5}) || gotImg.Bounds().Dx() != 3 {
		t.Fatalf("got %q %+v %v", gotName, gotMeta, gotImg.Bounds())
	}

	var out Parts
	name.Set(&out, "x")
	m.Set(&out, meta{"dog", 1})
	img.Set(&out, gotImg)
	pv, err := d.encodeProto(out)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodePV(d, pv)
	if err != nil {
		t.Fatal(err)
	}
	if name.Get(back) != "x" || m.Get(back) != (meta{"dog", 1}) || img.Get(back).Bounds() != gotImg.Bounds() {
		t.Fatalf("gRPC round trip: %+v", back)
	}
	// A field the Parts does not hold reads as the zero value.
	if v := Field("other", JSON[meta]()).Get(back); v != (meta{}) {
		t.Fatalf("absent field = %+v", v)
	}
}

package bento

import (
	"errors"
	"image"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// clientError fails unless err is a client error (clientErr) with a 4xx
// status: whatever a client sends, decoding must never panic nor look like
// a server fault.
func clientError(t *testing.T, err error) {
	t.Helper()
	var e clientErr
	if !errors.As(err, &e) {
		t.Fatalf("error %q (%T) has no client status and message", err, err)
	}
	if st := ioStatusOf(err); st < 400 || st > 499 {
		t.Fatalf("status %d for %v", st, err)
	}
	if _, msg := e.ClientError(); len(msg) > 1000 {
		t.Fatalf("error message is %d bytes long", len(msg))
	}
}

// ndRoundTrip decodes body with d; a value it accepts must encode and
// decode back to itself, over HTTP and gRPC.
func ndRoundTrip[T any](t *testing.T, d IO[T], decode func() (T, error)) {
	t.Helper()
	v, err := decode()
	if err != nil {
		clientError(t, err)
		return
	}
	p, err := d.encodeHTTP(v)
	if err != nil {
		t.Fatalf("encodeHTTP of a decoded value: %v", err)
	}
	back, err := d.decodeHTTP(p)
	if err != nil || !reflect.DeepEqual(back, v) {
		t.Fatalf("HTTP round trip of %v: got %v, %v", v, back, err)
	}
	pv, err := d.encodeProto(v)
	if err != nil {
		t.Fatalf("encodeProto of a decoded value: %v", err)
	}
	back, err = d.decodeProto(pv)
	if err != nil || !reflect.DeepEqual(back, v) {
		t.Fatalf("gRPC round trip of %v: got %v, %v", v, back, err)
	}
}

func FuzzNDArrayHTTP(f *testing.F) {
	for _, s := range []string{"[[1,2],[3,4]]", "[]", "[[[1e3,-0.5]]]", "[true,false]", "[[1],[2,3]]", "[1.5e308, -4.9e-324]"} {
		f.Add([]byte(s))
	}
	f64 := NDArray[[][]float64]()
	i8 := NDArray[[]int8](DType("int32"))
	b := NDArray[[]bool]()
	u16 := NDArray[[][][]uint16](Shape(-1, 2, -1))
	f32 := NDArray[[]float32](DType("float32"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p := iospec.Payload{ContentType: "application/json", Body: body}
		ndRoundTrip(t, f64, func() ([][]float64, error) { return f64.decodeHTTP(p) })
		ndRoundTrip(t, i8, func() ([]int8, error) { return i8.decodeHTTP(p) })
		ndRoundTrip(t, b, func() ([]bool, error) { return b.decodeHTTP(p) })
		ndRoundTrip(t, u16, func() ([][][]uint16, error) { return u16.decodeHTTP(p) })
		ndRoundTrip(t, f32, func() ([]float32, error) { return f32.decodeHTTP(p) })
	})
}

func FuzzNDArrayProto(f *testing.F) {
	for _, a := range []*pb.NDArray{
		{Dtype: pb.NDArray_DTYPE_DOUBLE, Shape: []int32{2, 2}, DoubleValues: []float64{1, 2, 3, 4}},
		{Shape: []int32{3}, Int64Values: []int64{-1, 0, 1}},
		{Dtype: pb.NDArray_DTYPE_FLOAT, Shape: []int32{1, 0}},
		{Shape: []int32{2147483647, 0}, BoolValues: []bool{true}},
	} {
		b, err := proto.Marshal(a)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f64 := NDArray[[][]float64]()
	i32 := NDArray[[]int32]()
	u8 := NDArray[[][][]uint8](Shape(-1, -1, 3))
	b := NDArray[[][]bool]()
	f.Fuzz(func(t *testing.T, data []byte) {
		var a pb.NDArray
		if proto.Unmarshal(data, &a) != nil {
			return
		}
		v := protoValue{Field: "ndarray", NDArray: &a}
		ndRoundTrip(t, f64, func() ([][]float64, error) { return f64.decodeProto(v) })
		ndRoundTrip(t, i32, func() ([]int32, error) { return i32.decodeProto(v) })
		ndRoundTrip(t, u8, func() ([][][]uint8, error) { return u8.decodeProto(v) })
		ndRoundTrip(t, b, func() ([][]bool, error) { return b.decodeProto(v) })
	})
}

func FuzzImageHTTP(f *testing.F) {
	pngB := encodeTestImage(f, "png", testImage(3, 2))
	gifB := encodeTestImage(f, "gif", testImage(2, 2))
	jpgB := encodeTestImage(f, "jpeg", testImage(2, 3))
	f.Add("image/png", pngB)
	f.Add("", gifB)
	f.Add("image/jpeg", jpgB)
	form := buildForm(f, formItem{name: "x", filename: "a.png", contentType: "image/png", body: pngB})
	f.Add(form.ContentType, form.Body)
	f.Add("image/png", hugePNG(100000, 100000))
	const maxPixels = 1 << 16 // keeps each fuzz input cheap to decode
	d := Image(MaxImagePixels(maxPixels))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		img, err := d.decodeHTTP(iospec.Payload{ContentType: contentType, Body: body})
		if err != nil {
			clientError(t, err)
			return
		}
		if r := img.Bounds(); r.Dx()*r.Dy() > maxPixels || r.Empty() {
			t.Fatalf("accepted an image of %v", r)
		}
		if _, err := d.encodeHTTP(img); err != nil {
			t.Fatalf("encoding a decoded image: %v", err)
		}
	})
}

func FuzzFileHTTP(f *testing.F) {
	f.Add("application/pdf", []byte("%PDF-1.4"))
	f.Add("", []byte("raw"))
	form := buildForm(f, formItem{name: "doc", filename: "a.pdf", contentType: "application/pdf", body: []byte("%PDF")})
	f.Add(form.ContentType, form.Body)
	f.Add("multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x\"\r\n\r\ndata\r\n--b--\r\n"))
	anyFile := File()
	pdf := File(FileMIME("application/pdf"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		for _, d := range []IO[FileData]{anyFile, pdf} {
			v, err := d.decodeHTTP(iospec.Payload{ContentType: contentType, Body: body})
			if err != nil {
				clientError(t, err)
				continue
			}
			if len(v.Data) == 0 {
				t.Fatal("accepted an empty file")
			}
			if _, err := d.encodeHTTP(v); err != nil {
				t.Fatalf("encoding a decoded file: %v", err)
			}
		}
	})
}

func FuzzMultipartHTTP(f *testing.F) {
	pngB := encodeTestImage(f, "png", testImage(2, 2))
	full := buildForm(f,
		formItem{name: "a", body: []byte("text")},
		formItem{name: "b", contentType: "application/json", body: []byte(`{"k":[1,2]}`)},
		formItem{name: "c", filename: "c.png", contentType: "image/png", body: pngB},
	)
	f.Add(full.ContentType, full.Body)
	f.Add("multipart/form-data; boundary=b", []byte("--b--\r\n"))
	f.Add("multipart/form-data", []byte("--b\r\n"))
	f.Add("text/plain", []byte("hello"))
	d := Multipart(
		Field("a", Text()),
		Field("b", JSON[map[string]any]()),
		Field("c", Image(MaxImagePixels(1<<16))),
	)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		parts, err := d.decodeHTTP(iospec.Payload{ContentType: contentType, Body: body})
		if err != nil {
			clientError(t, err)
			return
		}
		if _, err := PartValue[image.Image](parts, "c"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.encodeHTTP(parts); err != nil {
			t.Fatalf("encoding decoded parts: %v", err)
		}
	})
}

// FuzzTextHTTP: any body either decodes to the same bytes (valid UTF-8) or
// is a 400; what decodes encodes back unchanged.
func FuzzTextHTTP(f *testing.F) {
	for _, s := range []string{"", "I love this", "héllo", "\xff\xfe", "a\x00b"} {
		f.Add("text/plain", []byte(s))
	}
	d := Text()
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		v, err := d.decodeHTTP(iospec.Payload{ContentType: ct, Body: body})
		if err != nil {
			clientError(t, err)
			return
		}
		if v != string(body) {
			t.Fatalf("decoded %q from %q", v, body)
		}
		p, err := d.encodeHTTP(v)
		if err != nil || string(p.Body) != string(body) {
			t.Fatalf("encode: %q %v", p.Body, err)
		}
	})
}

type fuzzDoc struct {
	Text   string             `json:"text"`
	Values []float64          `json:"values"`
	Meta   map[string]string  `json:"meta,omitempty"`
	Next   *fuzzDoc           `json:"next,omitempty"`
	Extra  map[string]float64 `json:"extra,omitempty"`
}

// FuzzJSONHTTP: any body is either a value that re-encodes and decodes to
// itself, or a 400 (plain and Strict descriptors, a struct and `any`).
func FuzzJSONHTTP(f *testing.F) {
	for _, s := range []string{`{"text":"a","values":[1,2.5]}`, `{"text":"a","zzz":1}`, `[[[[[[1]]]]]]`,
		`{"values":[1e400]}`, `{"text":"\ud800"}`, `{"next":{"next":{"text":"deep"}}}`, `{`, `null`, `"x" "y"`} {
		f.Add([]byte(s))
	}
	plain, strict, anyv := JSON[fuzzDoc](), JSON[fuzzDoc](Strict()), JSON[any]()
	f.Fuzz(func(t *testing.T, body []byte) {
		jsonRoundTrip(t, plain, body)
		jsonRoundTrip(t, strict, body)
		jsonRoundTrip(t, anyv, body)
	})
}

func jsonRoundTrip[T any](t *testing.T, d IO[T], body []byte) {
	t.Helper()
	v, err := d.decodeHTTP(iospec.Payload{ContentType: "application/json", Body: body})
	if err != nil {
		clientError(t, err)
		return
	}
	p, err := d.encodeHTTP(v)
	if err != nil {
		t.Fatalf("encodeHTTP of a decoded value: %v", err)
	}
	w, err := d.decodeHTTP(p)
	if err != nil {
		t.Fatalf("re-decoding %q: %v", p.Body, err)
	}
	if !reflect.DeepEqual(v, w) {
		t.Fatalf("round trip changed the value: %#v -> %#v", v, w)
	}
}

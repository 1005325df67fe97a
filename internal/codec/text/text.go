// Package text is the Text descriptor: a UTF-8 string as a text/plain body
// or the `text` field of a bentoml.grpc.v1 message.
package text

import (
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/iospec"
)

// Codec is the Text codec. Its zero value is ready to use.
type Codec struct{}

var _ codec.Codec[string] = Codec{}

// Spec describes the Text descriptor.
func (Codec) Spec() iospec.Spec {
	return iospec.Spec{
		ID:           "bentoml.io.Text",
		MediaTypes:   []string{"text/plain"},
		ResponseType: "text/plain",
		Schema:       map[string]any{"type": "string"},
		ProtoField:   "text", // no Attributes: BentoML's Text spec has no args
		Example:      "I love this product, it is great!",
	}
}

// DecodeHTTP returns the whole body, which must be valid UTF-8; the
// Content-Type is not checked, as in BentoML.
func (Codec) DecodeHTTP(p iospec.Payload) (string, error) {
	if !utf8.Valid(p.Body) {
		return "", codec.BadInputf("request body is not valid UTF-8 text")
	}
	if len(p.Body) == 0 {
		return "", nil
	}
	// The body buffer is allocated for this request and never written
	// again, so the string can share it instead of copying.
	return unsafe.String(&p.Body[0], len(p.Body)), nil
}

// EncodeHTTP writes v as text/plain; charset=utf-8.
func (Codec) EncodeHTTP(v string) (iospec.Payload, error) {
	// The payload is only read (written to the connection), so it can
	// share the string's bytes.
	return iospec.Payload{ContentType: "text/plain; charset=utf-8", Body: unsafe.Slice(unsafe.StringData(v), len(v))}, nil
}

// DecodeProto reads the `text` field.
func (Codec) DecodeProto(v codec.Value) (string, error) {
	return v.Text.GetValue(), nil
}

// EncodeProto writes the `text` field.
func (Codec) EncodeProto(s string) (codec.Value, error) {
	return codec.Value{Field: "text", Text: wrapperspb.String(s)}, nil
}

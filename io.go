package bento

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/iospec"
)

// IO converts between wire payloads (an HTTP body, a gRPC message field) and
// Go values of type T. Values are made by the descriptor constructors
// ([Text], [JSON], [NDArray], [Image], [File], [Multipart]); the interface is
// sealed so that every descriptor behaves the same on HTTP and gRPC.
type IO[T any] interface {
	// Spec describes the descriptor for OpenAPI and gRPC metadata.
	Spec() iospec.Spec

	decodeHTTP(p iospec.Payload) (T, error)
	encodeHTTP(v T) (iospec.Payload, error)
	decodeProto(v protoValue) (T, error)
	encodeProto(v T) (protoValue, error)
}

// mediaType returns the lower-cased media type of a Content-Type value,
// without parameters ("" when empty or malformed).
func mediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}

// clip shortens a message that may quote client input, so an error body
// never echoes a large request back.
func clip(s string) string { return errs.Clip(s, 300) }

// errUnsupportedMedia is a 415 naming the accepted types.
func errUnsupportedMedia(got string, want ...string) *Error {
	if got == "" {
		got = "none"
	}
	got = errs.Clip(got, 100)
	return newError(http.StatusUnsupportedMediaType, errs.TypeUnsupportedMedia,
		"unsupported content type %q; expected %s", got, strings.Join(want, " or "))
}

// jsonMediaOK reports whether a descriptor that reads JSON ([JSON],
// [NDArray]) takes a body declared as contentType: none (curl users rely on
// it), application/json, text/json or any +json type, and the types that
// generic clients send without meaning them: application/x-www-form-urlencoded
// (curl -d) and application/octet-stream. It does not allocate.
func jsonMediaOK(contentType string) bool {
	if contentType == "" || contentType == "application/json" {
		return true
	}
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	for _, ok := range [...]string{"", "application/json", "text/json", "application/x-www-form-urlencoded", "application/octet-stream"} {
		if strings.EqualFold(mt, ok) {
			return true
		}
	}
	return len(mt) > len("+json") && strings.EqualFold(mt[len(mt)-len("+json"):], "+json")
}

// errNotJSONMedia is the 415 for a body declared as something JSON is not.
func errNotJSONMedia(contentType string) *Error {
	return newError(http.StatusUnsupportedMediaType, errs.TypeUnsupportedMedia,
		"unsupported content type %q; this API reads JSON: send application/json (or no Content-Type)", gotType(contentType))
}

// ---- Text -------------------------------------------------------------------

type textIO struct{}

// Text is a plain-text descriptor: the whole body is the string (it must be
// valid UTF-8; the Content-Type is not checked, as in BentoML). Responses are
// text/plain; charset=utf-8. Over gRPC it maps to the `text` field.
func Text() IO[string] { return textIO{} }

func (textIO) Spec() iospec.Spec {
	return iospec.Spec{
		ID:           "bentoml.io.Text",
		MediaTypes:   []string{"text/plain"},
		ResponseType: "text/plain",
		Schema:       map[string]any{"type": "string"},
		ProtoField:   "text", // no Attributes: BentoML's Text spec has no args
		Example:      "I love this product, it is great!",
	}
}

func (textIO) decodeHTTP(p iospec.Payload) (string, error) {
	if !utf8.Valid(p.Body) {
		return "", BadInputf("request body is not valid UTF-8 text")
	}
	if len(p.Body) == 0 {
		return "", nil
	}
	// The body buffer is allocated for this request and never written
	// again, so the string can share it instead of copying.
	return unsafe.String(&p.Body[0], len(p.Body)), nil
}

func (textIO) encodeHTTP(v string) (iospec.Payload, error) {
	// The payload is only read (written to the connection), so it can
	// share the string's bytes.
	return iospec.Payload{ContentType: "text/plain; charset=utf-8", Body: unsafe.Slice(unsafe.StringData(v), len(v))}, nil
}

// ---- JSON -------------------------------------------------------------------

// JSONOption configures a [JSON] descriptor.
type JSONOption func(*jsonOptions)

type jsonOptions struct {
	strict bool
}

// Strict makes a [JSON] descriptor reject objects with fields that T does not
// have (400), instead of ignoring them.
func Strict() JSONOption { return func(o *jsonOptions) { o.strict = true } }

type jsonIO[T any] struct {
	opts jsonOptions
}

// JSON is a descriptor for any Go type encoded as JSON with encoding/json.
// A request declared as a type JSON cannot be (image/png, text/plain,
// application/xml, ...) is a 415; no Content-Type, application/json, any
// +json type, and what generic clients send by default (curl -d's
// application/x-www-form-urlencoded, application/octet-stream) are read as
// JSON. A body that is not valid JSON for T is a 400 "BadInput". Unknown object fields are ignored
// unless [Strict] is given. Responses are compact application/json.
// Over gRPC it maps to the `json` field (google.protobuf.Value).
func JSON[T any](opts ...JSONOption) IO[T] {
	j := jsonIO[T]{}
	for _, o := range opts {
		o(&j.opts)
	}
	return j
}

func (j jsonIO[T]) Spec() iospec.Spec {
	return iospec.Spec{
		ID:           "bentoml.io.JSON",
		MediaTypes:   []string{"application/json"},
		ResponseType: "application/json",
		Schema:       jsonSchemaOf[T](),
		// BentoML's JSON() with its default encoder and no pydantic model:
		// a client can use neither over the wire.
		Attributes: map[string]any{"has_pydantic_model": false, "has_json_encoder": false},
		ProtoField: "json",
		Example:    jsonExampleOf[T](),
	}
}

func (j jsonIO[T]) decodeHTTP(p iospec.Payload) (T, error) {
	var v T
	if !jsonMediaOK(p.ContentType) {
		return v, errNotJSONMedia(p.ContentType)
	}
	if err := decodeJSON(p.Body, &v, j.opts.strict); err != nil {
		return v, err
	}
	return v, nil
}

// decodeJSON decodes exactly one JSON value from body into v.
func decodeJSON(body []byte, v any, strict bool) error {
	if !strict {
		// Unmarshal also rejects trailing data, and is cheaper than a Decoder.
		if err := json.Unmarshal(body, v); err != nil {
			return BadInputf("Invalid JSON input received: %s", clip(err.Error()))
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return BadInputf("Invalid JSON input received: %s", clip(err.Error()))
	}
	if dec.More() {
		return BadInputf("Invalid JSON input received: unexpected data after the JSON value")
	}
	return nil
}

func (j jsonIO[T]) encodeHTTP(v T) (iospec.Payload, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return iospec.Payload{}, fmt.Errorf("bento: encoding JSON response: %w", err)
	}
	return iospec.Payload{ContentType: "application/json", Body: b}, nil
}

package bento

import (
	"github.com/gobento/bento/internal/codec"
	jsoncodec "github.com/gobento/bento/internal/codec/json"
	"github.com/gobento/bento/internal/codec/text"
	"github.com/gobento/bento/internal/iospec"
)

// IO converts between wire payloads (an HTTP body, a gRPC message field) and
// Go values of type T. Values are made by the descriptor constructors
// ([Text], [JSON], [NDArray], [Image], [File], [Multipart]), so that every
// descriptor behaves the same on HTTP and gRPC; the zero IO is not a
// descriptor, and an [API] declared with one reports it when the service
// starts. An IO is immutable and safe for concurrent use.
type IO[T any] struct {
	c codec.Codec[T]
}

// ioOf wraps a codec.
func ioOf[T any](c codec.Codec[T]) IO[T] { return IO[T]{c: c} }

// wireSpec describes the descriptor for OpenAPI and gRPC metadata.
func (d IO[T]) wireSpec() iospec.Spec { return d.c.Spec() }

// Spec describes the descriptor as the OpenAPI document and BentoML's
// clients see it. Each call builds a new IOSpec.
func (d IO[T]) Spec() IOSpec {
	if d.c == nil {
		return IOSpec{}
	}
	return ioSpec(d.c.Spec())
}

func (d IO[T]) decodeHTTP(p iospec.Payload) (T, error) { return d.c.DecodeHTTP(p) }
func (d IO[T]) encodeHTTP(v T) (iospec.Payload, error) { return d.c.EncodeHTTP(v) }
func (d IO[T]) decodeProto(v protoValue) (T, error)    { return d.c.DecodeProto(v) }
func (d IO[T]) encodeProto(v T) (protoValue, error)    { return d.c.EncodeProto(v) }

// validate reports a misconfigured descriptor.
func (d IO[T]) validate() error { return codec.Validate(d.c) }

// protoValue is one value of a gRPC message's content oneof.
type protoValue = codec.Value

// IOSpec describes an IO descriptor: what [IO.Spec] returns and what
// [APIInfo] holds for an API's input and output.
type IOSpec struct {
	// ID is BentoML's descriptor id, e.g. "bentoml.io.Text".
	ID string
	// MediaTypes lists the request media types the descriptor accepts;
	// the first one is used in documentation examples.
	MediaTypes []string
	// ResponseType is the media type of responses it writes.
	ResponseType string
	// Schema is the OpenAPI 3.0 schema object of the value.
	Schema map[string]any
	// Attributes are the descriptor's arguments as BentoML 1.1's to_spec()
	// gives them ("args"); nil when it has none (Text).
	Attributes map[string]any
	// ProtoField is the gRPC oneof field the descriptor maps to ("text",
	// "json", "ndarray", "file", "multipart").
	ProtoField string
	// Example is an example request body for docs (may be empty).
	Example string
}

// ioSpec converts an internal spec; IOSpec has the same fields.
func ioSpec(s iospec.Spec) IOSpec { return IOSpec(s) }

// ---- Text -------------------------------------------------------------------

// Text is a plain-text descriptor: the whole body is the string (it must be
// valid UTF-8; the Content-Type is not checked, as in BentoML). Responses are
// text/plain; charset=utf-8. Over gRPC it maps to the `text` field.
func Text() IO[string] { return ioOf[string](text.Codec{}) }

// ---- JSON -------------------------------------------------------------------

// JSONOption configures a [JSON] descriptor.
type JSONOption func(*jsonOptions)

type jsonOptions = jsoncodec.Options

// Strict makes a [JSON] descriptor reject objects with fields that T does not
// have (400), instead of ignoring them.
func Strict() JSONOption { return func(o *jsonOptions) { o.Strict = true } }

// JSON is a descriptor for any Go type encoded as JSON with encoding/json.
// A request declared as a type JSON cannot be (image/png, text/plain,
// application/xml, ...) is a 415; no Content-Type, application/json, any
// +json type, and what generic clients send by default (curl -d's
// application/x-www-form-urlencoded, application/octet-stream) are read as
// JSON. A body that is not valid JSON for T is a 400 "BadInput". Unknown
// object fields are ignored unless [Strict] is given; a missing field keeps
// its zero value, so the OpenAPI schema marks no field required. Responses
// are compact application/json. Over gRPC it maps to the `json` field
// (google.protobuf.Value).
func JSON[T any](opts ...JSONOption) IO[T] {
	var o jsonOptions
	for _, opt := range opts {
		opt(&o)
	}
	return ioOf[T](jsoncodec.New[T](o))
}

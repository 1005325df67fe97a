// Package json is the JSON descriptor: any Go type encoded with
// encoding/json, as an application/json body or the `json` field
// (google.protobuf.Value) of a bentoml.grpc.v1 message.
package json

import (
	"bytes"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/iospec"
)

// Options configures a Codec.
type Options struct {
	// Strict rejects objects with fields that T does not have (400).
	Strict bool
}

// Codec is the JSON codec for T.
type Codec[T any] struct {
	opts Options
}

var _ codec.Codec[int] = Codec[int]{}

// New returns the JSON codec for T.
func New[T any](opts Options) Codec[T] { return Codec[T]{opts: opts} }

// Spec describes the JSON descriptor, with T's schema.
func (j Codec[T]) Spec() iospec.Spec {
	return iospec.Spec{
		ID:           "bentoml.io.JSON",
		MediaTypes:   []string{"application/json"},
		ResponseType: "application/json",
		Schema:       SchemaOf[T](),
		// BentoML's JSON() with its default encoder and no pydantic model:
		// a client can use neither over the wire.
		Attributes: map[string]any{"has_pydantic_model": false, "has_json_encoder": false},
		ProtoField: "json",
		Example:    exampleOf[T](),
	}
}

// DecodeHTTP reads a JSON body (see codec.JSONMediaOK for the media types
// it takes).
func (j Codec[T]) DecodeHTTP(p iospec.Payload) (T, error) {
	var v T
	if !codec.JSONMediaOK(p.ContentType) {
		return v, codec.ErrNotJSONMedia(p.ContentType)
	}
	if err := Decode(p.Body, &v, j.opts.Strict); err != nil {
		return v, err
	}
	return v, nil
}

// Decode decodes exactly one JSON value from body into v; a body that is
// not valid JSON for v is a 400.
func Decode(body []byte, v any, strict bool) error {
	if !strict {
		// Unmarshal also rejects trailing data, and is cheaper than a Decoder.
		if err := json.Unmarshal(body, v); err != nil {
			return codec.BadInputf("Invalid JSON input received: %s", codec.Clip(err.Error()))
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return codec.BadInputf("Invalid JSON input received: %s", codec.Clip(err.Error()))
	}
	if dec.More() {
		return codec.BadInputf("Invalid JSON input received: unexpected data after the JSON value")
	}
	return nil
}

// EncodeHTTP writes v as compact application/json.
func (j Codec[T]) EncodeHTTP(v T) (iospec.Payload, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return iospec.Payload{}, fmt.Errorf("bento: encoding JSON response: %w", err)
	}
	return iospec.Payload{ContentType: "application/json", Body: b}, nil
}

// DecodeProto reads the `json` field.
func (j Codec[T]) DecodeProto(v codec.Value) (T, error) {
	var out T
	b, err := v.JSON.MarshalJSON()
	if err != nil {
		return out, codec.BadInputf("invalid json value: %v", err)
	}
	if err := Decode(b, &out, j.opts.Strict); err != nil {
		return out, err
	}
	return out, nil
}

// EncodeProto writes the `json` field.
func (j Codec[T]) EncodeProto(v T) (codec.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return codec.Value{}, fmt.Errorf("bento: encoding JSON response: %w", err)
	}
	pv := &structpb.Value{}
	if err := pv.UnmarshalJSON(b); err != nil {
		return codec.Value{}, fmt.Errorf("bento: converting JSON response to google.protobuf.Value: %w", err)
	}
	return codec.Value{Field: "json", JSON: pv}, nil
}

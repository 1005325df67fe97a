// Package iospec holds the type-erased shapes that IO descriptors, the HTTP
// server and the gRPC server exchange: a payload of bytes with its media
// type, and a descriptor's self-description for OpenAPI and gRPC metadata.
package iospec

import (
	"net/textproto"
	"time"
)

// Payload is one HTTP body (or one multipart part): its bytes and media type.
type Payload struct {
	// ContentType is the full Content-Type value, parameters included.
	ContentType string
	// Header holds extra headers to send (responses) or the part's headers
	// (multipart parts). It may be nil.
	Header textproto.MIMEHeader
	// Filename is the multipart filename or the file name to advertise.
	Filename string
	// Body is the raw content.
	Body []byte
	// MaxItems, when > 0, is the most items (the first dimension of an
	// array) a decoder that counts items accepts; it stops reading past it.
	MaxItems int
	// Traced (a request) asks the API call to make decode, API and encode
	// spans under the request's span, when that span is sampled.
	Traced bool
	// Decode and Encode (a response) are the time the API call spent
	// decoding its input and encoding its output.
	Decode, Encode time.Duration
}

// Phases is where a gRPC API call's time went (an HTTP call carries its
// own in its Payloads): Traced asks for decode, API and encode spans under
// a sampled request span; Decode and Encode are set by the call.
type Phases struct {
	Traced         bool
	Decode, Encode time.Duration
}

// Spec is what a descriptor says about itself.
type Spec struct {
	// ID is BentoML's descriptor id, e.g. "bentoml.io.Text".
	ID string
	// MediaTypes lists the request media types the descriptor accepts;
	// the first one is used in documentation examples.
	MediaTypes []string
	// ResponseType is the media type of responses it writes.
	ResponseType string
	// Schema is the OpenAPI 3.0 schema object of the value.
	Schema map[string]any
	// Attributes are the descriptor's arguments, exactly the "args" of
	// BentoML 1.1's to_spec(): the keyword arguments its from_spec() passes
	// to the Python descriptor's constructor, so no other key may appear.
	// Nil means the descriptor has no args (Text).
	Attributes map[string]any
	// ProtoField is the name of the gRPC oneof field the descriptor maps to
	// ("text", "json", "ndarray", "file", "multipart").
	ProtoField string
	// Example is an example request body for docs (may be empty).
	Example string
}

// BentoSpec returns the descriptor's spec as BentoML 1.1's to_spec() gives
// it: {"id": ID, "args": Attributes}, or only the id when Attributes is
// nil. It is the value of x-bentoml-io-descriptor in /docs.json, which
// BentoML's HTTP clients pass to from_spec.
func (s Spec) BentoSpec() map[string]any {
	m := map[string]any{"id": s.ID}
	if s.Attributes != nil {
		m["args"] = s.Attributes
	}
	return m
}

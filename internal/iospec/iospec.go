// Package iospec holds the type-erased shapes that IO descriptors, the HTTP
// server and the gRPC server exchange: a payload of bytes with its media
// type, and a descriptor's self-description for OpenAPI and gRPC metadata.
package iospec

import "net/textproto"

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
	// Attributes are the descriptor's arguments, reported by gRPC
	// ServiceMetadata (BentoML's to_spec() args).
	Attributes map[string]any
	// ProtoField is the name of the gRPC oneof field the descriptor maps to
	// ("text", "json", "ndarray", "file", "multipart").
	ProtoField string
	// Example is an example request body for docs (may be empty).
	Example string
}

// Package codec defines what an IO descriptor is inside gobento: a Codec
// converts between one Go type and its wire forms (an HTTP body, a
// bentoml.grpc.v1 message value) and describes itself for OpenAPI and
// BentoML clients. Each descriptor lives in its own sub-package
// (codec/text, codec/json, codec/ndarray, ...); the root package wraps a
// Codec in its public IO type. The package also holds the rules every
// descriptor shares: media-type checks, error constructors and multipart
// form reading.
package codec

import (
	"bytes"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// Codec converts between wire payloads and Go values of type T. Methods
// may be called concurrently; a Codec is immutable once made.
type Codec[T any] interface {
	// Spec describes the descriptor for OpenAPI and gRPC metadata. It may
	// allocate: callers compute it once.
	Spec() iospec.Spec
	// DecodeHTTP reads a request body (or a multipart part). Errors a
	// client caused are *errs.Error with a 4xx status.
	DecodeHTTP(p iospec.Payload) (T, error)
	// EncodeHTTP writes a response body.
	EncodeHTTP(v T) (iospec.Payload, error)
	// DecodeProto reads the value of the descriptor's own gRPC field
	// (Value.Field == Spec().ProtoField).
	DecodeProto(v Value) (T, error)
	// EncodeProto writes a gRPC value.
	EncodeProto(v T) (Value, error)
}

// Validator is implemented by codecs that can be misconfigured; the error
// is reported when the service starts. Its message has no "bento:" prefix:
// the caller adds its own context.
type Validator interface {
	Validate() error
}

// ItemCounter is implemented by codecs whose values have items (the first
// dimension of an array), which an API's MaxItems counts.
type ItemCounter[T any] interface {
	ItemCount(v T) int
}

// Validate returns c's configuration error, if c can have one.
func Validate(c any) error {
	if v, ok := c.(Validator); ok {
		return v.Validate()
	}
	return nil
}

// Value is one value of the content oneof of a bentoml.grpc.v1 Request,
// Response or multipart Part, whichever message it came from.
type Value struct {
	// Field is the name of the oneof field that is set ("text", "json",
	// "ndarray", "file", "multipart", "dataframe", "series",
	// "serialized_bytes"), or "" when none is.
	Field      string
	Text       *wrapperspb.StringValue
	JSON       *structpb.Value
	NDArray    *pb.NDArray
	File       *pb.File
	Multipart  *pb.Multipart
	DataFrame  *pb.DataFrame
	Series     *pb.Series
	Serialized []byte
}

// DecodeValue applies the rules every descriptor shares to a gRPC value:
// it must be set in the descriptor's own field or in serialized_bytes,
// which is decoded the way an HTTP body would be. spec is c.Spec(),
// computed once by the caller.
func DecodeValue[T any](c Codec[T], spec *iospec.Spec, v Value) (T, error) {
	var zero T
	switch v.Field {
	case spec.ProtoField:
		return c.DecodeProto(v)
	case "serialized_bytes":
		ct := spec.ResponseType
		if len(spec.MediaTypes) > 0 {
			ct = spec.MediaTypes[0]
		}
		// Descriptors may keep references into an HTTP body (which is
		// never reused); the message's bytes belong to the transport, so
		// hand them a copy.
		return c.DecodeHTTP(iospec.Payload{ContentType: ct, Body: bytes.Clone(v.Serialized)})
	case "":
		return zero, BadInputf("request has no content: set %q or \"serialized_bytes\"", spec.ProtoField)
	}
	return zero, BadInputf("%s expects the %q field (or \"serialized_bytes\"), got %q", spec.ID, spec.ProtoField, v.Field)
}

// PartValue converts a multipart Part to a Value; a nil part or one with no
// representation gives Field "".
func PartValue(p *pb.Part) Value {
	switch r := p.GetRepresentation().(type) {
	case *pb.Part_Ndarray:
		return Value{Field: "ndarray", NDArray: r.Ndarray}
	case *pb.Part_Dataframe:
		return Value{Field: "dataframe", DataFrame: r.Dataframe}
	case *pb.Part_Series:
		return Value{Field: "series", Series: r.Series}
	case *pb.Part_File:
		return Value{Field: "file", File: r.File}
	case *pb.Part_Text:
		return Value{Field: "text", Text: r.Text}
	case *pb.Part_Json:
		return Value{Field: "json", JSON: r.Json}
	case *pb.Part_SerializedBytes:
		return Value{Field: "serialized_bytes", Serialized: r.SerializedBytes}
	}
	return Value{}
}

// ToPart converts a Value to a multipart Part. A multipart value cannot be
// nested in a Part and is an error.
func ToPart(v Value) (*pb.Part, error) {
	switch v.Field {
	case "ndarray":
		return &pb.Part{Representation: &pb.Part_Ndarray{Ndarray: v.NDArray}}, nil
	case "dataframe":
		return &pb.Part{Representation: &pb.Part_Dataframe{Dataframe: v.DataFrame}}, nil
	case "series":
		return &pb.Part{Representation: &pb.Part_Series{Series: v.Series}}, nil
	case "file":
		return &pb.Part{Representation: &pb.Part_File{File: v.File}}, nil
	case "text":
		return &pb.Part{Representation: &pb.Part_Text{Text: v.Text}}, nil
	case "json":
		return &pb.Part{Representation: &pb.Part_Json{Json: v.JSON}}, nil
	case "serialized_bytes":
		return &pb.Part{Representation: &pb.Part_SerializedBytes{SerializedBytes: v.Serialized}}, nil
	}
	return nil, fmt.Errorf("a %q value cannot be a multipart part", v.Field)
}

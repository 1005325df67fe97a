package bento

import (
	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/codec/file"
	"github.com/gobento/bento/internal/iospec"
)

// FileData is a file received or sent by a [File] descriptor.
type FileData struct {
	// Name is the file name: the multipart filename or the name in a
	// Content-Disposition header of a request, and the name advertised in
	// the Content-Disposition header of a response. It may be empty.
	Name string
	// ContentType is the file's Content-Type as the client sent it (the
	// multipart part's, the request's, or the gRPC kind); it may be empty.
	// In a response it sets the Content-Type, defaulting to [FileMIME] or
	// application/octet-stream.
	ContentType string
	// Data is the file's content.
	Data []byte
}

// FileOption configures a [File] descriptor.
type FileOption func(*fileOptions)

type fileOptions struct {
	mime string
}

// FileMIME restricts a [File] descriptor to one media type, such as
// "application/pdf": a raw request must have that Content-Type (else 415),
// a multipart request must have a part of that type, and a gRPC file's kind,
// if set, must match (else 400). Responses default to that Content-Type.
func FileMIME(mime string) FileOption {
	return func(o *fileOptions) { o.mime = mime }
}

// File is a descriptor for files of any type, as raw bytes.
//
// Over HTTP a multipart/form-data request gives the first part that has a
// filename (or, with [FileMIME], the first part of that type); without one it
// is a 400 "no file found in multipart form". Any other request is the file
// itself; with [FileMIME] its Content-Type must match (else 415). An empty
// file is a 400. The response is the raw bytes with [FileData.ContentType]
// (default: [FileMIME], else application/octet-stream) and, if
// [FileData.Name] is set, a Content-Disposition attachment header naming it.
//
// Over gRPC it maps to the `file` field: kind, if set, must match
// [FileMIME], and content must not be empty. Results set kind to the
// response content type.
func File(opts ...FileOption) IO[FileData] {
	var o fileOptions
	for _, opt := range opts {
		opt(&o)
	}
	return ioOf[FileData](fileCodec{file.New(o.mime)})
}

// fileCodec serves FileData over the file codec, whose file.Data has the
// same fields.
type fileCodec struct{ c *file.Codec }

func (f fileCodec) Spec() iospec.Spec { return f.c.Spec() }
func (f fileCodec) Validate() error   { return f.c.Validate() }

func (f fileCodec) DecodeHTTP(p iospec.Payload) (FileData, error) {
	d, err := f.c.DecodeHTTP(p)
	return FileData(d), err
}

func (f fileCodec) EncodeHTTP(v FileData) (iospec.Payload, error) {
	return f.c.EncodeHTTP(file.Data(v))
}

func (f fileCodec) DecodeProto(v codec.Value) (FileData, error) {
	d, err := f.c.DecodeProto(v)
	return FileData(d), err
}

func (f fileCodec) EncodeProto(v FileData) (codec.Value, error) { return f.c.EncodeProto(file.Data(v)) }

package bento

import (
	"fmt"
	"mime"
	"net/textproto"
	"strings"

	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
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

type fileIO struct {
	mime string // normalized FileMIME, or ""
	err  error
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
	f := &fileIO{}
	if o.mime != "" {
		mt, _, err := mime.ParseMediaType(o.mime)
		if err != nil || !strings.Contains(mt, "/") {
			f.err = fmt.Errorf("File: FileMIME %q is not a media type such as application/pdf", o.mime)
		}
		f.mime = mt
	}
	return ioOf[FileData](f)
}

// validate reports a misconfigured descriptor (see validator).
func (f *fileIO) Validate() error { return f.err }

func (f *fileIO) broken() error {
	return codec.Internalf("the File descriptor is misconfigured: %v", f.err)
}

// responseType is the default Content-Type of results.
func (f *fileIO) responseType() string {
	if f.mime != "" {
		return f.mime
	}
	return "application/octet-stream"
}

func (f *fileIO) Spec() iospec.Spec {
	media := []string{f.responseType()}
	if f.mime != "multipart/form-data" {
		media = append(media, "multipart/form-data")
	}
	var mt any
	if f.mime != "" {
		mt = f.mime
	}
	return iospec.Spec{
		ID:           "bentoml.io.File",
		MediaTypes:   media,
		ResponseType: f.responseType(),
		Schema:       map[string]any{"type": "string", "format": "binary"},
		Attributes:   map[string]any{"kind": "binaryio", "mime_type": mt},
		ProtoField:   "file",
	}
}

func (f *fileIO) DecodeHTTP(p iospec.Payload) (FileData, error) {
	if f.err != nil {
		return FileData{}, f.broken()
	}
	mt := codec.MediaType(p.ContentType)
	if mt == "multipart/form-data" && f.mime != mt {
		return f.fromForm(p)
	}
	if f.mime != "" && mt != f.mime {
		return FileData{}, codec.ErrUnsupportedMedia(codec.GotType(p.ContentType), f.mime, "multipart/form-data")
	}
	if len(p.Body) == 0 {
		return FileData{}, codec.BadInputf("the file is empty")
	}
	return FileData{Name: codec.PayloadFilename(p), ContentType: p.ContentType, Data: p.Body}, nil
}

// fromForm picks the file part of a multipart/form-data body.
func (f *fileIO) fromForm(p iospec.Payload) (FileData, error) {
	var found *codec.FormPart
	err := codec.ReadParts(p.ContentType, p.Body, func(fp codec.FormPart) (bool, error) {
		if f.mime != "" && codec.MediaType(fp.ContentType()) != f.mime {
			return false, nil
		}
		if f.mime == "" && fp.Filename == "" {
			return false, nil
		}
		found = &fp
		return true, nil
	})
	if err != nil {
		return FileData{}, err
	}
	if found == nil {
		if f.mime != "" {
			return FileData{}, codec.BadInputf("no file of type %s found in multipart form", f.mime)
		}
		return FileData{}, codec.BadInputf("no file found in multipart form")
	}
	if len(found.Body) == 0 {
		return FileData{}, codec.BadInputf("the file is empty")
	}
	return FileData{Name: found.Filename, ContentType: found.ContentType(), Data: found.Body}, nil
}

// contentType is the Content-Type a result is sent with.
func (f *fileIO) contentType(v FileData) string {
	if v.ContentType != "" {
		return v.ContentType
	}
	return f.responseType()
}

func (f *fileIO) EncodeHTTP(v FileData) (iospec.Payload, error) {
	if f.err != nil {
		return iospec.Payload{}, f.broken()
	}
	p := iospec.Payload{ContentType: f.contentType(v), Filename: v.Name, Body: v.Data}
	if v.Name != "" {
		if cd := mime.FormatMediaType("attachment", map[string]string{"filename": v.Name}); cd != "" {
			p.Header = textproto.MIMEHeader{"Content-Disposition": {cd}}
		}
	}
	return p, nil
}

func (f *fileIO) DecodeProto(v codec.Value) (FileData, error) {
	if f.err != nil {
		return FileData{}, f.broken()
	}
	kind := v.File.GetKind()
	if f.mime != "" && kind != "" && codec.MediaType(kind) != f.mime {
		return FileData{}, codec.BadInputf("file kind %q does not match the expected type %s", codec.Truncate(kind, 100), f.mime)
	}
	if len(v.File.GetContent()) == 0 {
		return FileData{}, codec.BadInputf("file content is empty")
	}
	return FileData{ContentType: kind, Data: v.File.GetContent()}, nil
}

func (f *fileIO) EncodeProto(v FileData) (codec.Value, error) {
	if f.err != nil {
		return codec.Value{}, f.broken()
	}
	kind := f.contentType(v)
	return codec.Value{Field: "file", File: &pb.File{Kind: &kind, Content: v.Data}}, nil
}

// Package file is the File descriptor: a file of any type as raw bytes, from
// a request body, a multipart part or the `file` field of a bentoml.grpc.v1
// message.
package file

import (
	"fmt"
	"mime"
	"net/textproto"
	"strings"

	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// Codec is the File codec.
type Codec struct {
	mime string // normalized FileMIME, or ""
	err  error
}

// Data is a file received or sent: the root's Data, field for field.
type Data struct {
	Name        string
	ContentType string
	Data        []byte
}

// New returns the File codec, restricted to mimeType unless it is "". A
// mimeType that is not a media type makes a codec whose Validate reports it
// and whose every call fails with a 500.
func New(mimeType string) *Codec {
	f := &Codec{}
	if mimeType != "" {
		mt, _, err := mime.ParseMediaType(mimeType)
		if err != nil || !strings.Contains(mt, "/") {
			f.err = fmt.Errorf("file: FileMIME %q is not a media type such as application/pdf", mimeType)
		}
		f.mime = mt
	}
	return f
}

var _ codec.Codec[Data] = (*Codec)(nil)

// Validate reports a misconfigured descriptor.
func (f *Codec) Validate() error { return f.err }

func (f *Codec) broken() error {
	return codec.Internalf("the File descriptor is misconfigured: %v", f.err)
}

// responseType is the default Content-Type of results.
func (f *Codec) responseType() string {
	if f.mime != "" {
		return f.mime
	}
	return "application/octet-stream"
}

// Spec describes the File descriptor.
func (f *Codec) Spec() iospec.Spec {
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

// DecodeHTTP reads the file from a raw body or a multipart form.
func (f *Codec) DecodeHTTP(p iospec.Payload) (Data, error) {
	if f.err != nil {
		return Data{}, f.broken()
	}
	mt := codec.MediaType(p.ContentType)
	if mt == "multipart/form-data" && f.mime != mt {
		return f.fromForm(p)
	}
	if f.mime != "" && mt != f.mime {
		return Data{}, codec.ErrUnsupportedMedia(codec.GotType(p.ContentType), f.mime, "multipart/form-data")
	}
	if len(p.Body) == 0 {
		return Data{}, codec.BadInputf("the file is empty")
	}
	return Data{Name: codec.PayloadFilename(p), ContentType: p.ContentType, Data: p.Body}, nil
}

// fromForm picks the file part of a multipart/form-data body.
func (f *Codec) fromForm(p iospec.Payload) (Data, error) {
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
		return Data{}, err
	}
	if found == nil {
		if f.mime != "" {
			return Data{}, codec.BadInputf("no file of type %s found in multipart form", f.mime)
		}
		return Data{}, codec.BadInputf("no file found in multipart form")
	}
	if len(found.Body) == 0 {
		return Data{}, codec.BadInputf("the file is empty")
	}
	return Data{Name: found.Filename, ContentType: found.ContentType(), Data: found.Body}, nil
}

// contentType is the Content-Type a result is sent with.
func (f *Codec) contentType(v Data) string {
	if v.ContentType != "" {
		return v.ContentType
	}
	return f.responseType()
}

// EncodeHTTP writes the file, as an attachment when it has a name.
func (f *Codec) EncodeHTTP(v Data) (iospec.Payload, error) {
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

// DecodeProto reads the `file` field.
func (f *Codec) DecodeProto(v codec.Value) (Data, error) {
	if f.err != nil {
		return Data{}, f.broken()
	}
	kind := v.File.GetKind()
	if f.mime != "" && kind != "" && codec.MediaType(kind) != f.mime {
		return Data{}, codec.BadInputf("file kind %q does not match the expected type %s", codec.Truncate(kind, 100), f.mime)
	}
	if len(v.File.GetContent()) == 0 {
		return Data{}, codec.BadInputf("file content is empty")
	}
	return Data{ContentType: kind, Data: v.File.GetContent()}, nil
}

// EncodeProto writes the `file` field.
func (f *Codec) EncodeProto(v Data) (codec.Value, error) {
	if f.err != nil {
		return codec.Value{}, f.broken()
	}
	kind := f.contentType(v)
	return codec.Value{Field: "file", File: &pb.File{Kind: &kind, Content: v.Data}}, nil
}

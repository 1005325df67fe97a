// Package image is the Image descriptor: an image.Image decoded with the
// standard image package from a request body, a multipart part or the
// `file` field of a bentoml.grpc.v1 message.
package image

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime"
	"net/http"
	"net/textproto"
	"reflect"
	"strings"

	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// Options configures a Codec.
type Options struct {
	// Allowed, when AllowedSet, lists the accepted media types (default
	// image/png, image/jpeg, image/gif).
	Allowed    []string
	AllowedSet bool
	// MaxPixels is the largest width × height accepted; it must be > 0.
	MaxPixels int
	// Format is the media type of responses.
	Format string
}

// maxImageSide bounds either side of a decoded image (JPEG's own limit).
const maxImageSide = 65535

// Codec is the Image codec.
type Codec struct {
	opts    Options
	allowed map[string]bool
	list    string // accepted types, for messages
	err     error
}

// New returns the Image codec for o; invalid options make a codec whose
// Validate reports them and whose every call fails with a 500.
func New(o Options) *Codec {
	im := &Codec{opts: o}
	im.err = im.setup()
	return im
}

var _ codec.Codec[image.Image] = (*Codec)(nil)

// defaultImageTypes are the formats the standard library decodes.
var defaultImageTypes = []string{"image/png", "image/jpeg", "image/gif"}

func (im *Codec) setup() error {
	list := defaultImageTypes
	if im.opts.AllowedSet {
		list = im.opts.Allowed
		if len(list) == 0 {
			return fmt.Errorf("image: AllowedTypes needs at least one type")
		}
	}
	im.allowed = map[string]bool{}
	var names []string
	for _, t := range list {
		mt, _, err := mime.ParseMediaType(t)
		if err != nil || !strings.HasPrefix(mt, "image/") || strings.Contains(mt, "*") {
			return fmt.Errorf("image: AllowedTypes: %q is not an image media type such as image/png", t)
		}
		mt = normImageType(mt)
		if !im.allowed[mt] {
			im.allowed[mt] = true
			names = append(names, mt)
		}
	}
	im.opts.Allowed = names
	im.list = strings.Join(names, ", ")
	switch normImageType(strings.ToLower(im.opts.Format)) {
	case "image/png", "image/jpeg", "image/gif":
		im.opts.Format = normImageType(strings.ToLower(im.opts.Format))
	default:
		return fmt.Errorf("image: ImageFormat %q is not supported; use image/png, image/jpeg or image/gif", im.opts.Format)
	}
	if im.opts.MaxPixels <= 0 {
		return fmt.Errorf("image: MaxImagePixels must be positive, got %d", im.opts.MaxPixels)
	}
	return nil
}

// normImageType maps common aliases to the registered media type.
func normImageType(mt string) string {
	switch mt {
	case "image/jpg", "image/pjpeg":
		return "image/jpeg"
	case "image/x-png":
		return "image/png"
	}
	return mt
}

// Validate reports a misconfigured descriptor.
func (im *Codec) Validate() error { return im.err }

func (im *Codec) broken() error {
	return codec.Internalf("the Image descriptor is misconfigured: %v", im.err)
}

// Spec describes the Image descriptor.
func (im *Codec) Spec() iospec.Spec {
	media := append(append([]string(nil), im.opts.Allowed...), "multipart/form-data")
	allowed := make([]any, len(im.opts.Allowed))
	for i, t := range im.opts.Allowed {
		allowed[i] = t
	}
	return iospec.Spec{
		ID:           "bentoml.io.Image",
		MediaTypes:   media,
		ResponseType: im.opts.Format,
		Schema:       map[string]any{"type": "string", "format": "binary"},
		// BentoML's Image(pilmode, mime_type, allowed_mime_types) arguments,
		// and no others: its from_spec passes them to the constructor.
		// "RGB" is BentoML's default pilmode; like BentoML, gobento does not
		// convert input images to it.
		Attributes: map[string]any{
			"pilmode":            "RGB",
			"mime_type":          im.opts.Format,
			"allowed_mime_types": allowed,
		},
		ProtoField: "file",
	}
}

// looksLikeImage reports whether b starts like an image file.
func looksLikeImage(b []byte) bool {
	return strings.HasPrefix(http.DetectContentType(b), "image/")
}

// DecodeHTTP reads an image from a raw body or a multipart form.
func (im *Codec) DecodeHTTP(p iospec.Payload) (image.Image, error) {
	if im.err != nil {
		return nil, im.broken()
	}
	mt := normImageType(codec.MediaType(p.ContentType))
	switch {
	case mt == "multipart/form-data":
		return im.fromForm(p)
	case im.allowed[mt]:
		return im.decodeBytes(p.Body)
	case mt == "" || mt == "application/octet-stream" || mt == "application/x-www-form-urlencoded":
		if looksLikeImage(p.Body) {
			return im.decodeBytes(p.Body)
		}
	}
	return nil, im.errUnsupported(p)
}

// errUnsupported is the 415 for a body Image cannot take. It lists every
// way an image is accepted, and hints at curl -d when the body looks like a
// file that curl stripped of its newlines.
func (im *Codec) errUnsupported(p iospec.Payload) *errs.Error {
	got := codec.GotType(p.ContentType)
	if got == "" {
		got = "none"
	}
	return errs.New(http.StatusUnsupportedMediaType, errs.TypeUnsupportedMedia,
		"unsupported content type %q for an image; send one of %s as the body with that Content-Type, "+
			"a multipart/form-data upload with an image file, or the image bytes with no Content-Type or application/octet-stream%s",
		got, im.list, curlDataHint(p.Body))
}

// curlDataHint returns a hint for bodies that look like a binary file sent
// with curl -d, which strips CR and LF bytes: a body of some size without
// either, which a real PNG (its signature holds "\r\n"), JPEG or GIF of more
// than a few bytes almost never is. It returns "" otherwise.
func curlDataHint(body []byte) string {
	if len(body) < 32 || bytes.IndexByte(body, '\n') >= 0 || bytes.IndexByte(body, '\r') >= 0 {
		return ""
	}
	return "; the body has no newline bytes, as when curl -d strips them from a file: send files with --data-binary @file or -F image=@file"
}

// fromForm decodes the first image part of a multipart/form-data body.
func (im *Codec) fromForm(p iospec.Payload) (image.Image, error) {
	var found *codec.FormPart
	var other []string
	err := codec.ReadParts(p.ContentType, p.Body, func(fp codec.FormPart) (bool, error) {
		mt := normImageType(codec.MediaType(fp.ContentType()))
		switch {
		case im.allowed[mt]:
		case (mt == "" || mt == "application/octet-stream") && fp.Filename != "" && looksLikeImage(fp.Body):
		default:
			if strings.HasPrefix(mt, "image/") && len(other) < 5 {
				other = append(other, codec.Truncate(mt, 50))
			}
			return false, nil
		}
		found = &fp
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		if len(other) > 0 {
			return nil, codec.BadInputf("no image of an accepted type (%s) found in multipart form; found %s", im.list, strings.Join(other, ", "))
		}
		return nil, codec.BadInputf("no image file found in multipart form")
	}
	return im.decodeBytes(found.Body)
}

// decodeBytes checks the image header against the limits, then decodes.
func (im *Codec) decodeBytes(b []byte) (image.Image, error) {
	if len(b) == 0 {
		return nil, codec.BadInputf("the image is empty")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, codec.BadInputf("invalid image: %s%s", codec.Truncate(err.Error(), 200), curlDataHint(b))
	}
	if mt := normImageType("image/" + format); !im.allowed[mt] {
		return nil, codec.BadInputf("image format %s is not accepted; accepted types: %s", codec.Truncate(mt, 50), im.list)
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	switch {
	case w <= 0 || h <= 0:
		return nil, codec.BadInputf("invalid image: it has no pixels (%dx%d)", w, h)
	case w > maxImageSide || h > maxImageSide || w*h > int64(im.opts.MaxPixels):
		return nil, codec.BadInputf("image is too large: %dx%d pixels; the limit is %d pixels and %d per side", w, h, im.opts.MaxPixels, maxImageSide)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, codec.BadInputf("invalid image: %s", codec.Truncate(err.Error(), 200))
	}
	return img, nil
}

// encode writes img in the response format.
func (im *Codec) encode(img image.Image) ([]byte, error) {
	if img == nil {
		return nil, fmt.Errorf("bento: Image result is nil")
	}
	if v := reflect.ValueOf(img); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, fmt.Errorf("bento: Image result is a nil %T", img)
	}
	var buf bytes.Buffer
	var err error
	switch im.opts.Format {
	case "image/jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	case "image/gif":
		err = gif.Encode(&buf, img, nil)
	default:
		err = png.Encode(&buf, img)
	}
	if err != nil {
		return nil, fmt.Errorf("bento: encoding Image result as %s: %w", im.opts.Format, err)
	}
	return buf.Bytes(), nil
}

// EncodeHTTP encodes img in the response format, as an attachment.
func (im *Codec) EncodeHTTP(img image.Image) (iospec.Payload, error) {
	if im.err != nil {
		return iospec.Payload{}, im.broken()
	}
	b, err := im.encode(img)
	if err != nil {
		return iospec.Payload{}, err
	}
	name := "output." + strings.TrimPrefix(im.opts.Format, "image/")
	return iospec.Payload{
		ContentType: im.opts.Format,
		Header: textproto.MIMEHeader{
			"Content-Disposition": {`attachment; filename="` + name + `"`},
		},
		Filename: name,
		Body:     b,
	}, nil
}

// DecodeProto reads an image from the `file` field.
func (im *Codec) DecodeProto(v codec.Value) (image.Image, error) {
	if im.err != nil {
		return nil, im.broken()
	}
	if kind := v.File.GetKind(); kind != "" && !im.allowed[normImageType(codec.MediaType(kind))] {
		return nil, codec.BadInputf("file kind %q is not an accepted image type; accepted types: %s", codec.Truncate(kind, 100), im.list)
	}
	if len(v.File.GetContent()) == 0 {
		return nil, codec.BadInputf("file content is empty")
	}
	return im.decodeBytes(v.File.GetContent())
}

// EncodeProto writes img to the `file` field.
func (im *Codec) EncodeProto(img image.Image) (codec.Value, error) {
	if im.err != nil {
		return codec.Value{}, im.broken()
	}
	b, err := im.encode(img)
	if err != nil {
		return codec.Value{}, err
	}
	kind := im.opts.Format
	return codec.Value{Field: "file", File: &pb.File{Kind: &kind, Content: b}}, nil
}

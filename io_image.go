package bento

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

// ImageOption configures an [Image] descriptor.
type ImageOption func(*imageOptions)

type imageOptions struct {
	allowed    []string
	allowedSet bool
	maxPixels  int
	format     string
}

// Image defaults.
const (
	// DefaultMaxImagePixels is the largest image (width × height) [Image]
	// decodes unless [MaxImagePixels] says otherwise: 40 megapixels, about
	// 160 MB once decoded to RGBA.
	DefaultMaxImagePixels = 40_000_000
	// maxImageSide bounds either side of a decoded image (JPEG's own limit).
	maxImageSide = 65535
)

// AllowedTypes sets the image media types [Image] accepts, by default
// image/png, image/jpeg and image/gif. The format is checked on the decoded
// bytes, not only on the declared Content-Type. Each type must be image/*;
// types other than PNG, JPEG and GIF work only if a decoder for them is
// registered with the image package (for example by importing
// golang.org/x/image/webp).
func AllowedTypes(mimes ...string) ImageOption {
	return func(o *imageOptions) {
		o.allowed = append([]string(nil), mimes...)
		o.allowedSet = true
	}
}

// MaxImagePixels sets the largest image, as width × height, that [Image]
// accepts (default [DefaultMaxImagePixels]). Larger images are rejected with
// a 400 after reading only their header, before any pixel memory is
// allocated. Either side may be at most 65535 pixels in any case.
func MaxImagePixels(n int) ImageOption {
	return func(o *imageOptions) { o.maxPixels = n }
}

// ImageFormat sets the format of responses: "image/png" (the default),
// "image/jpeg" or "image/gif".
func ImageFormat(mime string) ImageOption {
	return func(o *imageOptions) { o.format = mime }
}

type imageIO struct {
	opts    imageOptions
	allowed map[string]bool
	list    string // accepted types, for messages
	err     error
}

// Image is a descriptor for images, decoded to an [image.Image] with the
// standard image package (PNG, JPEG and GIF are built in; see
// [AllowedTypes]).
//
// Over HTTP it accepts:
//   - multipart/form-data: the first part (whatever its field name) whose
//     Content-Type is an accepted image type, or which has a filename, no
//     Content-Type (or application/octet-stream) and bytes that look like an
//     image. With no such part, the request is a 400 "no image file found in
//     multipart form".
//   - a raw body whose Content-Type is an accepted image type.
//   - a raw body with no Content-Type, application/octet-stream or
//     application/x-www-form-urlencoded (what `curl --data-binary` sends by
//     default), if its bytes look like an image.
//
// Any other Content-Type is a 415 listing every way an image is accepted. Bytes that do
// not decode, or that are in a format not accepted, are a 400; so is an image
// larger than [MaxImagePixels], which is refused after reading its header
// only.
//
// Responses are encoded in [ImageFormat] (PNG by default) with a
// `Content-Disposition: attachment; filename="output.png"` header.
//
// Over gRPC it maps to the `file` field: kind, if set, must be an accepted
// type, and content must not be empty. Results are sent as a File with kind
// set to the response format.
//
// Invalid options are reported when the service starts.
func Image(opts ...ImageOption) IO[image.Image] {
	im := &imageIO{opts: imageOptions{maxPixels: DefaultMaxImagePixels, format: "image/png"}}
	for _, o := range opts {
		o(&im.opts)
	}
	im.err = im.setup()
	return ioOf[image.Image](im)
}

// defaultImageTypes are the formats the standard library decodes.
var defaultImageTypes = []string{"image/png", "image/jpeg", "image/gif"}

func (im *imageIO) setup() error {
	list := defaultImageTypes
	if im.opts.allowedSet {
		list = im.opts.allowed
		if len(list) == 0 {
			return fmt.Errorf("Image: AllowedTypes needs at least one type")
		}
	}
	im.allowed = map[string]bool{}
	var names []string
	for _, t := range list {
		mt, _, err := mime.ParseMediaType(t)
		if err != nil || !strings.HasPrefix(mt, "image/") || strings.Contains(mt, "*") {
			return fmt.Errorf("Image: AllowedTypes: %q is not an image media type such as image/png", t)
		}
		mt = normImageType(mt)
		if !im.allowed[mt] {
			im.allowed[mt] = true
			names = append(names, mt)
		}
	}
	im.opts.allowed = names
	im.list = strings.Join(names, ", ")
	switch normImageType(strings.ToLower(im.opts.format)) {
	case "image/png", "image/jpeg", "image/gif":
		im.opts.format = normImageType(strings.ToLower(im.opts.format))
	default:
		return fmt.Errorf("Image: ImageFormat %q is not supported; use image/png, image/jpeg or image/gif", im.opts.format)
	}
	if im.opts.maxPixels <= 0 {
		return fmt.Errorf("Image: MaxImagePixels must be positive, got %d", im.opts.maxPixels)
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

// validate reports a misconfigured descriptor (see validator).
func (im *imageIO) Validate() error { return im.err }

func (im *imageIO) broken() error {
	return codec.Internalf("the Image descriptor is misconfigured: %v", im.err)
}

func (im *imageIO) Spec() iospec.Spec {
	media := append(append([]string(nil), im.opts.allowed...), "multipart/form-data")
	allowed := make([]any, len(im.opts.allowed))
	for i, t := range im.opts.allowed {
		allowed[i] = t
	}
	return iospec.Spec{
		ID:           "bentoml.io.Image",
		MediaTypes:   media,
		ResponseType: im.opts.format,
		Schema:       map[string]any{"type": "string", "format": "binary"},
		// BentoML's Image(pilmode, mime_type, allowed_mime_types) arguments,
		// and no others: its from_spec passes them to the constructor.
		// "RGB" is BentoML's default pilmode; like BentoML, gobento does not
		// convert input images to it.
		Attributes: map[string]any{
			"pilmode":            "RGB",
			"mime_type":          im.opts.format,
			"allowed_mime_types": allowed,
		},
		ProtoField: "file",
	}
}

// looksLikeImage reports whether b starts like an image file.
func looksLikeImage(b []byte) bool {
	return strings.HasPrefix(http.DetectContentType(b), "image/")
}

func (im *imageIO) DecodeHTTP(p iospec.Payload) (image.Image, error) {
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
func (im *imageIO) errUnsupported(p iospec.Payload) *Error {
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
func (im *imageIO) fromForm(p iospec.Payload) (image.Image, error) {
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
func (im *imageIO) decodeBytes(b []byte) (image.Image, error) {
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
	case w > maxImageSide || h > maxImageSide || w*h > int64(im.opts.maxPixels):
		return nil, codec.BadInputf("image is too large: %dx%d pixels; the limit is %d pixels and %d per side", w, h, im.opts.maxPixels, maxImageSide)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, codec.BadInputf("invalid image: %s", codec.Truncate(err.Error(), 200))
	}
	return img, nil
}

// encode writes img in the response format.
func (im *imageIO) encode(img image.Image) ([]byte, error) {
	if img == nil {
		return nil, fmt.Errorf("bento: Image result is nil")
	}
	if v := reflect.ValueOf(img); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, fmt.Errorf("bento: Image result is a nil %T", img)
	}
	var buf bytes.Buffer
	var err error
	switch im.opts.format {
	case "image/jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	case "image/gif":
		err = gif.Encode(&buf, img, nil)
	default:
		err = png.Encode(&buf, img)
	}
	if err != nil {
		return nil, fmt.Errorf("bento: encoding Image result as %s: %w", im.opts.format, err)
	}
	return buf.Bytes(), nil
}

func (im *imageIO) EncodeHTTP(img image.Image) (iospec.Payload, error) {
	if im.err != nil {
		return iospec.Payload{}, im.broken()
	}
	b, err := im.encode(img)
	if err != nil {
		return iospec.Payload{}, err
	}
	name := "output." + strings.TrimPrefix(im.opts.format, "image/")
	return iospec.Payload{
		ContentType: im.opts.format,
		Header: textproto.MIMEHeader{
			"Content-Disposition": {`attachment; filename="` + name + `"`},
		},
		Filename: name,
		Body:     b,
	}, nil
}

func (im *imageIO) DecodeProto(v codec.Value) (image.Image, error) {
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

func (im *imageIO) EncodeProto(img image.Image) (codec.Value, error) {
	if im.err != nil {
		return codec.Value{}, im.broken()
	}
	b, err := im.encode(img)
	if err != nil {
		return codec.Value{}, err
	}
	kind := im.opts.format
	return codec.Value{Field: "file", File: &pb.File{Kind: &kind, Content: b}}, nil
}

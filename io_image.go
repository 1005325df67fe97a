package bento

import (
	"image"

	imagecodec "github.com/gobento/bento/internal/codec/image"
)

// ImageOption configures an [Image] descriptor.
type ImageOption func(*imageOptions)

type imageOptions = imagecodec.Options

// Image defaults.
const (
	// DefaultMaxImagePixels is the largest image (width × height) [Image]
	// decodes unless [MaxImagePixels] says otherwise: 40 megapixels, about
	// 160 MB once decoded to RGBA.
	DefaultMaxImagePixels = 40_000_000
)

// AllowedTypes sets the image media types [Image] accepts, by default
// image/png, image/jpeg and image/gif. The format is checked on the decoded
// bytes, not only on the declared Content-Type. Each type must be image/*;
// types other than PNG, JPEG and GIF work only if a decoder for them is
// registered with the image package (for example by importing
// golang.org/x/image/webp).
func AllowedTypes(mimes ...string) ImageOption {
	return func(o *imageOptions) {
		o.Allowed = append([]string(nil), mimes...)
		o.AllowedSet = true
	}
}

// MaxImagePixels sets the largest image, as width × height, that [Image]
// accepts (default [DefaultMaxImagePixels]). Larger images are rejected with
// a 400 after reading only their header, before any pixel memory is
// allocated. Either side may be at most 65535 pixels in any case.
func MaxImagePixels(n int) ImageOption {
	return func(o *imageOptions) { o.MaxPixels = n }
}

// ImageFormat sets the format of responses: "image/png" (the default),
// "image/jpeg" or "image/gif".
func ImageFormat(mime string) ImageOption {
	return func(o *imageOptions) { o.Format = mime }
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
	o := imageOptions{MaxPixels: DefaultMaxImagePixels, Format: "image/png"}
	for _, opt := range opts {
		opt(&o)
	}
	return ioOf[image.Image](imagecodec.New(o))
}

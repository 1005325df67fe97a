package codec

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/iospec"
)

// BadInputf returns a 400 error whose message is shown to the client.
func BadInputf(format string, args ...any) *errs.Error {
	return errs.New(http.StatusBadRequest, errs.TypeBadInput, format, args...)
}

// Internalf returns a 500 error whose message is shown to the client.
func Internalf(format string, args ...any) *errs.Error {
	return errs.New(http.StatusInternalServerError, errs.TypeInternal, format, args...)
}

// ErrTooManyItems stops a parse past Payload.MaxItems.
var ErrTooManyItems = errors.New("too many items")

// TooManyItems is the 413 for a request over an API's MaxItems.
func TooManyItems(max int) *errs.Error {
	return errs.New(http.StatusRequestEntityTooLarge, errs.TypePayloadTooLarge,
		"the request has more than %d items, the most this API accepts (MaxItems); send fewer per request", max)
}

// MediaType returns the lower-cased media type of a Content-Type value,
// without parameters ("" when empty or malformed).
func MediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}

// Clip shortens a message that may quote client input, so an error body
// never echoes a large request back.
func Clip(s string) string { return errs.Clip(s, 300) }

// Truncate shortens s to at most n bytes for an error message.
func Truncate(s string, n int) string { return errs.Clip(s, n) }

// GotType is a request's Content-Type as quoted in a 415: its media type
// (or the raw value when it does not parse), shortened.
func GotType(contentType string) string {
	mt := MediaType(contentType)
	if mt == "" {
		mt = contentType
	}
	return Truncate(mt, 100)
}

// ErrUnsupportedMedia is a 415 naming the accepted types.
func ErrUnsupportedMedia(got string, want ...string) *errs.Error {
	if got == "" {
		got = "none"
	}
	got = errs.Clip(got, 100)
	return errs.New(http.StatusUnsupportedMediaType, errs.TypeUnsupportedMedia,
		"unsupported content type %q; expected %s", got, strings.Join(want, " or "))
}

// JSONMediaOK reports whether a descriptor that reads JSON (JSON, NDArray)
// takes a body declared as contentType: none (curl users rely on it),
// application/json, text/json or any +json type, and the types that generic
// clients send without meaning them: application/x-www-form-urlencoded
// (curl -d) and application/octet-stream. It does not allocate.
func JSONMediaOK(contentType string) bool {
	if contentType == "" || contentType == "application/json" {
		return true
	}
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	for _, ok := range [...]string{"", "application/json", "text/json", "application/x-www-form-urlencoded", "application/octet-stream"} {
		if strings.EqualFold(mt, ok) {
			return true
		}
	}
	return len(mt) > len("+json") && strings.EqualFold(mt[len(mt)-len("+json"):], "+json")
}

// ErrNotJSONMedia is the 415 for a body declared as something JSON is not.
func ErrNotJSONMedia(contentType string) *errs.Error {
	return errs.New(http.StatusUnsupportedMediaType, errs.TypeUnsupportedMedia,
		"unsupported content type %q; this API reads JSON: send application/json (or no Content-Type)", GotType(contentType))
}

// MaxFormParts bounds the parts read from one multipart/form-data body.
const MaxFormParts = 1000

// FormPart is one part of a multipart/form-data body.
type FormPart struct {
	Name     string // form field name
	Filename string
	Header   textproto.MIMEHeader
	Body     []byte
}

// ContentType returns the part's Content-Type header ("" when absent).
func (p FormPart) ContentType() string { return p.Header.Get("Content-Type") }

// ReadParts reads a multipart/form-data body part by part, calling visit
// for each until it returns stop. Malformed bodies are a 400.
func ReadParts(contentType string, body []byte, visit func(FormPart) (stop bool, err error)) error {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return BadInputf("invalid Content-Type %q: %v", Truncate(contentType, 100), err)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return BadInputf("multipart/form-data request without a boundary parameter")
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for n := 0; ; n++ {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return BadInputf("malformed multipart body: %s", Truncate(err.Error(), 200))
		}
		if n >= MaxFormParts {
			return BadInputf("too many parts in the multipart body (more than %d)", MaxFormParts)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return BadInputf("malformed multipart body: %s", Truncate(err.Error(), 200))
		}
		stop, err := visit(FormPart{Name: part.FormName(), Filename: part.FileName(), Header: part.Header, Body: data})
		if err != nil || stop {
			return err
		}
	}
}

// PayloadFilename is the file name a payload advertises, in Filename or in
// a Content-Disposition header.
func PayloadFilename(p iospec.Payload) string {
	if p.Filename != "" {
		return p.Filename
	}
	if cd := p.Header.Get("Content-Disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			return params["filename"]
		}
	}
	return ""
}

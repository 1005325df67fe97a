package bento

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/textproto"
	"reflect"
	"sort"
	"strings"
	"unicode"

	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// ---- Multipart ----------------------------------------------------------------

// Parts holds the values of a [Multipart] descriptor by field name. Each
// value has the type of its field's descriptor (string for [Text],
// image.Image for [Image], ...); read them with [PartValue].
type Parts map[string]any

// PartValue returns the value of field name as a T. It fails if the field
// is missing or holds another type.
func PartValue[T any](p Parts, name string) (T, error) {
	var zero T
	v, ok := p[name]
	if !ok {
		return zero, fmt.Errorf("bento: multipart field %q is missing", name)
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("bento: multipart field %q holds %T, not %v", name, v, reflect.TypeFor[T]())
	}
	return t, nil
}

// MultipartField is one named field of a [Multipart] descriptor; make it
// with [Field].
type MultipartField struct {
	name   string
	spec   iospec.Spec
	nested bool  // the descriptor is itself a Multipart
	err    error // the descriptor's own configuration error

	decodeHTTP  func(iospec.Payload) (any, error)
	encodeHTTP  func(any) (iospec.Payload, error)
	decodeProto func(codec.Value) (any, error)
	encodeProto func(any) (codec.Value, error)
}

// Field declares a field of a [Multipart] descriptor: the form part (or
// gRPC multipart entry) called name is decoded with d, and its value is
// stored in [Parts] as a T.
func Field[T any](name string, d IO[T]) MultipartField {
	f := MultipartField{name: name}
	if d.c == nil {
		f.err = fmt.Errorf("field %q has no descriptor", name)
		return f
	}
	_, f.nested = any(d.c).(*multipartIO)
	f.err = d.validate()
	f.spec = d.wireSpec()
	f.decodeHTTP = func(p iospec.Payload) (any, error) { return d.decodeHTTP(p) }
	f.decodeProto = func(v codec.Value) (any, error) { return codec.DecodeValue(d.c, &f.spec, v) }
	f.encodeHTTP = func(v any) (iospec.Payload, error) {
		t, ok := v.(T)
		if !ok {
			return iospec.Payload{}, fmt.Errorf("bento: multipart result field %q holds %T, not %v", name, v, reflect.TypeFor[T]())
		}
		return d.encodeHTTP(t)
	}
	f.encodeProto = func(v any) (codec.Value, error) {
		t, ok := v.(T)
		if !ok {
			return codec.Value{}, fmt.Errorf("bento: multipart result field %q holds %T, not %v", name, v, reflect.TypeFor[T]())
		}
		return d.encodeProto(t)
	}
	return f
}

type multipartIO struct {
	fields []MultipartField
	err    error
}

// Multipart is a descriptor for multipart/form-data requests with several
// named fields, each decoded by its own descriptor (see [Field]); the value
// is a [Parts] map. For example:
//
//	in := bento.Multipart(
//		bento.Field("image", bento.Image()),
//		bento.Field("annotations", bento.JSON[Meta]()),
//	)
//
// Over HTTP the request must be multipart/form-data (else 415). Every
// declared field must be present (else 400 naming it); a part without a
// Content-Type is given to its descriptor as text/plain, unless it carries
// a filename. Undeclared parts are ignored, and when a name repeats the
// first part wins. A body may have at most 1000 parts. The response is
// multipart/form-data with one part per field (with the filename and
// Content-Type its descriptor gives); a result must hold every declared
// field, and other keys are ignored.
//
// Over gRPC it maps to the `multipart` field: every key must be a declared
// field and every declared field must be present; each part is decoded as
// its descriptor decodes a request, so serialized_bytes works per part.
//
// Fields must have distinct, non-empty names and may not be Multipart
// themselves; mistakes are reported when the service starts.
func Multipart(fields ...MultipartField) IO[Parts] {
	m := &multipartIO{fields: append([]MultipartField(nil), fields...)}
	m.err = m.check()
	return ioOf[Parts](m)
}

func (m *multipartIO) check() error {
	if len(m.fields) == 0 {
		return errors.New("Multipart needs at least one field")
	}
	seen := map[string]bool{}
	var errList []error
	for i, f := range m.fields {
		switch {
		case f.name == "":
			errList = append(errList, fmt.Errorf("Multipart field %d has an empty name", i))
		case strings.ContainsFunc(f.name, unicode.IsControl) || strings.ContainsRune(f.name, '"'):
			errList = append(errList, fmt.Errorf("Multipart field name %q contains a control character or a quote", f.name))
		case seen[f.name]:
			errList = append(errList, fmt.Errorf("Multipart field %q is declared twice", f.name))
		case f.decodeHTTP == nil && f.err == nil:
			errList = append(errList, fmt.Errorf("Multipart field %d was not made with Field", i))
		case f.nested:
			errList = append(errList, fmt.Errorf("Multipart field %q is itself a Multipart, which is not supported", f.name))
		case f.err != nil:
			errList = append(errList, fmt.Errorf("Multipart field %q: %w", f.name, f.err))
		}
		seen[f.name] = true
	}
	return errors.Join(errList...)
}

// validate reports a misconfigured descriptor (see validator).
func (m *multipartIO) Validate() error { return m.err }

func (m *multipartIO) broken() error {
	return codec.Internalf("the Multipart descriptor is misconfigured: %v", m.err)
}

func (m *multipartIO) Spec() iospec.Spec {
	props := map[string]any{}
	attrs := map[string]any{}
	var required []string
	for _, f := range m.fields {
		if f.name == "" || f.decodeHTTP == nil {
			continue
		}
		props[f.name] = f.spec.Schema
		attrs[f.name] = f.spec.BentoSpec()
		required = append(required, f.name)
	}
	schema := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		schema["required"] = required
	}
	return iospec.Spec{
		ID:           "bentoml.io.Multipart",
		MediaTypes:   []string{"multipart/form-data"},
		ResponseType: "multipart/form-data",
		Schema:       schema,
		Attributes:   attrs,
		ProtoField:   "multipart",
	}
}

// fieldError prefixes a field's decoding error with its name, keeping the
// status of an *Error.
func fieldError(name string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Status: e.Status, Type: e.Type, Msg: fmt.Sprintf("multipart field %q: %s", name, e.Msg), Err: e.Err}
	}
	return fmt.Errorf("bento: multipart field %q: %w", name, err)
}

func (m *multipartIO) missing(have func(string) bool) error {
	var names []string
	for _, f := range m.fields {
		if !have(f.name) {
			names = append(names, fmt.Sprintf("%q", f.name))
		}
	}
	if len(names) == 0 {
		return nil
	}
	return codec.BadInputf("missing multipart field(s): %s", strings.Join(names, ", "))
}

func (m *multipartIO) DecodeHTTP(p iospec.Payload) (Parts, error) {
	if m.err != nil {
		return nil, m.broken()
	}
	if codec.MediaType(p.ContentType) != "multipart/form-data" {
		return nil, codec.ErrUnsupportedMedia(codec.GotType(p.ContentType), "multipart/form-data")
	}
	byName := make(map[string]codec.FormPart, len(m.fields))
	declared := make(map[string]bool, len(m.fields))
	for _, f := range m.fields {
		declared[f.name] = true
	}
	err := codec.ReadParts(p.ContentType, p.Body, func(fp codec.FormPart) (bool, error) {
		if _, dup := byName[fp.Name]; declared[fp.Name] && !dup {
			byName[fp.Name] = fp
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if err := m.missing(func(name string) bool { _, ok := byName[name]; return ok }); err != nil {
		return nil, err
	}
	out := make(Parts, len(m.fields))
	for _, f := range m.fields {
		fp := byName[f.name]
		ct := fp.ContentType()
		if ct == "" && fp.Filename == "" {
			ct = "text/plain"
		}
		if fp.Filename == "" && codec.MediaType(ct) == "text/plain" && len(f.spec.MediaTypes) > 0 && f.spec.MediaTypes[0] == "application/json" {
			// text/plain is what a form value is by default (RFC 7578),
			// not a declaration: a JSON field reads it as JSON.
			ct = ""
		}
		v, err := f.decodeHTTP(iospec.Payload{ContentType: ct, Header: fp.Header, Filename: fp.Filename, Body: fp.Body})
		if err != nil {
			return nil, fieldError(f.name, err)
		}
		out[f.name] = v
	}
	return out, nil
}

func (m *multipartIO) EncodeHTTP(v Parts) (iospec.Payload, error) {
	if m.err != nil {
		return iospec.Payload{}, m.broken()
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range m.fields {
		x, ok := v[f.name]
		if !ok {
			return iospec.Payload{}, fmt.Errorf("bento: multipart result has no field %q", f.name)
		}
		sub, err := f.encodeHTTP(x)
		if err != nil {
			return iospec.Payload{}, fieldError(f.name, err)
		}
		h := textproto.MIMEHeader{}
		for k, vals := range sub.Header {
			if textproto.CanonicalMIMEHeaderKey(k) == "Content-Disposition" {
				continue
			}
			h[textproto.CanonicalMIMEHeaderKey(k)] = vals
		}
		params := map[string]string{"name": f.name}
		if fn := codec.PayloadFilename(sub); fn != "" {
			params["filename"] = fn
		}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", params))
		if sub.ContentType != "" {
			h.Set("Content-Type", sub.ContentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			return iospec.Payload{}, fmt.Errorf("bento: writing multipart result: %w", err)
		}
		if _, err := pw.Write(sub.Body); err != nil {
			return iospec.Payload{}, fmt.Errorf("bento: writing multipart result: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return iospec.Payload{}, fmt.Errorf("bento: writing multipart result: %w", err)
	}
	return iospec.Payload{ContentType: w.FormDataContentType(), Body: buf.Bytes()}, nil
}

func (m *multipartIO) DecodeProto(v codec.Value) (Parts, error) {
	if m.err != nil {
		return nil, m.broken()
	}
	fields := v.Multipart.GetFields()
	declared := make(map[string]bool, len(m.fields))
	var names []string
	for _, f := range m.fields {
		declared[f.name] = true
		names = append(names, f.name)
	}
	var unknown []string
	for k := range fields {
		if !declared[k] {
			unknown = append(unknown, fmt.Sprintf("%q", codec.Truncate(k, 64)))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		if len(unknown) > 5 {
			unknown = append(unknown[:5], "…")
		}
		return nil, codec.BadInputf("unknown multipart field(s) %s; declared fields: %s", strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	if err := m.missing(func(name string) bool { _, ok := fields[name]; return ok }); err != nil {
		return nil, err
	}
	out := make(Parts, len(m.fields))
	for _, f := range m.fields {
		x, err := f.decodeProto(codec.PartValue(fields[f.name]))
		if err != nil {
			return nil, fieldError(f.name, err)
		}
		out[f.name] = x
	}
	return out, nil
}

func (m *multipartIO) EncodeProto(v Parts) (codec.Value, error) {
	if m.err != nil {
		return codec.Value{}, m.broken()
	}
	mp := &pb.Multipart{Fields: make(map[string]*pb.Part, len(m.fields))}
	for _, f := range m.fields {
		x, ok := v[f.name]
		if !ok {
			return codec.Value{}, fmt.Errorf("bento: multipart result has no field %q", f.name)
		}
		sub, err := f.encodeProto(x)
		if err != nil {
			return codec.Value{}, fieldError(f.name, err)
		}
		part, err := codec.ToPart(sub)
		if err != nil {
			return codec.Value{}, fmt.Errorf("bento: multipart result field %q: %w", f.name, err)
		}
		mp.Fields[f.name] = part
	}
	return codec.Value{Field: "multipart", Multipart: mp}, nil
}

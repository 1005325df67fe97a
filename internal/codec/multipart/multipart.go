// Package multipart is the Multipart descriptor: several named fields, each
// decoded by its own descriptor, as a multipart/form-data body or the
// `multipart` field of a bentoml.grpc.v1 message.
package multipart

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
	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// Field is one named field, type-erased: its descriptor's calls over any.
// Make it with FieldOf; the zero Field is reported as not made with it.
type Field struct {
	Name   string
	spec   iospec.Spec
	nested bool  // the descriptor is itself a Multipart
	err    error // the descriptor's own configuration error

	decodeHTTP  func(iospec.Payload) (any, error)
	encodeHTTP  func(any) (iospec.Payload, error)
	decodeProto func(codec.Value) (any, error)
	encodeProto func(any) (codec.Value, error)
}

// FieldOf makes the field called name decoded by c (nil c is reported by
// Validate).
func FieldOf[T any](name string, c codec.Codec[T]) Field {
	f := Field{Name: name}
	if c == nil {
		f.err = fmt.Errorf("field %q has no descriptor", name)
		return f
	}
	f.err = codec.Validate(c)
	f.spec = c.Spec()
	f.nested = f.spec.ID == specID
	f.decodeHTTP = func(p iospec.Payload) (any, error) { return c.DecodeHTTP(p) }
	f.decodeProto = func(v codec.Value) (any, error) { return codec.DecodeValue(c, &f.spec, v) }
	f.encodeHTTP = func(v any) (iospec.Payload, error) {
		t, ok := v.(T)
		if !ok {
			return iospec.Payload{}, fmt.Errorf("bento: multipart result field %q holds %T, not %v", name, v, reflect.TypeFor[T]())
		}
		return c.EncodeHTTP(t)
	}
	f.encodeProto = func(v any) (codec.Value, error) {
		t, ok := v.(T)
		if !ok {
			return codec.Value{}, fmt.Errorf("bento: multipart result field %q holds %T, not %v", name, v, reflect.TypeFor[T]())
		}
		return c.EncodeProto(t)
	}
	return f
}

// specID is the Multipart descriptor's BentoML id.
const specID = "bentoml.io.Multipart"

// Codec is the Multipart codec: values are maps from field name to the
// field's value.
type Codec struct {
	fields []Field
	err    error
}

var _ codec.Codec[map[string]any] = (*Codec)(nil)

// New returns the Multipart codec over fields; mistakes (no fields,
// duplicate or bad names, nested Multiparts, broken field descriptors)
// make a codec whose Validate reports them all and whose every call fails
// with a 500.
func New(fields ...Field) *Codec {
	m := &Codec{fields: append([]Field(nil), fields...)}
	m.err = m.check()
	return m
}

func (m *Codec) check() error {
	if len(m.fields) == 0 {
		return errors.New("multipart needs at least one field")
	}
	seen := map[string]bool{}
	var errList []error
	for i, f := range m.fields {
		switch {
		case f.Name == "":
			errList = append(errList, fmt.Errorf("multipart field %d has an empty name", i))
		case strings.ContainsFunc(f.Name, unicode.IsControl) || strings.ContainsRune(f.Name, '"'):
			errList = append(errList, fmt.Errorf("multipart field name %q contains a control character or a quote", f.Name))
		case seen[f.Name]:
			errList = append(errList, fmt.Errorf("multipart field %q is declared twice", f.Name))
		case f.decodeHTTP == nil && f.err == nil:
			errList = append(errList, fmt.Errorf("multipart field %d was not made with Field", i))
		case f.nested:
			errList = append(errList, fmt.Errorf("multipart field %q is itself a Multipart, which is not supported", f.Name))
		case f.err != nil:
			errList = append(errList, fmt.Errorf("multipart field %q: %w", f.Name, f.err))
		}
		seen[f.Name] = true
	}
	return errors.Join(errList...)
}

// Validate reports a misconfigured descriptor.
func (m *Codec) Validate() error { return m.err }

func (m *Codec) broken() error {
	return codec.Internalf("the Multipart descriptor is misconfigured: %v", m.err)
}

// Spec describes the Multipart descriptor; every field is required.
func (m *Codec) Spec() iospec.Spec {
	props := map[string]any{}
	attrs := map[string]any{}
	var required []string
	for _, f := range m.fields {
		if f.Name == "" || f.decodeHTTP == nil {
			continue
		}
		props[f.Name] = f.spec.Schema
		attrs[f.Name] = f.spec.BentoSpec()
		required = append(required, f.Name)
	}
	schema := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		schema["required"] = required
	}
	return iospec.Spec{
		ID:           specID,
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
	var e *errs.Error
	if errors.As(err, &e) {
		return &errs.Error{Status: e.Status, Type: e.Type, Msg: fmt.Sprintf("multipart field %q: %s", name, e.Msg), Err: e.Err}
	}
	return fmt.Errorf("bento: multipart field %q: %w", name, err)
}

func (m *Codec) missing(have func(string) bool) error {
	var names []string
	for _, f := range m.fields {
		if !have(f.Name) {
			names = append(names, fmt.Sprintf("%q", f.Name))
		}
	}
	if len(names) == 0 {
		return nil
	}
	return codec.BadInputf("missing multipart field(s): %s", strings.Join(names, ", "))
}

// DecodeHTTP reads every declared field from a multipart/form-data body.
func (m *Codec) DecodeHTTP(p iospec.Payload) (map[string]any, error) {
	if m.err != nil {
		return nil, m.broken()
	}
	if codec.MediaType(p.ContentType) != "multipart/form-data" {
		return nil, codec.ErrUnsupportedMedia(codec.GotType(p.ContentType), "multipart/form-data")
	}
	byName := make(map[string]codec.FormPart, len(m.fields))
	declared := make(map[string]bool, len(m.fields))
	for _, f := range m.fields {
		declared[f.Name] = true
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
	out := make(map[string]any, len(m.fields))
	for _, f := range m.fields {
		fp := byName[f.Name]
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
			return nil, fieldError(f.Name, err)
		}
		out[f.Name] = v
	}
	return out, nil
}

// EncodeHTTP writes one part per declared field.
func (m *Codec) EncodeHTTP(v map[string]any) (iospec.Payload, error) {
	if m.err != nil {
		return iospec.Payload{}, m.broken()
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range m.fields {
		x, ok := v[f.Name]
		if !ok {
			return iospec.Payload{}, fmt.Errorf("bento: multipart result has no field %q", f.Name)
		}
		sub, err := f.encodeHTTP(x)
		if err != nil {
			return iospec.Payload{}, fieldError(f.Name, err)
		}
		h := textproto.MIMEHeader{}
		for k, vals := range sub.Header {
			if textproto.CanonicalMIMEHeaderKey(k) == "Content-Disposition" {
				continue
			}
			h[textproto.CanonicalMIMEHeaderKey(k)] = vals
		}
		params := map[string]string{"name": f.Name}
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

// DecodeProto reads the `multipart` field.
func (m *Codec) DecodeProto(v codec.Value) (map[string]any, error) {
	if m.err != nil {
		return nil, m.broken()
	}
	fields := v.Multipart.GetFields()
	declared := make(map[string]bool, len(m.fields))
	var names []string
	for _, f := range m.fields {
		declared[f.Name] = true
		names = append(names, f.Name)
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
	out := make(map[string]any, len(m.fields))
	for _, f := range m.fields {
		x, err := f.decodeProto(codec.PartValue(fields[f.Name]))
		if err != nil {
			return nil, fieldError(f.Name, err)
		}
		out[f.Name] = x
	}
	return out, nil
}

// EncodeProto writes the `multipart` field.
func (m *Codec) EncodeProto(v map[string]any) (codec.Value, error) {
	if m.err != nil {
		return codec.Value{}, m.broken()
	}
	mp := &pb.Multipart{Fields: make(map[string]*pb.Part, len(m.fields))}
	for _, f := range m.fields {
		x, ok := v[f.Name]
		if !ok {
			return codec.Value{}, fmt.Errorf("bento: multipart result has no field %q", f.Name)
		}
		sub, err := f.encodeProto(x)
		if err != nil {
			return codec.Value{}, fieldError(f.Name, err)
		}
		part, err := codec.ToPart(sub)
		if err != nil {
			return codec.Value{}, fmt.Errorf("bento: multipart result field %q: %w", f.Name, err)
		}
		mp.Fields[f.Name] = part
	}
	return codec.Value{Field: "multipart", Multipart: mp}, nil
}

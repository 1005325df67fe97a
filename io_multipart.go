package bento

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"reflect"
	"sort"
	"strings"
	"unicode"

	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/pb"
)

// validator is implemented by descriptors that can be misconfigured. API
// registration calls validateDescriptor so that mistakes are reported when
// the service starts, not at request time.
type validator interface {
	validate() error
}

// validateDescriptor returns d's configuration error, if d has one.
func validateDescriptor(d any) error {
	if v, ok := d.(validator); ok {
		return v.validate()
	}
	return nil
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string { return errs.Clip(s, n) }

// gotType is a request's Content-Type as quoted in a 415: its media type
// (or the raw value when it does not parse), shortened.
func gotType(contentType string) string {
	mt := mediaType(contentType)
	if mt == "" {
		mt = contentType
	}
	return truncate(mt, 100)
}

// maxFormParts bounds the parts read from one multipart/form-data body.
const maxFormParts = 1000

// formPart is one part of a multipart/form-data body.
type formPart struct {
	name     string // form field name
	filename string
	header   textproto.MIMEHeader
	body     []byte
}

// contentType returns the part's Content-Type header ("" when absent).
func (p formPart) contentType() string { return p.header.Get("Content-Type") }

// readParts reads a multipart/form-data body part by part, calling visit
// for each until it returns stop. Malformed bodies are a 400.
func readParts(contentType string, body []byte, visit func(formPart) (stop bool, err error)) error {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return BadInputf("invalid Content-Type %q: %v", truncate(contentType, 100), err)
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
			return BadInputf("malformed multipart body: %s", truncate(err.Error(), 200))
		}
		if n >= maxFormParts {
			return BadInputf("too many parts in the multipart body (more than %d)", maxFormParts)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return BadInputf("malformed multipart body: %s", truncate(err.Error(), 200))
		}
		stop, err := visit(formPart{name: part.FormName(), filename: part.FileName(), header: part.Header, body: data})
		if err != nil || stop {
			return err
		}
	}
}

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
	decodeProto func(protoValue) (any, error)
	encodeProto func(any) (protoValue, error)
}

// Field declares a field of a [Multipart] descriptor: the form part (or
// gRPC multipart entry) called name is decoded with d, and its value is
// stored in [Parts] as a T.
func Field[T any](name string, d IO[T]) MultipartField {
	f := MultipartField{name: name}
	if d == nil {
		f.err = fmt.Errorf("field %q has no descriptor", name)
		return f
	}
	_, f.nested = any(d).(*multipartIO)
	f.err = validateDescriptor(d)
	f.spec = d.Spec()
	f.decodeHTTP = func(p iospec.Payload) (any, error) { return d.decodeHTTP(p) }
	f.decodeProto = func(v protoValue) (any, error) { return decodeProtoValue(d, f.spec, v) }
	f.encodeHTTP = func(v any) (iospec.Payload, error) {
		t, ok := v.(T)
		if !ok {
			return iospec.Payload{}, fmt.Errorf("bento: multipart result field %q holds %T, not %v", name, v, reflect.TypeFor[T]())
		}
		return d.encodeHTTP(t)
	}
	f.encodeProto = func(v any) (protoValue, error) {
		t, ok := v.(T)
		if !ok {
			return protoValue{}, fmt.Errorf("bento: multipart result field %q holds %T, not %v", name, v, reflect.TypeFor[T]())
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
	return m
}

func (m *multipartIO) check() error {
	if len(m.fields) == 0 {
		return errors.New("bento: Multipart needs at least one field")
	}
	seen := map[string]bool{}
	var errList []error
	for i, f := range m.fields {
		switch {
		case f.name == "":
			errList = append(errList, fmt.Errorf("bento: Multipart field %d has an empty name", i))
		case strings.ContainsFunc(f.name, unicode.IsControl) || strings.ContainsRune(f.name, '"'):
			errList = append(errList, fmt.Errorf("bento: Multipart field name %q contains a control character or a quote", f.name))
		case seen[f.name]:
			errList = append(errList, fmt.Errorf("bento: Multipart field %q is declared twice", f.name))
		case f.decodeHTTP == nil && f.err == nil:
			errList = append(errList, fmt.Errorf("bento: Multipart field %d was not made with Field", i))
		case f.nested:
			errList = append(errList, fmt.Errorf("bento: Multipart field %q is itself a Multipart, which is not supported", f.name))
		case f.err != nil:
			errList = append(errList, fmt.Errorf("bento: Multipart field %q: %w", f.name, f.err))
		}
		seen[f.name] = true
	}
	return errors.Join(errList...)
}

// validate reports a misconfigured descriptor (see validator).
func (m *multipartIO) validate() error { return m.err }

func (m *multipartIO) broken() error {
	return Internal("the Multipart descriptor is misconfigured: %v", m.err)
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
	return BadInputf("missing multipart field(s): %s", strings.Join(names, ", "))
}

func (m *multipartIO) decodeHTTP(p iospec.Payload) (Parts, error) {
	if m.err != nil {
		return nil, m.broken()
	}
	if mediaType(p.ContentType) != "multipart/form-data" {
		return nil, errUnsupportedMedia(gotType(p.ContentType), "multipart/form-data")
	}
	byName := make(map[string]formPart, len(m.fields))
	declared := make(map[string]bool, len(m.fields))
	for _, f := range m.fields {
		declared[f.name] = true
	}
	err := readParts(p.ContentType, p.Body, func(fp formPart) (bool, error) {
		if _, dup := byName[fp.name]; declared[fp.name] && !dup {
			byName[fp.name] = fp
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
		ct := fp.contentType()
		if ct == "" && fp.filename == "" {
			ct = "text/plain"
		}
		if fp.filename == "" && mediaType(ct) == "text/plain" && len(f.spec.MediaTypes) > 0 && f.spec.MediaTypes[0] == "application/json" {
			// text/plain is what a form value is by default (RFC 7578),
			// not a declaration: a JSON field reads it as JSON.
			ct = ""
		}
		v, err := f.decodeHTTP(iospec.Payload{ContentType: ct, Header: fp.header, Filename: fp.filename, Body: fp.body})
		if err != nil {
			return nil, fieldError(f.name, err)
		}
		out[f.name] = v
	}
	return out, nil
}

func (m *multipartIO) encodeHTTP(v Parts) (iospec.Payload, error) {
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
		if fn := payloadFilename(sub); fn != "" {
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

// payloadFilename is the file name a payload advertises, in Filename or in
// a Content-Disposition header.
func payloadFilename(p iospec.Payload) string {
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

func (m *multipartIO) decodeProto(v protoValue) (Parts, error) {
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
			unknown = append(unknown, fmt.Sprintf("%q", truncate(k, 64)))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		if len(unknown) > 5 {
			unknown = append(unknown[:5], "…")
		}
		return nil, BadInputf("unknown multipart field(s) %s; declared fields: %s", strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	if err := m.missing(func(name string) bool { _, ok := fields[name]; return ok }); err != nil {
		return nil, err
	}
	out := make(Parts, len(m.fields))
	for _, f := range m.fields {
		x, err := f.decodeProto(partToValue(fields[f.name]))
		if err != nil {
			return nil, fieldError(f.name, err)
		}
		out[f.name] = x
	}
	return out, nil
}

func (m *multipartIO) encodeProto(v Parts) (protoValue, error) {
	if m.err != nil {
		return protoValue{}, m.broken()
	}
	mp := &pb.Multipart{Fields: make(map[string]*pb.Part, len(m.fields))}
	for _, f := range m.fields {
		x, ok := v[f.name]
		if !ok {
			return protoValue{}, fmt.Errorf("bento: multipart result has no field %q", f.name)
		}
		sub, err := f.encodeProto(x)
		if err != nil {
			return protoValue{}, fieldError(f.name, err)
		}
		part, err := valueToPart(sub)
		if err != nil {
			return protoValue{}, fmt.Errorf("bento: multipart result field %q: %w", f.name, err)
		}
		mp.Fields[f.name] = part
	}
	return protoValue{Field: "multipart", Multipart: mp}, nil
}

// partToValue converts a multipart Part to a protoValue; a nil part or one
// with no representation gives Field "".
func partToValue(p *pb.Part) protoValue {
	switch r := p.GetRepresentation().(type) {
	case *pb.Part_Ndarray:
		return protoValue{Field: "ndarray", NDArray: r.Ndarray}
	case *pb.Part_Dataframe:
		return protoValue{Field: "dataframe", DataFrame: r.Dataframe}
	case *pb.Part_Series:
		return protoValue{Field: "series", Series: r.Series}
	case *pb.Part_File:
		return protoValue{Field: "file", File: r.File}
	case *pb.Part_Text:
		return protoValue{Field: "text", Text: r.Text}
	case *pb.Part_Json:
		return protoValue{Field: "json", JSON: r.Json}
	case *pb.Part_SerializedBytes:
		return protoValue{Field: "serialized_bytes", Serialized: r.SerializedBytes}
	}
	return protoValue{}
}

// valueToPart converts a protoValue to a multipart Part. A multipart value
// cannot be nested in a Part and is an error.
func valueToPart(v protoValue) (*pb.Part, error) {
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

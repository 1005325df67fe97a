package bento

import (
	"fmt"
	"reflect"

	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/codec/multipart"
	"github.com/gobento/bento/internal/iospec"
)

// Parts holds the values of a [Multipart] descriptor by field name. Each
// value has the type of its field's descriptor (string for [Text],
// image.Image for [Image], ...). Read a value as that type with the
// [PartField] that declared it ([PartField.Get]); a result may be built
// with [PartField.Set] or as a map literal.
type Parts map[string]any

// PartValue returns the value of field name as a T. It fails if the field
// is missing or holds another type.
//
// Deprecated: read a field as its declared type with [PartField.Get].
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

// MultipartField is one named field of a [Multipart] descriptor: a
// [PartField] made with [Field].
type MultipartField interface {
	multipartField() multipart.Field
}

// PartField is a field of a [Multipart] descriptor whose values are T's;
// make it with [Field]. It is a [MultipartField], and reads and writes its
// value in a [Parts] as a T.
type PartField[T any] struct {
	f multipart.Field
}

// Field declares a field of a [Multipart] descriptor: the form part (or
// gRPC multipart entry) called name is decoded with d, and its value is
// stored in [Parts] as a T, which the returned field reads back with
// [PartField.Get].
func Field[T any](name string, d IO[T]) PartField[T] {
	return PartField[T]{f: multipart.FieldOf(name, d.c)}
}

func (f PartField[T]) multipartField() multipart.Field { return f.f }

// Name returns the field's name.
func (f PartField[T]) Name() string { return f.f.Name }

// Get returns the field's value in p, or T's zero value when p does not
// hold it as a T. A request decoded by the [Multipart] descriptor that
// declares f always holds it.
func (f PartField[T]) Get(p Parts) T {
	v, _ := p[f.f.Name].(T)
	return v
}

// Set stores v as the field's value in *p, making the map if it is nil.
func (f PartField[T]) Set(p *Parts, v T) {
	if *p == nil {
		*p = Parts{}
	}
	(*p)[f.f.Name] = v
}

// Multipart is a descriptor for multipart/form-data requests with several
// named fields, each decoded by its own descriptor (see [Field]); the value
// is a [Parts], whose fields are read (and, for results, written) as their
// declared type through the [PartField] that declared them. For example:
//
//	img, meta := bento.Field("image", bento.Image()), bento.Field("annotations", bento.JSON[Meta]())
//	in := bento.Multipart(img, meta)
//	// in the API function: img.Get(parts) is an image.Image, meta.Get(parts) a Meta.
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
	fs := make([]multipart.Field, len(fields))
	for i, f := range fields {
		if f != nil {
			fs[i] = f.multipartField()
		}
	}
	return ioOf[Parts](partsCodec{multipart.New(fs...)})
}

// partsCodec serves Parts over the multipart codec's map[string]any.
type partsCodec struct{ c *multipart.Codec }

func (m partsCodec) Spec() iospec.Spec { return m.c.Spec() }
func (m partsCodec) Validate() error   { return m.c.Validate() }

func (m partsCodec) DecodeHTTP(p iospec.Payload) (Parts, error) { return m.c.DecodeHTTP(p) }
func (m partsCodec) EncodeHTTP(v Parts) (iospec.Payload, error) { return m.c.EncodeHTTP(v) }
func (m partsCodec) DecodeProto(v codec.Value) (Parts, error)   { return m.c.DecodeProto(v) }
func (m partsCodec) EncodeProto(v Parts) (codec.Value, error)   { return m.c.EncodeProto(v) }

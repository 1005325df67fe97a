package json

import (
	"encoding/json"
	"reflect"
	"strings"
)

// SchemaOf returns an OpenAPI 3.0 schema object for T, derived by
// reflection from its JSON encoding. Recursive types stop at depth 8.
//
// No property is marked required: encoding/json leaves a missing field at
// its zero value and the decoder enforces no presence rule, so the schema
// promises no more than the decoder checks.
func SchemaOf[T any]() map[string]any {
	return schemaFor(reflect.TypeFor[T](), 0)
}

func schemaFor(t reflect.Type, depth int) map[string]any {
	if depth > 8 || t == nil {
		return map[string]any{}
	}
	if t.Implements(reflect.TypeFor[json.Marshaler]()) && t.Kind() != reflect.Pointer {
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := schemaFor(t.Elem(), depth+1)
		s["nullable"] = true
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": schemaFor(t.Elem(), depth+1)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaFor(t.Elem(), depth+1)}
	case reflect.Struct:
		props := map[string]any{}
		for f := range t.Fields() {
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, ok := f.Tag.Lookup("json"); ok {
				parts := strings.Split(tag, ",")
				if parts[0] == "-" && len(parts) == 1 {
					continue
				}
				if parts[0] != "" {
					name = parts[0]
				}
			}
			props[name] = schemaFor(f.Type, depth+1)
		}
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

// exampleOf returns the JSON encoding of T's zero value as a docs
// example, or "" when that is not informative.
func exampleOf[T any]() string {
	var v T
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return "{}"
	}
	return string(b)
}

package bento

import (
	"encoding/json"
	"reflect"
	"strings"
)

// jsonSchemaOf returns an OpenAPI 3.0 schema object for T, derived by
// reflection from its JSON encoding. Recursive types stop at depth 8.
func jsonSchemaOf[T any]() map[string]any {
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
		var required []string
		for f := range t.Fields() {
			if !f.IsExported() {
				continue
			}
			name := f.Name
			omit := false
			if tag, ok := f.Tag.Lookup("json"); ok {
				parts := strings.Split(tag, ",")
				if parts[0] == "-" && len(parts) == 1 {
					continue
				}
				if parts[0] != "" {
					name = parts[0]
				}
				for _, p := range parts[1:] {
					if p == "omitempty" || p == "omitzero" {
						omit = true
					}
				}
			}
			props[name] = schemaFor(f.Type, depth+1)
			if !omit && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}

// jsonExampleOf returns the JSON encoding of T's zero value as a docs
// example, or "" when that is not informative.
func jsonExampleOf[T any]() string {
	var v T
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return "{}"
	}
	return string(b)
}

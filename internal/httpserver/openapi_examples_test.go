package httpserver

import (
	"reflect"
	"testing"

	"github.com/gobento/bento/internal/iospec"
)

func TestMediaTypeObject(t *testing.T) {
	bin := map[string]any{"type": "string", "format": "binary"}
	for _, tc := range []struct {
		name string
		mt   string
		in   iospec.Spec
		want map[string]any
	}{
		{"text", "text/plain", iospec.Spec{Schema: map[string]any{"type": "string"}, Example: "I love it"},
			map[string]any{"schema": map[string]any{"type": "string"}, "example": "I love it"}},
		{"json is decoded", "application/json", iospec.Spec{Schema: map[string]any{"type": "array"}, Example: "[[1, 2]]"},
			map[string]any{"schema": map[string]any{"type": "array"}, "example": []any{[]any{1.0, 2.0}}}},
		{"invalid json example dropped", "application/json", iospec.Spec{Schema: map[string]any{}, Example: "[1,"},
			map[string]any{"schema": map[string]any{}}},
		{"no example", "application/json", iospec.Spec{Schema: map[string]any{}},
			map[string]any{"schema": map[string]any{}}},
		{"raw image", "image/png", iospec.Spec{Schema: bin, Example: "ignored"},
			map[string]any{"schema": bin}},
		{"file upload form", "multipart/form-data", iospec.Spec{Schema: bin},
			map[string]any{"schema": map[string]any{"type": "object", "properties": map[string]any{"file": bin}, "required": []string{"file"}}}},
		{"multipart object kept", "multipart/form-data", iospec.Spec{Schema: map[string]any{"type": "object"}},
			map[string]any{"schema": map[string]any{"type": "object"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mediaTypeObject(tc.mt, tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

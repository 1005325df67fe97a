package httpserver

import (
	"encoding/json"
	"strings"

	"github.com/gobento/bento/internal/iospec"
)

// mediaTypeObject is the OpenAPI media type object of one request media type
// of an input: its schema, and the input's example when the media type can
// carry it, so that Swagger UI's "Try it out" is filled in. A file or image
// sent as multipart/form-data is described as a form with one binary field,
// "file", which Swagger UI shows as a file picker.
func mediaTypeObject(mt string, in iospec.Spec) map[string]any {
	schema := in.Schema
	if mt == "multipart/form-data" && schema["type"] != "object" {
		schema = map[string]any{
			"type":       "object",
			"properties": map[string]any{"file": schema},
			"required":   []string{"file"},
		}
	}
	obj := map[string]any{"schema": schema}
	if in.Example == "" {
		return obj
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		var v any
		if json.Unmarshal([]byte(in.Example), &v) == nil {
			obj["example"] = v
		}
	case strings.HasPrefix(mt, "text/"):
		obj["example"] = in.Example
	}
	return obj
}

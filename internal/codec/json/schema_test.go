package json

import (
	"reflect"
	"testing"

	"github.com/gobento/bento/internal/iospec"
)

// TestSchemaMarksNothingRequired checks that the schema promises no more
// than the decoder enforces: a missing field decodes to its zero value, so
// no property is required, whatever its tags.
func TestSchemaMarksNothingRequired(t *testing.T) {
	type inner struct{ A int }
	type req struct {
		Name  string  `json:"name"`
		Score float64 `json:"score,omitempty"`
		Ptr   *int    `json:"ptr"`
		In    inner
	}
	s := SchemaOf[req]()
	if _, ok := s["required"]; ok {
		t.Fatalf("schema has required: %v", s)
	}
	if in := s["properties"].(map[string]any)["In"].(map[string]any); in["required"] != nil {
		t.Fatalf("nested schema has required: %v", in)
	}
	// And the decoder indeed accepts an object with every field missing.
	c := New[req](Options{})
	v, err := c.DecodeHTTP(iospec.Payload{ContentType: "application/json", Body: []byte(`{}`)})
	if err != nil || !reflect.DeepEqual(v, req{}) {
		t.Fatalf("decode {} = %+v, %v", v, err)
	}
	if c, err := New[req](Options{Strict: true}).DecodeHTTP(iospec.Payload{Body: []byte(`{"score":1}`)}); err != nil || c.Score != 1 {
		t.Fatalf("strict decode of a partial object = %+v, %v", c, err)
	}
}

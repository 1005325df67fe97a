// Command echo is the smallest gobento service, used to measure what the
// framework itself costs (see bench/ and BENCHMARKS.md): API echo returns its
// text input, API echo_json decodes and re-encodes a JSON document.
//
//	go run ./examples/echo serve-http
//	curl -s -X POST -d 'hello' localhost:3000/echo
//	hello
package main

import (
	"context"

	"github.com/gobento/bento"
)

// Doc is the JSON document echo_json decodes and encodes.
type Doc struct {
	Text   string            `json:"text"`
	Values []float64         `json:"values"`
	Meta   map[string]string `json:"meta,omitempty"`
}

// NewService returns the echo service.
func NewService() *bento.Service {
	svc := bento.NewService("echo", bento.Doc("Echoes its input; measures framework overhead."))
	bento.API(svc, "echo", bento.Text(), bento.Text(),
		func(_ context.Context, s string) (string, error) { return s, nil })
	bento.API(svc, "echo_json", bento.JSON[Doc](), bento.JSON[Doc](),
		func(_ context.Context, d Doc) (Doc, error) { return d, nil })
	return svc
}

func main() { bento.Main(NewService()) }

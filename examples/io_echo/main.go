// Command io_echo echoes one value of every IO descriptor, as input and as
// output: Text, JSON, NDArray, Image, File and Multipart. The compatibility
// suite (compat/, `make compat`) drives it with BentoML 1.1.11's own Python
// clients, over HTTP and gRPC, to check each descriptor both ways.
//
//	go run ./examples/io_echo serve-http
//	curl -s -X POST -H 'content-type: application/json' -d '[[1,2,3]]' localhost:3000/ndarray
//	[[1,2,3]]
package main

import (
	"context"
	"image"

	"github.com/gobento/bento"
)

// NewService returns the io_echo service: one API per descriptor, each
// answering its input unchanged.
func NewService() *bento.Service {
	svc := bento.NewService("io_echo", bento.Doc("Echoes one value of every IO descriptor."))
	bento.API(svc, "text", bento.Text(), bento.Text(), echo[string], bento.Doc("Text in, the same text out."))
	bento.API(svc, "json", bento.JSON[map[string]any](), bento.JSON[map[string]any](), echo[map[string]any],
		bento.Doc("A JSON object in, the same object out."))
	bento.API(svc, "ndarray",
		bento.NDArray[[][]float64](bento.Shape(-1, 3), bento.DType("float64")), bento.NDArray[[][]float64](),
		echo[[][]float64], bento.Doc("An n×3 float64 array in (shape and dtype enforced), the same array out."))
	bento.API(svc, "ndarray_int", bento.NDArray[[]int64](), bento.NDArray[[]int64](), echo[[]int64],
		bento.Doc("A 1-d int64 array in, the same array out."))
	bento.API(svc, "image", bento.Image(), bento.Image(), echo[image.Image],
		bento.Doc("An image (PNG, JPEG or GIF) in, the same image out as PNG."))
	bento.API(svc, "file", bento.File(), bento.File(), echo[bento.FileData], bento.Doc("A file in, the same bytes out."))
	bento.API(svc, "multipart", parts(), parts(), echo[bento.Parts],
		bento.Doc("A form with a text, an array and a JSON part in, the same form out."))
	return svc
}

// parts is the Multipart descriptor of the multipart API.
func parts() bento.IO[bento.Parts] {
	return bento.Multipart(
		bento.Field("note", bento.Text()),
		bento.Field("arr", bento.NDArray[[]float64]()),
		bento.Field("meta", bento.JSON[map[string]any]()),
	)
}

func echo[T any](_ context.Context, v T) (T, error) { return v, nil }

func main() { bento.Main(NewService()) }

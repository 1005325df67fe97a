package bento_test

import (
	"context"
	"fmt"
	"image"

	"github.com/gobento/bento"
)

func ExampleNDArray() {
	// A batch of rows with four features each, as float64.
	in := bento.NDArray[[][]float64](bento.Shape(-1, 4))
	spec := in.Spec()
	fmt.Println(spec.ID, spec.Example)
	// Output: bentoml.io.NumpyNdarray [[1.5,2.5,3.5,4.5]]
}

func ExampleMultipart() {
	type box struct {
		X, Y, W, H int
	}
	svc := bento.NewService("cropper")
	imageField, boxField := bento.Field("image", bento.Image()), bento.Field("box", bento.JSON[box]())
	in := bento.Multipart(imageField, boxField)
	bento.API(svc, "crop", in, bento.Image(), func(_ context.Context, p bento.Parts) (image.Image, error) {
		// Every declared field is present, as its declared type.
		img, b := imageField.Get(p), boxField.Get(p)
		sub, ok := img.(interface {
			SubImage(image.Rectangle) image.Image
		})
		if !ok {
			return nil, bento.Unprocessable("cannot crop a %T", img)
		}
		return sub.SubImage(image.Rect(b.X, b.Y, b.X+b.W, b.Y+b.H)), nil
	})
	fmt.Println(in.Spec().Schema["required"])
	// Output: [image box]
}

func ExamplePartField() {
	note, count := bento.Field("note", bento.Text()), bento.Field("count", bento.JSON[int]())
	out := bento.Multipart(note, count) // e.g. an API's output descriptor
	var p bento.Parts
	note.Set(&p, "hello")
	count.Set(&p, 3)
	fmt.Println(note.Get(p), count.Get(p)+1, out.Spec().Schema["required"])
	// Output: hello 4 [note count]
}

func ExamplePartValue() {
	parts := bento.Parts{"note": "hello", "count": 3}
	note, err := bento.PartValue[string](parts, "note")
	fmt.Println(note, err)
	_, err = bento.PartValue[string](parts, "count")
	fmt.Println(err)
	// Output:
	// hello <nil>
	// bento: multipart field "count" holds int, not string
}

func ExampleFile() {
	svc := bento.NewService("pdf_pages")
	bento.API(svc, "size", bento.File(bento.FileMIME("application/pdf")), bento.JSON[map[string]int](),
		func(_ context.Context, f bento.FileData) (map[string]int, error) {
			return map[string]int{"bytes": len(f.Data)}, nil
		})
	fmt.Println(bento.File(bento.FileMIME("application/pdf")).Spec().MediaTypes)
	// Output: [application/pdf multipart/form-data]
}

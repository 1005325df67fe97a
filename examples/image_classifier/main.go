// Command image_classifier serves the MNIST convolutional network of the
// ONNX model zoo (see MODEL.md), run in pure Go with onnx-go.
//
//	go run ./examples/image_classifier serve-http --port 3000
//	curl -s -F image=@examples/image_classifier/testdata/digit_7.png localhost:3000/predict
//	{"digit":7,"probabilities":[...]}
//
// The upload (a multipart form with any field name, or a raw image/png,
// image/jpeg or image/gif body) is scaled to 28×28 grayscale and classified
// by a batchable runner method; each of the two workers owns one model graph.
package main

import (
	"context"
	"image"
	"time"

	"github.com/gobento/bento"
)

func newService() *bento.Service {
	svc := bento.NewService("image_classifier",
		bento.WithDoc("Recognises a handwritten digit (white on black, or black on white) in an uploaded image."))
	mnist := bento.NewRunner(svc, "mnist", NewMNIST, bento.Workers(2))
	predict := bento.BatchMethod(mnist, "predict", (*MNIST).PredictBatch,
		bento.MaxBatchSize(64), bento.MaxLatency(2*time.Second))
	bento.API(svc, "predict", bento.Image(), bento.JSON[Prediction](),
		func(ctx context.Context, img image.Image) (Prediction, error) {
			return predict.Run(ctx, Preprocess(img))
		},
		bento.Doc("Upload an image of one digit; returns the digit and the probability of each class 0-9."))
	return svc
}

func main() { bento.Main(newService()) }

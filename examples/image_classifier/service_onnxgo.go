//go:build onnxgo

package main

import (
	"context"
	"image"
	"time"

	"github.com/gobento/bento"
)

// runtimeName says which build this is, for the bench and the logs.
const runtimeName = "onnx-go"

// newService is the pure-Go build (go build -tags onnxgo), kept to compare with ONNX
// Runtime: each of the two workers owns one onnx-go graph and runs images one by one.
func newService() *bento.Service {
	svc := bento.NewService("image_classifier",
		bento.Doc("Recognises a handwritten digit (white on black, or black on white) in an uploaded image."))
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

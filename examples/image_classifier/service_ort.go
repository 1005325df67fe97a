//go:build !onnxgo

package main

import (
	"context"
	"image"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/onnx"
)

// runtimeName says which build this is, for the bench and the logs.
const runtimeName = "onnxruntime"

func newService() *bento.Service {
	svc := bento.NewService("image_classifier",
		bento.Doc("Recognises a handwritten digit (white on black, or black on white) in an uploaded image."))
	mnist := onnx.NewRunner(svc, "mnist", onnx.Bytes(modelFile, mnistONNX), &onnx.RunnerOptions{
		Workers:      2,
		MaxBatchSize: 64,
		MaxLatency:   2 * time.Second,
	})
	bento.API(svc, "predict", bento.Image(), bento.JSON[Prediction](),
		func(ctx context.Context, img image.Image) (Prediction, error) {
			x, err := onnx.NewTensor(Preprocess(img), 1, 1, ImageSize, ImageSize)
			if err != nil {
				return Prediction{}, err
			}
			out, err := mnist.Run(ctx, x)
			if err != nil {
				return Prediction{}, err
			}
			p, err := predictions(out[0])
			if err != nil {
				return Prediction{}, err
			}
			return p[0], nil
		},
		bento.Doc("Upload an image of one digit; returns the digit and the probability of each class 0-9."))
	return svc
}

// Command image_classifier serves the MNIST convolutional network of the
// ONNX model zoo (see MODEL.md) on ONNX Runtime, batched.
//
//	make onnxruntime   # once: fetches libonnxruntime.so into .cache/onnxruntime/
//	go run ./examples/image_classifier serve-http --port 3000
//	curl -s -F image=@examples/image_classifier/testdata/digit_7.png localhost:3000/predict
//	{"digit":7,"probabilities":[...]}
//
// The upload (a multipart form with any field name, or a raw image/png,
// image/jpeg or image/gif body) is scaled to 28×28 grayscale and classified
// by the onnx package's ready-made runner: two workers, each with its own
// ONNX Runtime session, and concurrent requests merged into one run along
// the model's dynamic batch dimension.
//
// Built with -tags onnxgo, the same service runs the original model in pure
// Go with github.com/owulveryck/onnx-go (about 45× slower per image); the
// benchmarks compare the two builds.
package main

import "github.com/gobento/bento"

func main() { bento.Main(newService()) }

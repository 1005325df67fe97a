//go:build onnxgo

package main

import (
	"context"
	_ "embed"
	"fmt"
	"math"

	"github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"
	"gorgonia.org/tensor"
)

// mnistONNX is the ONNX model zoo MNIST CNN; see MODEL.md for its origin and licence.
//
//go:embed mnist-cntk.onnx
var mnistONNX []byte

// MNIST runs the embedded MNIST convolutional network. An instance keeps the graph state
// between setting the input and reading the output, so it is not safe for concurrent use:
// create one per worker.
type MNIST struct {
	backend *gorgonnx.Graph
	model   *onnx.Model
}

// NewMNIST parses the embedded ONNX model into a new, independent graph.
func NewMNIST() (*MNIST, error) {
	backend := gorgonnx.NewGraph()
	model := onnx.NewModel(backend)
	if err := model.UnmarshalBinary(mnistONNX); err != nil {
		return nil, fmt.Errorf("mnist: parse model: %w", err)
	}
	return &MNIST{backend: backend, model: model}, nil
}

// Predict classifies one preprocessed image: NumPixels finite values in row-major order,
// white digit on black, on the 0..255 scale (see Preprocess). Invalid input yields an error
// wrapping ErrInvalidInput. It returns ctx.Err() if ctx is done before inference starts;
// a running inference is not interrupted.
func (m *MNIST) Predict(ctx context.Context, pixels []float32) (Prediction, error) {
	if err := ctx.Err(); err != nil {
		return Prediction{}, err
	}
	if len(pixels) != NumPixels {
		return Prediction{}, fmt.Errorf("mnist: %w: expected %d pixels, got %d", ErrInvalidInput, NumPixels, len(pixels))
	}
	for i, v := range pixels {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Prediction{}, fmt.Errorf("mnist: %w: pixel %d is not a finite number", ErrInvalidInput, i)
		}
	}
	backing := make([]float32, NumPixels)
	copy(backing, pixels)
	input := tensor.New(tensor.WithShape(1, 1, ImageSize, ImageSize), tensor.WithBacking(backing))
	if err := m.model.SetInput(0, input); err != nil {
		return Prediction{}, fmt.Errorf("mnist: set input: %w", err)
	}
	if err := m.backend.Run(); err != nil {
		return Prediction{}, fmt.Errorf("mnist: run: %w", err)
	}
	outputs, err := m.model.GetOutputTensors()
	if err != nil {
		return Prediction{}, fmt.Errorf("mnist: read output: %w", err)
	}
	if len(outputs) != 1 {
		return Prediction{}, fmt.Errorf("mnist: expected 1 output tensor, got %d", len(outputs))
	}
	logits, ok := outputs[0].Data().([]float32)
	if !ok || len(logits) != NumDigits {
		return Prediction{}, fmt.Errorf("mnist: unexpected output %T of shape %v", outputs[0].Data(), outputs[0].Shape())
	}
	return newPrediction(logits), nil
}

// PredictBatch classifies each image in turn (the model takes one image per run). An
// invalid image fails the whole batch with an error naming its index and wrapping
// ErrInvalidInput.
func (m *MNIST) PredictBatch(ctx context.Context, batch [][]float32) ([]Prediction, error) {
	out := make([]Prediction, 0, len(batch))
	for i, pixels := range batch {
		p, err := m.Predict(ctx, pixels)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

//go:build !onnxgo

package main

import (
	"context"
	_ "embed"
	"fmt"
	"math"

	"github.com/gobento/bento/onnx"
)

// mnistONNX is the ONNX model zoo MNIST CNN with a dynamic batch dimension; see MODEL.md
// for its origin and licence and make_dynamic_batch.py for how it was derived.
//
//go:embed mnist-dynamic.onnx
var mnistONNX []byte

// modelFile names the embedded model in errors and in gobento_model_info.
const modelFile = "mnist-dynamic.onnx"

// MNIST runs the embedded MNIST network on ONNX Runtime. It is safe for concurrent use;
// Close releases the native session.
type MNIST struct {
	s *onnx.Session
}

// NewMNIST creates an ONNX Runtime session (single-threaded) for the embedded model.
func NewMNIST() (*MNIST, error) {
	m, err := onnx.ParseModel(modelFile, mnistONNX)
	if err != nil {
		return nil, err
	}
	s, err := m.NewSession(&onnx.Options{IntraOpThreads: 1})
	if err != nil {
		return nil, err
	}
	return &MNIST{s: s}, nil
}

// Close releases the session.
func (m *MNIST) Close() error { return m.s.Close() }

// checkPixels reports pixel slices of the wrong length or holding non-finite values.
func checkPixels(pixels []float32) error {
	if len(pixels) != NumPixels {
		return fmt.Errorf("mnist: %w: expected %d pixels, got %d", ErrInvalidInput, NumPixels, len(pixels))
	}
	for i, v := range pixels {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("mnist: %w: pixel %d is not a finite number", ErrInvalidInput, i)
		}
	}
	return nil
}

// Predict classifies one preprocessed image: NumPixels finite values in row-major order,
// white digit on black, on the 0..255 scale (see Preprocess). Invalid input yields an error
// wrapping ErrInvalidInput. It returns ctx.Err() if ctx is done before inference starts.
func (m *MNIST) Predict(ctx context.Context, pixels []float32) (Prediction, error) {
	out, err := m.PredictBatch(ctx, [][]float32{pixels})
	if err != nil {
		return Prediction{}, err
	}
	return out[0], nil
}

// PredictBatch classifies the images in one run of the model (batch dimension N). An
// invalid image fails the whole batch with an error naming its index and wrapping
// ErrInvalidInput.
func (m *MNIST) PredictBatch(ctx context.Context, batch [][]float32) ([]Prediction, error) {
	if len(batch) == 0 {
		return []Prediction{}, nil
	}
	flat := make([]float32, 0, len(batch)*NumPixels)
	for i, pixels := range batch {
		if err := checkPixels(pixels); err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		flat = append(flat, pixels...)
	}
	x, err := onnx.NewTensor(flat, int64(len(batch)), 1, ImageSize, ImageSize)
	if err != nil {
		return nil, err
	}
	out, err := m.s.Run(ctx, x)
	if err != nil {
		return nil, err
	}
	return predictions(out[0])
}

// predictions turns a [N, 10] logits tensor into N predictions.
func predictions(logits onnx.Tensor) ([]Prediction, error) {
	l, err := onnx.Data[float32](logits)
	if err != nil || len(logits.Shape()) != 2 || logits.Shape()[1] != NumDigits {
		return nil, fmt.Errorf("mnist: unexpected output %v", logits)
	}
	n := int(logits.Shape()[0])
	out := make([]Prediction, n)
	for i := range n {
		out[i] = newPrediction(l[i*NumDigits : (i+1)*NumDigits])
	}
	return out, nil
}

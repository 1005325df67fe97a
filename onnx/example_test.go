package onnx_test

import (
	"context"
	"fmt"

	"github.com/gobento/bento"
	"github.com/gobento/bento/onnx"
)

// Load a model, read its inputs and outputs from the model itself, and run
// it on a typed tensor.
func ExampleLoad() {
	s, err := onnx.Load("testdata/two_in_two_out.onnx", &onnx.Options{IntraOpThreads: 1})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	fmt.Println(s.Model().Inputs(), s.Model().Outputs(), "opset", s.Model().Opset())

	a, _ := onnx.NewTensor([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b, _ := onnx.NewTensor([]float32{10, 10, 10, 20, 20, 20}, 2, 3)
	out, err := s.Run(context.Background(), a, b)
	if err != nil {
		panic(err)
	}
	total, _ := onnx.Data[float32](out[1])
	fmt.Println(out[1], total)
	// Output:
	// [a: float32[? 3] b: float32[? 3]] [sum: float32[? 3] total: float32[?]] opset 17
	// float32[2] [36 75]
}

// A tensor that does not fit the model is a 400 naming the input, the
// expected and the received shape.
func ExampleSession_Run_badInput() {
	s, err := onnx.Load("testdata/identity_int64.onnx", nil)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	x, _ := onnx.NewTensor([]int64{1, 2, 3, 4}, 1, 4)
	_, err = s.Run(context.Background(), x)
	be := err.(*bento.Error) // what the client sees: status and message
	fmt.Println(be.Status, be.Msg)
	// Output:
	// 400 onnx: input "x": expected int64[? 3], got int64[1 4]
}

// Items of several callers run as one batch along the dynamic first
// dimension; each gets its own rows back.
func ExampleSession_RunBatch() {
	s, err := onnx.Load("testdata/identity_float32.onnx", nil)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	one, _ := onnx.NewTensor([]float32{1, 2, 3}, 1, 3)
	two, _ := onnx.NewTensor([]float32{4, 5, 6, 7, 8, 9}, 2, 3)
	out, err := s.RunBatch(context.Background(), [][]onnx.Tensor{{one}, {two}})
	if err != nil {
		panic(err)
	}
	for _, item := range out {
		y, _ := onnx.Data[float32](item[0])
		fmt.Println(item[0].Shape(), y)
	}
	// Output:
	// [1 3] [1 2 3]
	// [2 3] [4 5 6 7 8 9]
}

// Serve a model behind a batched runner: two workers, each with its own
// session.
func ExampleNewRunner() {
	svc := bento.NewService("identity_service")
	r := onnx.NewRunner(svc, "identity", onnx.File("testdata/identity_float32.onnx"), &onnx.RunnerOptions{Workers: 2})
	bento.API(svc, "echo", bento.JSON[[]float32](), bento.JSON[[]float32](),
		func(ctx context.Context, v []float32) ([]float32, error) {
			x, err := onnx.NewTensor(v, 1, int64(len(v)))
			if err != nil {
				return nil, bento.BadInput(err)
			}
			out, err := r.Run(ctx, x)
			if err != nil {
				return nil, err
			}
			return onnx.Data[float32](out[0])
		})
	fmt.Println(r.Name(), svc.Validate())
	// Output: identity <nil>
}

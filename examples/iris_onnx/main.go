// Command iris_onnx serves a scikit-learn model exported to ONNX: a
// StandardScaler + LogisticRegression pipeline trained on Fisher's Iris data
// by export.py and converted with skl2onnx (ZipMap disabled). It answers the
// same /classify request as the iris_classifier example:
//
//	make onnxruntime   # once: fetches libonnxruntime.so into .cache/onnxruntime/
//	go run ./examples/iris_onnx serve-http --port 3000
//	curl -s -X POST -H 'content-type: application/json' -d '[[5.9,3.0,5.1,1.8]]' localhost:3000/classify
//	[2]
//
// The model runs on ONNX Runtime through the onnx package's batched runner:
// concurrent requests are concatenated along the model's dynamic first
// dimension and run once. Python is needed only to re-export the model.
package main

import (
	"context"
	_ "embed"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/onnx"
)

// irisModel is the exported pipeline; see export.py and requirements.txt.
//
//go:embed iris_logreg.onnx
var irisModel []byte

// NumFeatures is the number of measurements per flower.
const NumFeatures = 4

func newService() *bento.Service {
	svc := bento.NewService("iris_onnx",
		bento.Doc("Classifies iris flowers (setosa=0, versicolor=1, virginica=2) from sepal and petal measurements in cm, with a scikit-learn model on ONNX Runtime."))
	clf := onnx.NewRunner(svc, "iris_clf", onnx.Bytes("iris_logreg.onnx", irisModel), &onnx.RunnerOptions{
		MaxBatchSize: 100,
		MaxLatency:   20 * time.Millisecond,
	})
	bento.API(svc, "classify",
		bento.NDArray[[][]float64](bento.Shape(-1, NumFeatures), bento.DType("float64")),
		bento.NDArray[[]int](),
		func(ctx context.Context, rows [][]float64) ([]int, error) {
			return classify(ctx, clf, rows)
		},
		bento.Doc("Input: rows of [sepal_length, sepal_width, petal_length, petal_width]. Output: one class index per row."),
		bento.MaxItems(10_000))
	return svc
}

// classify runs the model on rows and returns the label output.
func classify(ctx context.Context, clf *onnx.Runner, rows [][]float64) ([]int, error) {
	if len(rows) == 0 {
		return []int{}, nil
	}
	flat := make([]float32, 0, len(rows)*NumFeatures)
	for _, row := range rows {
		for _, v := range row {
			flat = append(flat, float32(v))
		}
	}
	x, err := onnx.NewTensor(flat, int64(len(rows)), NumFeatures)
	if err != nil {
		return nil, bento.BadInput(err)
	}
	out, err := clf.Run(ctx, x)
	if err != nil {
		return nil, err
	}
	labels, err := onnx.Data[int64](out[0])
	if err != nil {
		return nil, err
	}
	classes := make([]int, len(labels))
	for i, l := range labels {
		classes[i] = int(l)
	}
	return classes, nil
}

func main() { bento.Main(newService()) }

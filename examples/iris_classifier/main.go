// Command iris_classifier serves a multinomial logistic-regression model
// trained on Fisher's Iris data set, the model of BentoML's metrics guide.
//
//	go run ./examples/iris_classifier serve-http --port 3000
//	curl -s -X POST -H 'content-type: application/json' -d '[[5.9,3.0,5.1,1.8]]' localhost:3000/classify
//	[2]
//
// The runner's classify method is batchable: concurrent requests are merged
// into batches of up to 100 rows by the adaptive dispatcher, visible in
// bentoml_runner_adaptive_batch_size.
package main

import (
	"context"
	"errors"
	"time"

	"github.com/gobento/bento"
)

func newService() *bento.Service {
	svc := bento.NewService("iris_classifier",
		bento.Doc("Classifies iris flowers (setosa=0, versicolor=1, virginica=2) from sepal and petal measurements in cm."))
	clf := bento.NewRunner(svc, "iris_clf", TrainIris)
	classify := bento.BatchMethod(clf, "classify", (*IrisModel).PredictBatch,
		bento.MaxBatchSize(100), bento.MaxLatency(20*time.Millisecond))
	bento.API(svc, "classify",
		bento.NDArray[[][]float64](bento.Shape(-1, 4), bento.DType("float64")),
		bento.NDArray[[]int](),
		func(ctx context.Context, rows [][]float64) ([]int, error) {
			classes, err := classify.RunMany(ctx, rows)
			var rowErr *RowError
			if errors.As(err, &rowErr) {
				return nil, bento.BadInput(err)
			}
			return classes, err
		},
		bento.Doc("Input: rows of [sepal_length, sepal_width, petal_length, petal_width]. Output: one class index per row."),
		// a setosa, a versicolor and a virginica: "Try it out" answers [0, 1, 2]
		bento.Example("[[5.1, 3.5, 1.4, 0.2], [6.4, 3.2, 4.5, 1.5], [6.3, 3.3, 6.0, 2.5]]"),
		bento.MaxItems(10_000)) // a larger request gets 413 after 10 001 rows are parsed
	return svc
}

func main() { bento.Main(newService()) }

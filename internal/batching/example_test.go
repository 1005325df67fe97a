package batching_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gobento/bento/internal/batching"
)

func ExampleDispatcher() {
	// square is the "model": it gets a batch and returns one output per item.
	square := func(_ context.Context, xs []int) ([]int, error) {
		out := make([]int, len(xs))
		for i, x := range xs {
			out[i] = x * x
		}
		return out, nil
	}
	d, err := batching.New(batching.Config{
		MaxBatchSize: 32,
		MaxLatency:   100 * time.Millisecond,
		Workers:      1,
		Enabled:      true,
	}, square, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	d.Start()
	defer d.Stop(context.Background())

	// Concurrent callers may share batches; each gets its own outputs.
	var wg sync.WaitGroup
	results := make([][]int, 3)
	for i := range results {
		wg.Go(func() {
			results[i], _ = d.Submit(context.Background(), []int{i, i + 10})
		})
	}
	wg.Wait()
	fmt.Println(results)
	// Output: [[0 100] [1 121] [4 144]]
}

package bento_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobento/bento"
)

type benchModel struct{}

func (benchModel) Double(_ context.Context, x int) (int, error) { return 2 * x, nil }

func (benchModel) DoubleBatch(_ context.Context, xs []int) ([]int, error) {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = 2 * x
	}
	return out, nil
}

// BenchmarkRunner calls runner methods directly (no HTTP): a plain method and
// a batchable one, from one goroutine and from many.
func BenchmarkRunner(b *testing.B) {
	svc := bento.NewService("runner_bench")
	r := bento.NewRunner(svc, "m", func() (benchModel, error) { return benchModel{}, nil }, bento.Workers(2))
	plain := bento.Method(r, "double", benchModel.Double)
	batch := bento.BatchMethod(r, "double_batch", benchModel.DoubleBatch,
		bento.MaxBatchSize(32), bento.MaxLatency(time.Second))
	startHTTP(b, svc, testConfig(b))
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		m    *bento.RunnerMethod[int, int]
	}{{"Method", plain}, {"BatchMethod", batch}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if v, err := tc.m.Run(ctx, 21); err != nil || v != 42 {
					b.Fatal(v, err)
				}
			}
		})
		b.Run(tc.name+"Parallel", func(b *testing.B) {
			var shed atomic.Int64
			b.SetParallelism(16)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					v, err := tc.m.Run(ctx, 21)
					if errors.Is(err, bento.ErrOverloaded) {
						shed.Add(1) // a loaded shared machine: count, do not fail
						continue
					}
					if err != nil || v != 42 {
						b.Error(v, err)
						return
					}
				}
			})
			b.ReportMetric(float64(shed.Load())/float64(b.N), "shed/op")
		})
	}
}

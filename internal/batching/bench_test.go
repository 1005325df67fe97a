package batching

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

func trivialExec(_ context.Context, items []int) ([]int, error) {
	out := make([]int, len(items))
	copy(out, items)
	return out, nil
}

func BenchmarkSubmit(b *testing.B) {
	for _, enabled := range []bool{true, false} {
		b.Run(fmt.Sprintf("enabled=%v", enabled), func(b *testing.B) {
			d := start(b, Config{MaxBatchSize: 32, MaxLatency: 100 * time.Millisecond, Workers: 1, Enabled: enabled}, trivialExec, nil)
			defer stop(b, d)
			ctx := context.Background()
			items := []int{1}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Submit(ctx, items); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSubmitParallel(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			rec := &sizeCounter{}
			d := start(b, Config{MaxBatchSize: 32, MaxLatency: 100 * time.Millisecond, Workers: workers, Enabled: true}, trivialExec, rec)
			defer stop(b, d)
			b.SetParallelism(16) // many callers per core, as in a server
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				items := []int{1}
				for pb.Next() {
					if _, err := d.Submit(ctx, items); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(rec.mean(), "items/batch")
		})
	}
}

// sizeCounter is an Observer that tracks the mean batch size.
type sizeCounter struct {
	mu             sync.Mutex
	batches, items int
}

func (s *sizeCounter) Dispatched(n int, _ Reason, _ []time.Duration) {
	s.mu.Lock()
	s.batches++
	s.items += n
	s.mu.Unlock()
}
func (s *sizeCounter) Executed(int, time.Duration, error) {}
func (s *sizeCounter) Shed(int)                           {}
func (s *sizeCounter) mean() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return float64(s.items) / float64(max(s.batches, 1))
}

// spin burns CPU for d: a model that computes rather than sleeps.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// TestThroughputNearIdeal runs a CPU-bound synthetic model, a batch of n
// costing fixed + perItem·n of busy work, under saturating closed-loop load
// and compares throughput with the ideal MaxBatchSize/(fixed +
// perItem·MaxBatchSize), with batching on and off.
func TestThroughputNearIdeal(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped in -short mode")
	}
	const (
		fixed    = 2 * time.Millisecond
		perItem  = 100 * time.Microsecond
		mbs      = 32
		clients  = 128
		duration = 1500 * time.Millisecond
	)
	exec := func(_ context.Context, items []int) ([]int, error) {
		spin(fixed + perItem*time.Duration(len(items)))
		return make([]int, len(items)), nil
	}
	run := func(enabled bool) (rps float64, p50, p99 time.Duration, shed int) {
		rec := &sizeCounter{}
		d := start(t, Config{MaxBatchSize: mbs, MaxLatency: 200 * time.Millisecond, Workers: 1, Enabled: enabled}, exec, rec)
		defer stop(t, d)
		var (
			mu   sync.Mutex
			lats []time.Duration
			wg   sync.WaitGroup
		)
		stopAt := time.Now().Add(duration)
		begin := time.Now()
		for range clients {
			wg.Go(func() {
				var mine []time.Duration
				var myShed int
				for time.Now().Before(stopAt) {
					t0 := time.Now()
					_, err := d.Submit(context.Background(), []int{1})
					if err != nil {
						myShed++
						continue
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lats = append(lats, mine...)
				shed += myShed
				mu.Unlock()
			})
		}
		wg.Wait()
		elapsed := time.Since(begin)
		slices.Sort(lats)
		q := func(p float64) time.Duration { return lats[int(math.Ceil(p*float64(len(lats))))-1] }
		t.Logf("enabled=%-5v: %6.0f req/s, mean batch %.1f, p50 %v, p99 %v, shed %d",
			enabled, float64(len(lats))/elapsed.Seconds(), rec.mean(), q(0.5).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), shed)
		return float64(len(lats)) / elapsed.Seconds(), q(0.5), q(0.99), shed
	}
	ideal := mbs / (fixed + perItem*mbs).Seconds()
	idealOne := 1 / (fixed + perItem).Seconds()
	t.Logf("GOMAXPROCS=%d; ideal %.0f req/s batched, %.0f req/s unbatched", runtime.GOMAXPROCS(0), ideal, idealOne)
	batched, _, _, _ := run(true)
	single, _, _, _ := run(false)
	t.Logf("batched: %.0f%% of ideal; unbatched: %.0f%% of its ideal", 100*batched/ideal, 100*single/idealOne)
	if batched < 3*single {
		t.Errorf("batching gives %.0f req/s, barely more than %.0f unbatched", batched, single)
	}
}

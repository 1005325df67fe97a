package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/gobento/bento/internal/testenv"
)

func trainForTest(t testing.TB) *IrisModel {
	t.Helper()
	m, err := TrainIris()
	if err != nil {
		t.Fatalf("TrainIris: %v", err)
	}
	return m
}

func TestDataset(t *testing.T) {
	samples, err := loadIris(irisCSV)
	if err != nil {
		t.Fatalf("loadIris: %v", err)
	}
	if len(samples) != 150 {
		t.Fatalf("got %d rows, want 150", len(samples))
	}
	var counts [NumClasses]int
	for _, s := range samples {
		counts[s.class]++
	}
	if counts != [NumClasses]int{50, 50, 50} {
		t.Errorf("class counts = %v, want [50 50 50]", counts)
	}
	known := []struct {
		row   int // 1-based, as in the UCI file
		x     [NumFeatures]float64
		class int
	}{
		{1, [NumFeatures]float64{5.1, 3.5, 1.4, 0.2}, 0},
		{51, [NumFeatures]float64{7.0, 3.2, 4.7, 1.4}, 1},
		{101, [NumFeatures]float64{6.3, 3.3, 6.0, 2.5}, 2},
		{150, [NumFeatures]float64{5.9, 3.0, 5.1, 1.8}, 2},
	}
	for _, k := range known {
		t.Run(fmt.Sprintf("row%d", k.row), func(t *testing.T) {
			got := samples[k.row-1]
			if got.x != k.x || got.class != k.class {
				t.Errorf("row %d = %v/%d, want %v/%d", k.row, got.x, got.class, k.x, k.class)
			}
		})
	}
	// Per-species means of Fisher's data (as published with R's datasets::iris).
	wantMeans := [NumClasses][NumFeatures]float64{
		{5.006, 3.428, 1.462, 0.246},
		{5.936, 2.770, 4.260, 1.326},
		{6.588, 2.974, 5.552, 2.026},
	}
	var sums [NumClasses][NumFeatures]float64
	for _, s := range samples {
		for f := range s.x {
			sums[s.class][f] += s.x[f]
		}
	}
	for c := range sums {
		for f := range sums[c] {
			if got := sums[c][f] / 50; math.Abs(got-wantMeans[c][f]) > 1e-9 {
				t.Errorf("mean of %s feature %d = %.4f, want %.3f", SpeciesName(c), f, got, wantMeans[c][f])
			}
		}
	}
}

func TestTrainAccuracyAndSpeed(t *testing.T) {
	start := time.Now()
	m := trainForTest(t)
	elapsed := time.Since(start)
	t.Logf("training took %v, accuracy %.4f", elapsed, m.Accuracy())
	if acc := m.Accuracy(); acc < 0.95 {
		t.Errorf("training accuracy %.4f < 0.95", acc)
	}
	if !testenv.Race && elapsed > 200*time.Millisecond { // `make timing` checks it without -race
		t.Errorf("training took %v, want < 200ms", elapsed)
	}
	// Re-check the reported accuracy through the public API.
	samples, _ := loadIris(irisCSV)
	rows := make([][]float64, len(samples))
	for i := range samples {
		rows[i] = samples[i].x[:]
	}
	preds, err := m.PredictBatch(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, p := range preds {
		if p == samples[i].class {
			correct++
		}
	}
	if got := float64(correct) / 150; got != m.Accuracy() {
		t.Errorf("PredictBatch accuracy %.4f != Accuracy() %.4f", got, m.Accuracy())
	}
}

func TestTrainDeterministic(t *testing.T) {
	a, b := trainForTest(t), trainForTest(t)
	if *a != *b {
		t.Error("two trainings produced different models")
	}
}

func TestPredictBatch(t *testing.T) {
	m := trainForTest(t)
	tests := []struct {
		name string
		rows [][]float64
		want []int
	}{
		{"virginica", [][]float64{{5.9, 3.0, 5.1, 1.8}}, []int{2}},
		{"setosa", [][]float64{{5.1, 3.5, 1.4, 0.2}}, []int{0}},
		{"versicolor", [][]float64{{7.0, 3.2, 4.7, 1.4}}, []int{1}},
		{"mixed", [][]float64{{5.1, 3.5, 1.4, 0.2}, {6.4, 3.2, 4.5, 1.5}, {6.3, 3.3, 6.0, 2.5}}, []int{0, 1, 2}},
		{"empty", [][]float64{}, []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.PredictBatch(context.Background(), tt.rows)
			if err != nil {
				t.Fatalf("PredictBatch: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPredictBatchInvalid(t *testing.T) {
	m := trainForTest(t)
	tests := []struct {
		name      string
		rows      [][]float64
		wantIndex int
	}{
		{"too few", [][]float64{{5.1, 3.5, 1.4}}, 0},
		{"too many", [][]float64{{5.1, 3.5, 1.4, 0.2}, {1, 2, 3, 4, 5}}, 1},
		{"nil row", [][]float64{nil}, 0},
		{"NaN", [][]float64{{5.1, 3.5, 1.4, 0.2}, {5.1, math.NaN(), 1.4, 0.2}}, 1},
		{"Inf", [][]float64{{math.Inf(1), 3.5, 1.4, 0.2}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.PredictBatch(context.Background(), tt.rows)
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T) is not a *RowError", err, err)
			}
			if re.Index != tt.wantIndex {
				t.Errorf("RowError.Index = %d, want %d", re.Index, tt.wantIndex)
			}
		})
	}
}

func TestPredictBatchCancelled(t *testing.T) {
	m := trainForTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.PredictBatch(ctx, [][]float64{{5.1, 3.5, 1.4, 0.2}}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestSpeciesName(t *testing.T) {
	for c, want := range map[int]string{-1: "", 0: "setosa", 1: "versicolor", 2: "virginica", 3: ""} {
		if got := SpeciesName(c); got != want {
			t.Errorf("SpeciesName(%d) = %q, want %q", c, got, want)
		}
	}
}

func BenchmarkPredictBatch(b *testing.B) {
	m := trainForTest(b)
	for _, n := range []int{1, 64} {
		rows := make([][]float64, n)
		for i := range rows {
			rows[i] = []float64{5.0 + float64(i%20)*0.1, 3.0, 1.5 + float64(i%40)*0.1, 0.2 + float64(i%20)*0.1}
		}
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := m.PredictBatch(ctx, rows); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTrainIris(b *testing.B) {
	for b.Loop() {
		if _, err := TrainIris(); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleIrisModel_PredictBatch() {
	m, err := TrainIris()
	if err != nil {
		panic(err)
	}
	classes, err := m.PredictBatch(context.Background(), [][]float64{
		{5.1, 3.5, 1.4, 0.2},
		{5.9, 3.0, 5.1, 1.8},
	})
	if err != nil {
		panic(err)
	}
	for _, c := range classes {
		fmt.Println(c, SpeciesName(c))
	}
	// Output:
	// 0 setosa
	// 2 virginica
}

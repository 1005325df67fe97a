package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// irisCSV is Fisher's Iris data set (150 rows, 50 per species) with a header line.
//
//go:embed iris.csv
var irisCSV []byte

const (
	// NumFeatures is the number of measurements per flower: sepal length, sepal width,
	// petal length and petal width, all in centimetres.
	NumFeatures = 4
	// NumClasses is the number of species the model distinguishes.
	NumClasses = 3

	trainEpochs       = 2000
	trainLearningRate = 0.5
	trainL2           = 1e-4
)

// speciesNames maps a class index to the species name used in iris.csv.
var speciesNames = [NumClasses]string{"setosa", "versicolor", "virginica"}

// SpeciesName returns the species name of a class index (0 setosa, 1 versicolor,
// 2 virginica), or "" when the index is out of range.
func SpeciesName(class int) string {
	if class < 0 || class >= NumClasses {
		return ""
	}
	return speciesNames[class]
}

// RowError reports an invalid input row passed to PredictBatch. Callers can map it to a
// client error (HTTP 400).
type RowError struct {
	// Index is the zero-based position of the offending row in the batch.
	Index int
	// Msg describes what is wrong with the row.
	Msg string
}

// Error implements the error interface.
func (e *RowError) Error() string {
	return fmt.Sprintf("row %d: %s", e.Index, e.Msg)
}

// IrisModel is a multinomial logistic regression (softmax) classifier trained on the Iris
// data set. It is immutable after TrainIris returns and safe for concurrent use.
type IrisModel struct {
	mean     [NumFeatures]float64
	std      [NumFeatures]float64
	weights  [NumClasses][NumFeatures]float64
	bias     [NumClasses]float64
	accuracy float64
}

// irisSample is one labelled row of the data set.
type irisSample struct {
	x     [NumFeatures]float64
	class int
}

// loadIris parses the CSV data set: a header line followed by rows of four numbers and a
// species name.
func loadIris(data []byte) ([]irisSample, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = NumFeatures + 1
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("iris: read header: %w", err)
	}
	var samples []irisSample
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("iris: read row %d: %w", len(samples)+1, err)
		}
		var s irisSample
		for i := 0; i < NumFeatures; i++ {
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil {
				return nil, fmt.Errorf("iris: row %d column %d: %w", len(samples)+1, i+1, err)
			}
			s.x[i] = v
		}
		s.class = -1
		for c, name := range speciesNames {
			if rec[NumFeatures] == name {
				s.class = c
			}
		}
		if s.class < 0 {
			return nil, fmt.Errorf("iris: row %d: unknown species %q", len(samples)+1, rec[NumFeatures])
		}
		samples = append(samples, s)
	}
	if len(samples) == 0 {
		return nil, errors.New("iris: data set is empty")
	}
	return samples, nil
}

// TrainIris loads the embedded Iris data set and trains the classifier on all 150 rows
// with full-batch gradient descent on standardised features. Training is deterministic
// (weights start at zero) and takes a few milliseconds.
func TrainIris() (*IrisModel, error) {
	samples, err := loadIris(irisCSV)
	if err != nil {
		return nil, err
	}
	m := &IrisModel{}
	m.fitScaler(samples)

	n := float64(len(samples))
	z := make([][NumFeatures]float64, len(samples))
	for i, s := range samples {
		z[i] = m.standardise(s.x[:])
	}
	var probs [NumClasses]float64
	for epoch := 0; epoch < trainEpochs; epoch++ {
		var gradW [NumClasses][NumFeatures]float64
		var gradB [NumClasses]float64
		for i, s := range samples {
			m.softmax(z[i], &probs)
			for c := 0; c < NumClasses; c++ {
				d := probs[c]
				if c == s.class {
					d--
				}
				gradB[c] += d
				for f := 0; f < NumFeatures; f++ {
					gradW[c][f] += d * z[i][f]
				}
			}
		}
		for c := 0; c < NumClasses; c++ {
			m.bias[c] -= trainLearningRate * gradB[c] / n
			for f := 0; f < NumFeatures; f++ {
				m.weights[c][f] -= trainLearningRate * (gradW[c][f]/n + trainL2*m.weights[c][f])
			}
		}
	}

	correct := 0
	for i, s := range samples {
		if m.classify(z[i]) == s.class {
			correct++
		}
	}
	m.accuracy = float64(correct) / n
	return m, nil
}

// fitScaler computes the per-feature mean and (population) standard deviation.
func (m *IrisModel) fitScaler(samples []irisSample) {
	n := float64(len(samples))
	for f := 0; f < NumFeatures; f++ {
		var sum, sq float64
		for _, s := range samples {
			sum += s.x[f]
		}
		mean := sum / n
		for _, s := range samples {
			d := s.x[f] - mean
			sq += d * d
		}
		m.mean[f] = mean
		m.std[f] = math.Sqrt(sq / n)
		if m.std[f] == 0 {
			m.std[f] = 1
		}
	}
}

// standardise maps raw measurements to zero-mean, unit-variance features.
func (m *IrisModel) standardise(x []float64) [NumFeatures]float64 {
	var z [NumFeatures]float64
	for f := 0; f < NumFeatures; f++ {
		z[f] = (x[f] - m.mean[f]) / m.std[f]
	}
	return z
}

// logits returns the unnormalised class scores of standardised features.
func (m *IrisModel) logits(z [NumFeatures]float64) [NumClasses]float64 {
	var out [NumClasses]float64
	for c := 0; c < NumClasses; c++ {
		s := m.bias[c]
		for f := 0; f < NumFeatures; f++ {
			s += m.weights[c][f] * z[f]
		}
		out[c] = s
	}
	return out
}

// softmax writes the class probabilities of standardised features into probs.
func (m *IrisModel) softmax(z [NumFeatures]float64, probs *[NumClasses]float64) {
	l := m.logits(z)
	maxL := l[0]
	for _, v := range l[1:] {
		maxL = math.Max(maxL, v)
	}
	var sum float64
	for c, v := range l {
		probs[c] = math.Exp(v - maxL)
		sum += probs[c]
	}
	for c := range probs {
		probs[c] /= sum
	}
}

// classify returns the arg-max class of standardised features.
func (m *IrisModel) classify(z [NumFeatures]float64) int {
	l := m.logits(z)
	best := 0
	for c := 1; c < NumClasses; c++ {
		if l[c] > l[best] {
			best = c
		}
	}
	return best
}

// PredictBatch classifies each row (sepal length, sepal width, petal length, petal
// width in cm) and returns one class index per row: 0 setosa, 1 versicolor, 2 virginica.
// Every row must hold exactly four finite numbers; otherwise the returned error is a
// *RowError naming the first bad row. It returns ctx.Err() if ctx is already done.
func (m *IrisModel) PredictBatch(ctx context.Context, rows [][]float64) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, row := range rows {
		if len(row) != NumFeatures {
			return nil, &RowError{Index: i, Msg: fmt.Sprintf("expected %d values, got %d", NumFeatures, len(row))}
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, &RowError{Index: i, Msg: fmt.Sprintf("value %d is not a finite number", j)}
			}
		}
	}
	out := make([]int, len(rows))
	for i, row := range rows {
		out[i] = m.classify(m.standardise(row))
	}
	return out, nil
}

// Accuracy returns the fraction of the 150 training rows the model classifies correctly.
func (m *IrisModel) Accuracy() float64 {
	return m.accuracy
}

package onnx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gobento/bento"
	"github.com/gobento/bento/onnx"
)

func load(t testing.TB, name string) *onnx.Session {
	t.Helper()
	// One intra-op thread: ONNX Runtime's default pool (a thread per core,
	// spinning between runs) would take CPU from the packages tested in
	// parallel, some of which check latencies.
	s, err := onnx.Load(filepath.Join("testdata", name), &onnx.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustTensor[T onnx.Element](t testing.TB, data []T, shape ...int64) onnx.Tensor {
	t.Helper()
	x, err := onnx.NewTensor(data, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// identityCase runs identity_<type>.onnx on six values and checks they come back.
func identityCase[T onnx.Element](data []T) func(t *testing.T) {
	return func(t *testing.T) {
		var zero T
		name := fmt.Sprintf("identity_%T.onnx", zero)
		s := load(t, name)
		in := s.Model().Inputs()[0]
		if in.Name != "x" || !slices.Equal(in.Shape, onnx.Shape{-1, 3}) {
			t.Fatalf("input info %v", in)
		}
		out, err := s.Run(context.Background(), mustTensor(t, data, 2, 3))
		if err != nil {
			t.Fatal(err)
		}
		got, err := onnx.Data[T](out[0])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, data) || !slices.Equal(out[0].Shape(), onnx.Shape{2, 3}) {
			t.Errorf("got %v %v, want %v [2 3]", got, out[0].Shape(), data)
		}
		if out[0].Type() != in.Type || in.Type != s.Model().Outputs()[0].Type {
			t.Errorf("types: output %v, input info %v", out[0].Type(), in.Type)
		}
	}
}

func TestElementTypes(t *testing.T) {
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"float32", identityCase([]float32{1.5, -2, 3, 0, 1e30, -1e-30})},
		{"float64", identityCase([]float64{1.5, -2, 3, 0, 1e300, -1e-300})},
		{"int64", identityCase([]int64{1, -2, 3, 0, 1 << 62, -1 << 62})},
		{"int32", identityCase([]int32{1, -2, 3, 0, 1 << 30, -1 << 30})},
		{"uint8", identityCase([]uint8{1, 2, 3, 0, 255, 128})},
		{"bool", identityCase([]bool{true, false, true, false, false, true})},
		{"int8", identityCase([]int8{1, -2, 3, 0, 127, -128})},
		{"int16", identityCase([]int16{1, -2, 3, 0, 32767, -32768})},
		{"uint16", identityCase([]uint16{1, 2, 3, 0, 65535, 7})},
		{"uint32", identityCase([]uint32{1, 2, 3, 0, 1 << 31, 7})},
		{"uint64", identityCase([]uint64{1, 2, 3, 0, 1 << 63, 7})},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestModelInfo(t *testing.T) {
	s := load(t, "two_in_two_out.onnx")
	m := s.Model()
	if m.Opset() != 17 || m.Producer() != "gobento-tests" || m.FileName() != "two_in_two_out.onnx" || len(m.SHA256()) != 64 {
		t.Errorf("opset %d producer %q file %q sha %q", m.Opset(), m.Producer(), m.FileName(), m.SHA256())
	}
	want := []string{"a: float32[? 3]", "b: float32[? 3]", "sum: float32[? 3]", "total: float32[?]"}
	var got []string
	for _, x := range append(m.Inputs(), m.Outputs()...) {
		got = append(got, x.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("infos %q, want %q", got, want)
	}
}

func TestBadInputs(t *testing.T) {
	s := load(t, "two_in_two_out.onnx")
	fixed := load(t, "fixed_batch.onnx")
	f := func(shape ...int64) onnx.Tensor {
		n := int64(1)
		for _, d := range shape {
			n *= d
		}
		return mustTensor(t, make([]float32, n), shape...)
	}
	tests := []struct {
		name   string
		s      *onnx.Session
		inputs []onnx.Tensor
		want   string
	}{
		{"too few inputs", s, []onnx.Tensor{f(1, 3)}, `takes 2 inputs ["a" "b"], got 1`},
		{"wrong type", s, []onnx.Tensor{f(1, 3), mustTensor(t, []int64{1, 2, 3}, 1, 3)}, `input "b": expected float32[? 3], got int64[1 3]`},
		{"wrong rank", s, []onnx.Tensor{f(3), f(1, 3)}, `input "a": expected float32[? 3], got float32[3]`},
		{"wrong dim", s, []onnx.Tensor{f(1, 3), f(1, 4)}, `input "b": expected float32[? 3], got float32[1 4]`},
		{"fixed batch dim", fixed, []onnx.Tensor{f(1, 3)}, `input "x": expected float32[2 3], got float32[1 3]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.s.Run(context.Background(), tt.inputs...)
			var be *bento.Error
			var ie *onnx.InputError
			if !errors.As(err, &be) || be.Status != http.StatusBadRequest || !errors.As(err, &ie) {
				t.Fatalf("err = %v, want a 400 bento.Error wrapping *onnx.InputError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCorruptModel(t *testing.T) {
	for _, name := range []string{"corrupt.onnx", "missing.onnx", "make_models.py"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			_, err := onnx.Load(path, nil)
			var me *onnx.ModelError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want a *onnx.ModelError naming %s", err, path)
			}
		})
	}
	if _, err := onnx.ParseModel("empty.onnx", nil); !errors.Is(err, onnx.ErrInvalidModel) {
		t.Errorf("empty model: %v", err)
	}
}

func TestCUDAUnavailable(t *testing.T) {
	m, err := onnx.ReadModel(filepath.Join("testdata", "fixed_batch.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.NewSession(&onnx.Options{Providers: []string{onnx.CUDA}})
	if !errors.Is(err, onnx.ErrProviderUnavailable) || !strings.Contains(err.Error(), "CUDA") {
		t.Fatalf("err = %v, want ErrProviderUnavailable naming CUDA", err)
	}
	t.Log(err)
}

func TestSessionOptions(t *testing.T) {
	m, err := onnx.ReadModel(filepath.Join("testdata", "two_in_two_out.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []onnx.Options{
		{},
		{IntraOpThreads: 1, InterOpThreads: 1, Optimization: onnx.OptimizeDisabled},
		{IntraOpThreads: 2, Optimization: onnx.OptimizeBasic, Providers: []string{onnx.CPU}},
		{Optimization: onnx.OptimizeExtended},
	} {
		s, err := m.NewSession(&o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		out, err := s.Run(context.Background(), mustTensor(t, []float32{1, 2, 3}, 1, 3), mustTensor(t, []float32{10, 20, 30}, 1, 3))
		if err != nil {
			t.Fatal(err)
		}
		total, _ := onnx.Data[float32](out[1])
		if !slices.Equal(total, []float32{66}) {
			t.Errorf("%+v: total %v", o, total)
		}
		s.Close()
	}
	if _, err := m.NewSession(&onnx.Options{Optimization: 99}); err == nil {
		t.Error("unknown optimization level accepted")
	}
}

func TestNewTensor(t *testing.T) {
	if _, err := onnx.NewTensor([]float32{1, 2, 3}, 2, 2); !errors.Is(err, onnx.ErrShape) {
		t.Errorf("mismatch: %v", err)
	}
	if _, err := onnx.NewTensor([]float32{}, 0, -1); !errors.Is(err, onnx.ErrShape) {
		t.Errorf("negative: %v", err)
	}
	if _, err := onnx.NewTensor([]float32{1}); !errors.Is(err, onnx.ErrShape) {
		t.Errorf("rank 0: %v", err)
	}
	x := mustTensor(t, []int32{1, 2}, 2, 1)
	if _, err := onnx.Data[float32](x); err == nil {
		t.Error("Data with the wrong type succeeded")
	}
	if x.String() != "int32[2 1]" || x.Len() != 2 {
		t.Errorf("String %q Len %d", x, x.Len())
	}
	z, err := onnx.Zeros(onnx.Bool, 2, 2)
	if err != nil || z.Type() != onnx.Bool || z.Len() != 4 {
		t.Errorf("Zeros: %v %v", z, err)
	}
}

func TestProfiling(t *testing.T) {
	m, err := onnx.ReadModel(filepath.Join("testdata", "identity_float32.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(t.TempDir(), "trace")
	s, err := m.NewSession(&onnx.Options{ProfilePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Run(context.Background(), mustTensor(t, []float32{1, 2, 3}, 1, 3)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	files, _ := filepath.Glob(prefix + "*.json")
	if len(files) != 1 {
		t.Fatalf("profile files %q", files)
	}
	b, _ := os.ReadFile(files[0])
	if n := len(regexp.MustCompile(`"name"\s*:\s*"model_run"`).FindAllIndex(b, -1)); n != 3 {
		t.Errorf("%d model_run events in %s, want 3:\n%.400s", n, files[0], b)
	}
}

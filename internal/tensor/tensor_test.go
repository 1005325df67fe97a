package tensor

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

func TestNestFlatten(t *testing.T) {
	data := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	cases := []struct {
		name  string
		shape []int
		want  any
		got   func(Slice) any
	}{
		{"rank1", []int{12}, data, func(s Slice) any { return *(*[]float32)(unsafe.Pointer(&s)) }},
		{"rank2", []int{3, 4}, [][]float32{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}},
			func(s Slice) any { return *(*[][]float32)(unsafe.Pointer(&s)) }},
		{"rank3", []int{2, 3, 2}, [][][]float32{{{1, 2}, {3, 4}, {5, 6}}, {{7, 8}, {9, 10}, {11, 12}}},
			func(s Slice) any { return *(*[][][]float32)(unsafe.Pointer(&s)) }},
		{"rank4", []int{2, 1, 3, 2}, [][][][]float32{{{{1, 2}, {3, 4}, {5, 6}}}, {{{7, 8}, {9, 10}, {11, 12}}}},
			func(s Slice) any { return *(*[][][][]float32)(unsafe.Pointer(&s)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Nest(Tensor[float32]{Data: data, Shape: tc.shape})
			got := tc.got(s)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Nest = %v, want %v", got, tc.want)
			}
			back, known, err := Flatten[float32](unsafe.Pointer(&s), len(tc.shape))
			if err != nil || known != len(tc.shape) || !reflect.DeepEqual(back.Data, data) || !reflect.DeepEqual(back.Shape, tc.shape) {
				t.Fatalf("Flatten = %v %v known %d, %v", back.Data, back.Shape, known, err)
			}
		})
	}
}

func TestNestRowsAreCapped(t *testing.T) {
	s := Nest(Tensor[int]{Data: []int{1, 2, 3, 4}, Shape: []int{2, 2}})
	rows := *(*[][]int)(unsafe.Pointer(&s))
	rows[0] = append(rows[0], 99) // must not overwrite rows[1]
	if rows[1][0] != 3 {
		t.Fatalf("append to a row changed the next one: %v", rows)
	}
}

func TestNestEmpty(t *testing.T) {
	s := Nest(Tensor[bool]{Shape: []int{0}})
	if v := *(*[]bool)(unsafe.Pointer(&s)); v == nil || len(v) != 0 {
		t.Fatalf("rank 1 empty = %#v, want non-nil empty", v)
	}
	s = Nest(Tensor[bool]{Shape: []int{3, 0}})
	if v := *(*[][]bool)(unsafe.Pointer(&s)); len(v) != 3 || v[2] == nil || len(v[2]) != 0 {
		t.Fatalf("3×0 = %#v", v)
	}
	s = Nest(Tensor[bool]{Shape: []int{2, 0, 5}})
	if v := *(*[][][]bool)(unsafe.Pointer(&s)); len(v) != 2 || len(v[1]) != 0 {
		t.Fatalf("2×0×5 = %#v", v)
	}
}

func TestFlattenKnownAndRagged(t *testing.T) {
	empty := [][][]int8{{}, {}}
	got, known, err := Flatten[int8](unsafe.Pointer(&empty), 3)
	if err != nil || known != 2 || !reflect.DeepEqual(got.Shape, []int{2, 0, 0}) || len(got.Data) != 0 {
		t.Fatalf("Flatten(%v) = %v known %d, %v", empty, got, known, err)
	}
	ragged := [][]uint16{{1, 2}, {3}}
	if _, _, err := Flatten[uint16](unsafe.Pointer(&ragged), 2); err == nil || !strings.Contains(err.Error(), "depth 2 has 1 items, another 2") {
		t.Fatalf("ragged: %v", err)
	}
	type vec []float64 // a named row type shares the layout
	named := []vec{{1, 2}, {3, 4}}
	got2, _, err := Flatten[float64](unsafe.Pointer(&named), 2)
	if err != nil || !reflect.DeepEqual(got2.Data, []float64{1, 2, 3, 4}) {
		t.Fatalf("named rows: %v, %v", got2, err)
	}
}

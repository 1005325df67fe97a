// Package tensor holds the one n-dimensional array form gobento decodes
// into: flat row-major data of one Go element type plus a shape. The
// NDArray codec parses requests into a Tensor and views it as the user's
// nested slices without copying; results go the other way.
//
// Nested slices ([][]E, [][][]E, ...) and named slice types over them share
// one memory layout: a slice header per row. Nest and Flatten rely on it
// to convert without reflection.
package tensor

import (
	"fmt"
	"unsafe"
)

// Element is the set of element types a Tensor holds: Go's integer, float
// and bool types (a named type is held as its underlying type).
type Element interface {
	float32 | float64 | int8 | int16 | int32 | int64 | int |
		uint8 | uint16 | uint32 | uint64 | uint | bool
}

// Tensor is a dense n-dimensional array: Data holds the elements in
// row-major order and Shape the size of each dimension, so len(Data) is
// the product of Shape. A Tensor refers to its data without copying it.
type Tensor[E Element] struct {
	Data  []E
	Shape []int
}

// Len returns the number of elements.
func (t Tensor[E]) Len() int { return len(t.Data) }

// Slice is the memory layout of every Go slice: []E, [][]E, a named slice
// type. A nested slice is a Slice over Slices, down to one over elements.
type Slice struct {
	Data unsafe.Pointer
	Len  int
	Cap  int
}

// header is Slice under a short name.
type header = Slice

// Nest returns a slice nested len(t.Shape) deep ([]E, [][]E, ...) that
// views t.Data: the innermost rows share its backing array and are capped
// at their end, and every outer level takes one allocation. The caller
// converts it to the nested type it knows, e.g. *(*[][]float32)(unsafe.Pointer(&s)).
// An empty tensor gives a non-nil empty slice. t.Shape must hold at least
// one non-negative dimension, and its product must be len(t.Data).
func Nest[E Element](t Tensor[E]) Slice {
	data := t.Data[:len(t.Data):len(t.Data)]
	if data == nil {
		data = []E{}
	}
	rank := len(t.Shape)
	if rank == 1 {
		return Slice{Data: unsafe.Pointer(unsafe.SliceData(data)), Len: len(data), Cap: len(data)}
	}
	var zero E
	esz := unsafe.Sizeof(zero)
	// The deepest level of headers: one per innermost row, over data.
	d := t.Shape[rank-1]
	level := make([]header, prod(t.Shape[:rank-1]))
	base := unsafe.Pointer(unsafe.SliceData(data))
	for i := range level {
		level[i] = header{Data: unsafe.Add(base, uintptr(i*d)*esz), Len: d, Cap: d}
	}
	// Each outer level holds headers over the level below.
	hsz := unsafe.Sizeof(header{})
	for depth := rank - 2; depth > 0; depth-- {
		n := t.Shape[depth]
		outer := make([]header, prod(t.Shape[:depth]))
		lb := unsafe.Pointer(unsafe.SliceData(level))
		for i := range outer {
			outer[i] = header{Data: unsafe.Add(lb, uintptr(i*n)*hsz), Len: n, Cap: n}
		}
		level = outer
	}
	return Slice{Data: unsafe.Pointer(unsafe.SliceData(level)), Len: len(level), Cap: len(level)}
}

func prod(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}

// Flatten reads a nested slice of the given rank (p points to it, e.g.
// unsafe.Pointer(&x) for x [][]float64) into a Tensor. A rank-1 slice is
// used in place; deeper ones are copied into one array. known is the
// number of leading dimensions that are known: a dimension below an empty
// list is reported as 0 and is unknown. A ragged value is an error naming
// the 1-based depth of the list that differs.
func Flatten[E Element](p unsafe.Pointer, rank int) (t Tensor[E], known int, err error) {
	shape := make([]int, rank)
	if rank == 1 {
		s := *(*[]E)(p)
		shape[0] = len(s)
		return Tensor[E]{Data: s, Shape: shape}, 1, nil
	}
	// Room for every value, from the first list at each depth (exact for a
	// rectangular value).
	est := 1
	h := *(*header)(p)
	for d := range rank {
		est *= h.Len
		if h.Len == 0 || d == rank-1 {
			break
		}
		h = *(*header)(h.Data)
	}
	data := make([]E, 0, est)
	var walk func(h header, depth int) error
	walk = func(h header, depth int) error {
		if depth >= known {
			shape[depth] = h.Len
			known = depth + 1
		} else if shape[depth] != h.Len {
			return fmt.Errorf("a list at depth %d has %d items, another %d", depth+1, h.Len, shape[depth])
		}
		if depth == rank-1 {
			if h.Len > 0 {
				data = append(data, unsafe.Slice((*E)(h.Data), h.Len)...)
			}
			return nil
		}
		rows := unsafe.Slice((*header)(h.Data), h.Len)
		for _, r := range rows {
			if err := walk(r, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(*(*header)(p), 0); err != nil {
		return Tensor[E]{}, 0, err
	}
	return Tensor[E]{Data: data, Shape: shape}, known, nil
}

package ndarray

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/gobento/bento/internal/codec"
)

// ndParser reads a JSON nested array of known depth without building an
// intermediate tree.
type ndParser struct {
	data  []byte
	pos   int
	n     int   // expected depth
	shape []int // discovered dimensions, -1 while unknown
	add   func(scalar) error
	// needInt is set when values may go to an integer type.
	needInt bool
	// maxItems, when > 0, stops the parse past that many top-level items.
	maxItems int
}

func (ps *ndParser) skipSpace() {
	for ps.pos < len(ps.data) {
		switch ps.data[ps.pos] {
		case ' ', '\t', '\n', '\r':
			ps.pos++
		default:
			return
		}
	}
}

// array reads a list at depth (0-based); ps.pos is at its '['.
func (ps *ndParser) array(depth int) error {
	ps.pos++ // '['
	count := 0
	ps.skipSpace()
	if ps.pos < len(ps.data) && ps.data[ps.pos] == ']' {
		ps.pos++
		return ps.setDim(depth, 0)
	}
	for {
		ps.skipSpace()
		if ps.pos >= len(ps.data) {
			return errors.New("unexpected end of input inside an array")
		}
		c := ps.data[ps.pos]
		if depth < ps.n-1 {
			if c != '[' {
				return fmt.Errorf("expected a list at depth %d (offset %d), got %s: the input must be a %d-dimensional array", depth+2, ps.pos, describeToken(c), ps.n)
			}
			if err := ps.array(depth + 1); err != nil {
				return err
			}
		} else {
			if c == '[' {
				return fmt.Errorf("found a list at depth %d (offset %d): the input must be a %d-dimensional array", depth+2, ps.pos, ps.n)
			}
			s, err := ps.scalar()
			if err != nil {
				return err
			}
			if err := ps.add(s); err != nil {
				return fmt.Errorf("at offset %d: %w", ps.pos, err)
			}
		}
		count++
		if depth == 0 && ps.maxItems > 0 && count > ps.maxItems {
			return codec.ErrTooManyItems
		}
		ps.skipSpace()
		if ps.pos >= len(ps.data) {
			return errors.New("unexpected end of input inside an array")
		}
		switch ps.data[ps.pos] {
		case ',':
			ps.pos++
		case ']':
			ps.pos++
			return ps.setDim(depth, count)
		default:
			return fmt.Errorf("expected ',' or ']' at offset %d, got %s", ps.pos, describeToken(ps.data[ps.pos]))
		}
	}
}

func (ps *ndParser) setDim(depth, count int) error {
	switch ps.shape[depth] {
	case -1:
		ps.shape[depth] = count
	case count:
	default:
		return fmt.Errorf("ragged array: lists at depth %d have %d and %d items; every list at the same depth must have the same length", depth+1, ps.shape[depth], count)
	}
	return nil
}

func describeToken(c byte) string {
	switch {
	case c == '[':
		return "a list"
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return strconv.QuoteRune(rune(c))
}

var (
	tokTrue  = []byte("true")
	tokFalse = []byte("false")
)

// scalar reads a number or boolean.
func (ps *ndParser) scalar() (scalar, error) {
	rest := ps.data[ps.pos:]
	switch {
	case bytes.HasPrefix(rest, tokTrue):
		ps.pos += len(tokTrue)
		return scalar{c: cBool, b: true}, nil
	case bytes.HasPrefix(rest, tokFalse):
		ps.pos += len(tokFalse)
		return scalar{c: cBool, b: false}, nil
	}
	start := ps.pos
	end, isInt := scanNumber(ps.data, start)
	if end == start {
		return scalar{}, fmt.Errorf("expected a number at offset %d, got %s", start, describeToken(ps.data[start]))
	}
	ps.pos = end
	return parseNumber(ps.data[start:end], isInt, ps.needInt)
}

// scanNumber returns the end of the JSON number starting at i (i itself
// when there is none) and whether it has no fraction or exponent.
func scanNumber(b []byte, i int) (end int, isInt bool) {
	start := i
	digits := func() int {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return start, false
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return start, false
		}
		isInt = false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return start, false
		}
		isInt = false
	}
	return i, isInt
}

// parseNumber reads a JSON number token. Integers, including ones written
// with a fraction or exponent such as 2.0 or 1e3, are kept exact; any other
// number is a float that no integer type can hold.
//
// needInt says whether the value may go to an integer type; when it does
// not, numbers written with a fraction or exponent are simply floats. (The
// string conversions below do not allocate: strconv does not keep them.)
func parseNumber(tok []byte, isInt, needInt bool) (scalar, error) {
	// The token is read in place: string(tok) would copy every number of
	// the array to the heap (strconv's errors keep it). The request body
	// outlives the parse and is never written.
	str := unsafe.String(unsafe.SliceData(tok), len(tok))
	if isInt {
		if v, err := strconv.ParseInt(str, 10, 64); err == nil {
			return scalar{c: cInt, i: v}, nil
		}
		if v, err := strconv.ParseUint(str, 10, 64); err == nil {
			return scalar{c: cUint, u: v}, nil
		}
	} else if needInt {
		if s, ok := tokenInteger(str); ok {
			return s, nil
		}
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return scalar{}, fmt.Errorf("number %s is out of range", codec.Truncate(string(tok), 40))
	}
	return scalar{c: cFloat, f: f, noInt: true}, nil
}

// tokenInteger reads a valid JSON number token that has a fraction or an
// exponent as an exact integer, if it is one within the int64 or uint64
// range.
func tokenInteger(tok string) (scalar, bool) {
	neg := tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	mant, exp := tok, 0
	if i := strings.IndexAny(tok, "eE"); i >= 0 {
		mant = tok[:i]
		e, err := strconv.Atoi(tok[i+1:])
		if err != nil || e > 1e6 || e < -1e6 {
			e = 1e6 // absurd exponent: huge, tiny or zero; only zero is an integer
		}
		exp = e
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	digits := intPart + frac
	point := len(intPart) + exp // the decimal point sits before digits[point]
	trimmed := strings.TrimLeft(digits, "0")
	point -= len(digits) - len(trimmed)
	digits = strings.TrimRight(trimmed, "0")
	switch {
	case digits == "":
		return scalar{c: cInt}, true
	case point < len(digits) || point > 20:
		return scalar{}, false // a fraction, or more than 20 digits
	}
	text := digits + strings.Repeat("0", point-len(digits))
	if neg {
		text = "-" + text
	}
	if v, err := strconv.ParseInt(text, 10, 64); err == nil {
		return scalar{c: cInt, i: v}, true
	}
	if v, err := strconv.ParseUint(text, 10, 64); err == nil {
		return scalar{c: cUint, u: v}, true
	}
	return scalar{}, false
}

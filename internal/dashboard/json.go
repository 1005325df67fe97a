package dashboard

import (
	"encoding/json"
	"math"
	"strconv"
)

// nums encodes float32 values as JSON numbers, NaN and infinities as null.
type nums []float32

// MarshalJSON implements json.Marshaler.
func (n nums) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(n)*6)
	b = append(b, '[')
	for i, v := range n {
		if i > 0 {
			b = append(b, ',')
		}
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, f, 'g', 6, 32)
	}
	return append(b, ']'), nil
}

// fnum encodes a float64 as a JSON number, NaN and infinities as null.
type fnum float64

// MarshalJSON implements json.Marshaler.
func (f fnum) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', 6, 64), nil
}

// Data is the JSON document of the data endpoint.
type Data struct {
	// Epoch identifies one run of the sampler: when it changes, the
	// sampler restarted and earlier points are gone.
	Epoch int64 `json:"epoch"`
	// Seq is the number of samples taken; pass it as since= to get only
	// newer ones.
	Seq      int64   `json:"seq"`
	Interval float64 `json:"interval_s"`
	Window   float64 `json:"window_s"`
	Points   int     `json:"points"`
	// Times are the sample times (Unix milliseconds) of the points below.
	Times  []int64     `json:"t"`
	Groups []dataGroup `json:"groups"`
	Custom []customRow `json:"custom"`
	// CustomOmitted counts the custom series beyond MaxCustom;
	// LinesOmitted the chart lines beyond MaxLines.
	CustomOmitted int    `json:"custom_omitted"`
	LinesOmitted  int    `json:"lines_omitted"`
	Error         string `json:"error,omitempty"`
}

type dataGroup struct {
	Kind   string          `json:"kind"`
	Name   string          `json:"name"`
	Method string          `json:"method,omitempty"`
	Lines  map[string]nums `json:"lines"`
	Dist   [][2]fnum       `json:"dist,omitempty"`
}

// json returns the document of the samples after since (all kept ones
// when since is 0 or older than the ring).
func (s *sampler) json(epoch, since int64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := int64(s.o.Points)
	first := max(since, s.seq-p, 0)
	d := Data{Epoch: epoch, Seq: s.seq, Interval: s.o.Interval.Seconds(),
		Window: float64(s.o.Window) * s.o.Interval.Seconds(), Points: s.o.Points,
		Times: make([]int64, 0, s.seq-first), Custom: s.custom,
		CustomOmitted: s.dropCust, LinesOmitted: s.dropLines, Error: s.lastErr}
	for q := first; q < s.seq; q++ {
		d.Times = append(d.Times, s.times[q%p])
	}
	for _, gk := range s.gorder {
		g := s.groups[gk]
		dg := dataGroup{Kind: g.kind, Name: g.name, Method: g.extra, Lines: make(map[string]nums, len(g.lines))}
		for name, l := range g.lines {
			v := make(nums, 0, s.seq-first)
			for q := first; q < s.seq; q++ {
				v = append(v, l.vals[q%p])
			}
			dg.Lines[name] = v
		}
		for _, b := range g.dist {
			dg.Dist = append(dg.Dist, [2]fnum{fnum(b[0]), fnum(b[1])})
		}
		d.Groups = append(d.Groups, dg)
	}
	if d.Custom == nil {
		d.Custom = []customRow{}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return []byte(`{"error":"encoding failed"}`)
	}
	return b
}

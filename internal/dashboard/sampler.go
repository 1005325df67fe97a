package dashboard

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// quantiles drawn for every latency histogram.
var quantiles = [...]struct {
	name string
	q    float64
}{{"p50", 0.5}, {"p95", 0.95}, {"p99", 0.99}}

// window keeps the last Window+1 snapshots of a group of cumulative values
// (counters, or a histogram's bucket counts followed by its count and sum).
type window struct {
	upper []float64   // histogram upper bounds, nil for counters
	snaps [][]float64 // ring indexed by sample number
	seen  []int64     // sample number of each snapshot, -1 for none
}

// line is one chart line: a value per sample, NaN where none.
type line struct {
	vals []float32
}

// group is the lines of one chart subject (an API, a runner method, a
// runner, the process), in the JSON document.
type group struct {
	kind  string // "api", "method", "runner", "process"
	name  string
	extra string // the method name of a "method" group
	lines map[string]*line
	order []string
	dist  [][2]float64 // batch size distribution over the window: le, count
}

// customRow is one custom series listed with its current values.
type customRow struct {
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Labels [][2]string     `json:"labels"`
	Value  *fnum           `json:"value,omitempty"`
	Rate   *fnum           `json:"rate,omitempty"`
	Q      map[string]fnum `json:"q,omitempty"`
}

// sampler holds the samples. Its methods are safe for concurrent use.
type sampler struct {
	o Options

	mu        sync.Mutex
	seq       int64 // samples taken; the latest is seq-1
	times     []int64
	windows   map[string]*window
	groups    map[string]*group
	gorder    []string
	nLines    int
	dropLines int
	custom    []customRow
	dropCust  int
	lastErr   string
}

func newSampler(o Options) *sampler {
	return &sampler{
		o:       o,
		times:   make([]int64, o.Points),
		windows: map[string]*window{},
		groups:  map[string]*group{},
	}
}

// sample gathers the registry once and records it as taken at now.
func (s *sampler) sample(now time.Time) {
	fams, err := s.o.Gatherer.Gather()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr = ""
	if err != nil {
		s.lastErr = err.Error()
	}
	seq := s.seq
	s.times[seq%int64(s.o.Points)] = now.UnixMilli()
	// clear this sample's slot in every line: subjects that disappear get
	// NaN rather than the value of 15 minutes ago.
	for _, g := range s.groups {
		for _, l := range g.lines {
			l.vals[seq%int64(s.o.Points)] = float32(math.NaN())
		}
	}
	c := collect{s: s, seq: seq, now: now}
	c.families(fams)
	// forget the windows of series gone for a whole window
	for k, w := range s.windows {
		latest := int64(-1)
		for _, q := range w.seen {
			latest = max(latest, q)
		}
		if latest < seq-int64(s.o.Window) {
			delete(s.windows, k)
		}
	}
	s.seq++
}

// collect is one sample in progress.
type collect struct {
	s   *sampler
	seq int64
	now time.Time
}

// windowed stores vals (cumulative) under key and returns the increase over
// the window and the number of seconds it spans; ok is false until two
// snapshots exist. A counter that went down (a reset) restarts the window.
func (s *sampler) windowed(key string, upper, vals []float64, seq int64, now time.Time) (inc []float64, secs float64, ok bool) {
	w := s.windows[key]
	n := int64(s.o.Window + 1)
	if w == nil {
		if len(s.windows) >= s.o.MaxLines+s.o.MaxCustom {
			return nil, 0, false
		}
		w = &window{snaps: make([][]float64, n), seen: make([]int64, n)}
		for i := range w.seen {
			w.seen[i] = -1
		}
		s.windows[key] = w
	}
	if len(upper) > 0 && !sameFloats(w.upper, upper) {
		w.upper = append(w.upper[:0], upper...)
		for i := range w.seen {
			w.seen[i] = -1
		}
	}
	i := seq % n
	w.snaps[i] = append(w.snaps[i][:0], vals...)
	w.seen[i] = seq
	// the oldest snapshot still in the window
	var old []float64
	oldSeq := int64(-1)
	for age := n - 1; age >= 1; age-- {
		j := (seq - age) % n
		if seq-age >= 0 && w.seen[j] == seq-age && len(w.snaps[j]) == len(vals) {
			old, oldSeq = w.snaps[j], seq-age
			break
		}
	}
	if old == nil {
		return nil, 0, false
	}
	secs = float64(s.times[seq%int64(s.o.Points)]-s.times[oldSeq%int64(s.o.Points)]) / 1000
	if secs <= 0 {
		return nil, 0, false
	}
	inc = make([]float64, len(vals))
	for k := range vals {
		d := vals[k] - old[k]
		if d < 0 { // counter reset
			d = vals[k]
		}
		inc[k] = d
	}
	return inc, secs, true
}

func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

// set records v on line name of the group (kind, name, extra).
func (s *sampler) set(kind, name, extra, lname string, v float64, seq int64) {
	gk := kind + "\x00" + name + "\x00" + extra
	g := s.groups[gk]
	if g == nil {
		g = &group{kind: kind, name: name, extra: extra, lines: map[string]*line{}}
		s.groups[gk] = g
		s.gorder = append(s.gorder, gk)
		sort.Strings(s.gorder)
	}
	l := g.lines[lname]
	if l == nil {
		if s.nLines >= s.o.MaxLines {
			s.dropLines++
			return
		}
		l = &line{vals: make([]float32, s.o.Points)}
		for i := range l.vals {
			l.vals[i] = float32(math.NaN())
		}
		g.lines[lname] = l
		g.order = append(g.order, lname)
		s.nLines++
	}
	l.vals[seq%int64(s.o.Points)] = float32(v)
}

func (s *sampler) groupOf(kind, name, extra string) *group {
	return s.groups[kind+"\x00"+name+"\x00"+extra]
}

// label returns the value of label name of m.
func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// histVals appends m's cumulative bucket counts (at most MaxBuckets, the
// rest merged into +Inf), count and sum to dst, and returns the bounds.
func histVals(h *dto.Histogram) (upper, vals []float64) {
	bs := h.GetBucket()
	if len(bs) > MaxBuckets-1 {
		bs = bs[:MaxBuckets-1]
	}
	for _, b := range bs {
		if math.IsInf(b.GetUpperBound(), 1) {
			continue
		}
		upper = append(upper, b.GetUpperBound())
		vals = append(vals, float64(b.GetCumulativeCount()))
	}
	upper = append(upper, math.Inf(1))
	vals = append(vals, float64(h.GetSampleCount()), float64(h.GetSampleCount()), h.GetSampleSum())
	return upper, vals
}

// addInto adds src into the slice stored at m[key].
func addInto(m map[string][]float64, key string, src []float64) {
	dst := m[key]
	if dst == nil {
		m[key] = append([]float64(nil), src...)
		return
	}
	if len(dst) != len(src) {
		return
	}
	for i := range src {
		dst[i] += src[i]
	}
}

func statusClass(code string) int {
	if len(code) == 3 && code[0] >= '1' && code[0] <= '5' {
		return int(code[0] - '0')
	}
	return 5
}

// families turns one gathering into line values and custom rows.
func (c *collect) families(fams []*dto.MetricFamily) {
	s := c.s
	an, rn := s.o.APINamespace, s.o.RunnerNamespace
	req := map[string][]float64{}  // api endpoint -> total, 4xx, 5xx
	hist := map[string][]float64{} // "api\x00ep" / "<fam>\x00runner\x00method" -> buckets, count, sum
	upper := map[string][]float64{}
	s.custom = s.custom[:0]
	s.dropCust = 0
	for _, f := range fams {
		name := f.GetName()
		switch name {
		case an + "_request_total", rn + "_request_total":
			isAPI := name == an+"_request_total"
			for _, m := range f.GetMetric() {
				key := apiKey(m, isAPI)
				v := m.GetCounter().GetValue()
				vals := []float64{v, 0, 0}
				switch statusClass(label(m, "http_response_code")) {
				case 4:
					vals[1] = v
				case 5:
					vals[2] = v
				}
				addInto(req, key, vals)
			}
		case an + "_request_in_progress", rn + "_request_in_progress":
			isAPI := name == an+"_request_in_progress"
			inprog := map[string]float64{}
			for _, m := range f.GetMetric() {
				inprog[apiKey(m, isAPI)] += m.GetGauge().GetValue()
			}
			for k, v := range inprog {
				kind, n, extra := splitKey(k)
				s.set(kind, n, extra, "inprog", v, c.seq)
			}
		case an + "_request_duration_seconds", rn + "_request_duration_seconds":
			isAPI := name == an+"_request_duration_seconds"
			for _, m := range f.GetMetric() {
				u, vals := histVals(m.GetHistogram())
				k := "lat\x00" + apiKey(m, isAPI)
				upper[k] = u
				addInto(hist, k, vals)
			}
		case rn + "_adaptive_batch_size", rn + "_queue_wait_seconds", rn + "_batch_duration_seconds":
			short := strings.TrimPrefix(name, rn+"_")
			for _, m := range f.GetMetric() {
				u, vals := histVals(m.GetHistogram())
				k := short + "\x00" + methodKey(m)
				upper[k] = u
				addInto(hist, k, vals)
			}
		case rn + "_batch_dispatch_total":
			per := map[string][]float64{}
			for _, m := range f.GetMetric() {
				per["dispatch_"+label(m, "reason")+"\x00"+methodKey(m)] = []float64{m.GetCounter().GetValue()}
			}
			c.rates(per, "")
		case rn + "_shed_total":
			per := map[string][]float64{}
			for _, m := range f.GetMetric() {
				per["shed\x00"+methodKey(m)] = []float64{m.GetCounter().GetValue()}
			}
			c.rates(per, "")
		case rn + "_workers", rn + "_workers_busy":
			ln := strings.TrimPrefix(name, rn+"_")
			for _, m := range f.GetMetric() {
				s.set("runner", label(m, "runner_name"), "", ln, m.GetGauge().GetValue(), c.seq)
			}
		case rn + "_queued_items":
			for _, m := range f.GetMetric() {
				s.set("method", label(m, "runner_name"), label(m, "method_name"), "queued", m.GetGauge().GetValue(), c.seq)
			}
		case "process_cpu_seconds_total":
			c.rates(map[string][]float64{"cpu\x00process\x00process\x00": {sumCounters(f)}}, "")
		case "process_resident_memory_bytes":
			s.set("process", "process", "", "rss", sumGauges(f), c.seq)
		case "go_goroutines":
			s.set("process", "process", "", "goroutines", sumGauges(f), c.seq)
		case "go_gc_duration_seconds":
			var sum float64
			for _, m := range f.GetMetric() {
				sum += m.GetSummary().GetSampleSum()
			}
			c.rates(map[string][]float64{"gc\x00process\x00process\x00": {sum}}, "")
		default:
			if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") ||
				strings.HasPrefix(name, "gobento_") || strings.HasPrefix(name, an+"_") || strings.HasPrefix(name, rn+"_") {
				continue
			}
			c.customFamily(f)
		}
	}
	for k, v := range req {
		inc, secs, ok := s.windowed("req\x00"+k, nil, v, c.seq, c.now)
		if !ok {
			continue
		}
		kind, n, extra := splitKey(k)
		s.set(kind, n, extra, "rps", inc[0]/secs, c.seq)
		if kind == "api" {
			r4, r5 := 0.0, 0.0
			if inc[0] > 0 {
				r4, r5 = inc[1]/inc[0], inc[2]/inc[0]
			}
			s.set(kind, n, extra, "err4xx", r4, c.seq)
			s.set(kind, n, extra, "err5xx", r5, c.seq)
		}
	}
	for k, v := range hist {
		u := upper[k]
		inc, secs, ok := s.windowed("hist\x00"+k, u, v, c.seq, c.now)
		if !ok {
			continue
		}
		fam, rest, _ := strings.Cut(k, "\x00")
		kind, n, extra := splitKey(rest)
		nb := len(u)
		count, sum := inc[nb], inc[nb+1]
		switch fam {
		case "lat", "queue_wait_seconds", "batch_duration_seconds":
			prefix := map[string]string{"lat": "", "queue_wait_seconds": "qwait_", "batch_duration_seconds": "batch_"}[fam]
			for _, q := range quantiles {
				s.set(kind, n, extra, prefix+q.name, quantile(q.q, u, inc[:nb]), c.seq)
			}
		case "adaptive_batch_size":
			mean := math.NaN()
			if count > 0 {
				mean = sum / count
			}
			s.set(kind, n, extra, "batch_size_mean", mean, c.seq)
			s.set(kind, n, extra, "batches_per_s", count/secs, c.seq)
			if g := s.groupOf(kind, n, extra); g != nil {
				g.dist = g.dist[:0]
				prev := 0.0
				for i := range nb {
					g.dist = append(g.dist, [2]float64{u[i], inc[i] - prev})
					prev = inc[i]
				}
			}
		}
	}
}

// rates records, for each key "<line>\x00<kind>\x00<name>\x00<extra>", the
// per-second rate of its counter over the window.
func (c *collect) rates(per map[string][]float64, _ string) {
	for k, v := range per {
		inc, secs, ok := c.s.windowed("rate\x00"+k, nil, v, c.seq, c.now)
		if !ok {
			continue
		}
		lname, rest, _ := strings.Cut(k, "\x00")
		kind, n, extra := splitKey(rest)
		c.s.set(kind, n, extra, lname, inc[0]/secs, c.seq)
	}
}

// apiKey is "api\x00<endpoint>\x00" for an API series and
// "method\x00<runner>\x00<method>" for a runner request series.
func apiKey(m *dto.Metric, isAPI bool) string {
	if isAPI {
		ep := label(m, "endpoint")
		if ep == "" {
			ep = label(m, "api_name")
		}
		return "api\x00" + ep + "\x00"
	}
	return "method\x00" + label(m, "runner_name") + "\x00" + strings.TrimPrefix(label(m, "endpoint"), "/")
}

func methodKey(m *dto.Metric) string {
	return "method\x00" + label(m, "runner_name") + "\x00" + label(m, "method_name")
}

func splitKey(k string) (kind, name, extra string) {
	kind, rest, _ := strings.Cut(k, "\x00")
	name, extra, _ = strings.Cut(rest, "\x00")
	return kind, name, extra
}

func sumCounters(f *dto.MetricFamily) float64 {
	var v float64
	for _, m := range f.GetMetric() {
		v += m.GetCounter().GetValue()
	}
	return v
}

func sumGauges(f *dto.MetricFamily) float64 {
	var v float64
	for _, m := range f.GetMetric() {
		v += m.GetGauge().GetValue()
	}
	return v
}

// customFamily lists f's series, up to MaxCustom in all.
func (c *collect) customFamily(f *dto.MetricFamily) {
	s := c.s
	for _, m := range f.GetMetric() {
		if len(s.custom) >= s.o.MaxCustom {
			s.dropCust++
			continue
		}
		row := customRow{Name: f.GetName(), Type: strings.ToLower(f.GetType().String())}
		var id strings.Builder
		id.WriteString(row.Name)
		for _, lp := range m.GetLabel() {
			v := lp.GetValue()
			if len(v) > maxLabelLen {
				v = v[:maxLabelLen] + "…"
			}
			row.Labels = append(row.Labels, [2]string{lp.GetName(), v})
			id.WriteString("\x00" + lp.GetName() + "=" + v)
		}
		key := "custom\x00" + id.String()
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			v := m.GetCounter().GetValue()
			row.Value = ptr(v)
			if inc, secs, ok := s.windowed(key, nil, []float64{v}, c.seq, c.now); ok {
				row.Rate = ptr(inc[0] / secs)
			}
		case dto.MetricType_GAUGE:
			row.Value = ptr(m.GetGauge().GetValue())
		case dto.MetricType_UNTYPED:
			row.Value = ptr(m.GetUntyped().GetValue())
		case dto.MetricType_HISTOGRAM:
			u, vals := histVals(m.GetHistogram())
			row.Value = ptr(vals[len(u)])
			q := map[string]fnum{}
			cum := vals[:len(u)]
			if inc, _, ok := s.windowed(key, u, vals, c.seq, c.now); ok && inc[len(u)] > 0 {
				cum = inc[:len(u)]
			}
			for _, qq := range quantiles {
				if v := quantile(qq.q, u, cum); !math.IsNaN(v) {
					q[qq.name] = fnum(v)
				}
			}
			row.Q = q
		case dto.MetricType_SUMMARY:
			sm := m.GetSummary()
			row.Value = ptr(float64(sm.GetSampleCount()))
			q := map[string]fnum{}
			for _, qv := range sm.GetQuantile() {
				if !math.IsNaN(qv.GetValue()) {
					q["p"+strconv.FormatFloat(qv.GetQuantile()*100, 'f', -1, 64)] = fnum(qv.GetValue())
				}
			}
			row.Q = q
		}
		s.custom = append(s.custom, row)
	}
}

func ptr(v float64) *fnum { f := fnum(v); return &f }

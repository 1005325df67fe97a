package instrument

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// Status codes are cached in a flat array indexed by code-minCode. net/http
// accepts 100–999; anything outside is counted as 500, and 0 (nothing
// written, which net/http sends as 200) as 200.
const (
	minCode  = 100
	maxCode  = 999
	numCodes = maxCode - minCode + 1
)

type codeChildren struct {
	total    prometheus.Counter
	duration prometheus.Observer
}

// Route is one declared API's (or runner method's) in-progress gauge and its
// per-status-code counter and histogram children. A nil *Route is valid and
// ignores every call.
type Route struct {
	inFlight prometheus.Gauge
	phases   *phaseChildren // an API's decode/encode/body-size histograms; nil otherwise
	newCode  func(code string) *codeChildren
	mu       sync.Mutex // serialises creation of new codes' children
	codes    [numCodes]atomic.Pointer[codeChildren]
}

// newRoute returns a route whose children mk creates on a code's first use.
// For each code in initial it calls precreate, which must create only the
// counter child: a zero counter makes rate() and error ratios answer 0, but a
// zero histogram child makes every histogram_quantile over the route answer a
// NaN series for a code that never happened.
func newRoute(inFlight prometheus.Gauge, initial []int, precreate func(code string), mk func(code string) *codeChildren) *Route {
	r := &Route{inFlight: inFlight, newCode: mk}
	for _, c := range initial {
		precreate(itoa(c))
	}
	return r
}

type phaseChildren struct {
	reqBytes, respBytes, decode, encode prometheus.Observer
}

// Phases records where an API call's time went: the request body it
// decoded (reqBytes) and how long that took, and, once it answered
// (encoded > 0 or respBytes > 0), the answer's size and encoding time. It
// does nothing on a nil Route or one that is not an API's.
func (r *Route) Phases(reqBytes int, decode time.Duration, respBytes int, encode time.Duration) {
	if r == nil || r.phases == nil {
		return
	}
	p := r.phases
	p.reqBytes.Observe(float64(reqBytes))
	p.decode.Observe(decode.Seconds())
	if encode > 0 || respBytes > 0 {
		p.respBytes.Observe(float64(respBytes))
		p.encode.Observe(encode.Seconds())
	}
}

// Start marks a request in progress and returns its start time, to be passed
// to [Route.Done]. On a nil Route it only returns time.Now().
func (r *Route) Start() time.Time {
	if r == nil {
		return time.Now()
	}
	r.inFlight.Inc()
	return time.Now()
}

// Done ends a request begun with [Route.Start]: it lowers the in-progress
// gauge and counts and times the request under code, the status the client
// received. Each Start must be matched by exactly one Done.
func (r *Route) Done(start time.Time, code int) {
	if r == nil {
		return
	}
	c := r.child(code)
	c.duration.Observe(time.Since(start).Seconds())
	c.total.Inc()
	r.inFlight.Dec()
}

// Refused counts and times, under code, a request that was refused before
// it was started with [Route.Start] (it never showed as in progress).
func (r *Route) Refused(start time.Time, code int) {
	if r == nil {
		return
	}
	c := r.child(code)
	c.duration.Observe(time.Since(start).Seconds())
	c.total.Inc()
}

// DoneWithExemplar is [Route.Done] that also attaches exemplar (for example
// {"request_id": id}) to the duration and count samples, for OpenMetrics
// scrapes. Exemplar label names and values together must not exceed 128
// characters; an invalid exemplar is dropped (client_golang would panic)
// and the request is counted as by Done. Unlike Done it allocates.
func (r *Route) DoneWithExemplar(start time.Time, code int, exemplar prometheus.Labels) {
	if r == nil {
		return
	}
	if !validExemplar(exemplar) {
		r.Done(start, code)
		return
	}
	c := r.child(code)
	d := time.Since(start).Seconds()
	if eo, ok := c.duration.(prometheus.ExemplarObserver); ok {
		eo.ObserveWithExemplar(d, exemplar)
	} else {
		c.duration.Observe(d)
	}
	if ea, ok := c.total.(prometheus.ExemplarAdder); ok {
		ea.AddWithExemplar(1, exemplar)
	} else {
		c.total.Inc()
	}
	r.inFlight.Dec()
}

// validExemplar applies client_golang's exemplar rules: valid label names,
// UTF-8 values, at most 128 runes in all.
func validExemplar(l prometheus.Labels) bool {
	runes := 0
	for name, value := range l {
		if !validLabelName(name) || !utf8.ValidString(value) {
			return false
		}
		runes += utf8.RuneCountInString(name) + utf8.RuneCountInString(value)
	}
	return runes <= prometheus.ExemplarMaxRunes
}

func validLabelName(n string) bool {
	if n == "" || strings.HasPrefix(n, "__") {
		return false
	}
	for i := 0; i < len(n); i++ {
		b := n[i]
		if !(b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || i > 0 && b >= '0' && b <= '9') {
			return false
		}
	}
	return true
}

func (r *Route) child(code int) *codeChildren {
	switch {
	case code == 0:
		code = 200
	case code < minCode || code > maxCode:
		code = 500
	}
	if c := r.codes[code-minCode].Load(); c != nil {
		return c
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.codes[code-minCode].Load(); c != nil {
		return c
	}
	c := r.newCode(itoa(code))
	r.codes[code-minCode].Store(c)
	return c
}

// Batch is the batching metrics of one runner method. A nil *Batch ignores
// every call.
type Batch struct {
	sizeVec   *prometheus.HistogramVec // the runner's; labels worker_index, method_name
	method    string
	mu        sync.Mutex                            // serialises growth of sizes and others
	sizes     atomic.Pointer[[]prometheus.Observer] // by worker index; copy on write
	queueWait prometheus.Observer
	executed  prometheus.Observer
	dispatch  *prometheus.CounterVec // curried down to reason
	full      prometheus.Counter
	cost      prometheus.Counter
	deadline  prometheus.Counter
	drain     prometheus.Counter
	others    map[string]prometheus.Counter // reasons other than the four; guarded by mu
	shed      prometheus.Counter
}

// maxCachedWorker bounds the worker-index cache; larger indexes still work
// but take a lock.
const maxCachedWorker = 4096

// BatchSize records that worker workerIndex (1-based, as BentoML's
// worker_index label) dispatched a batch of n requests, in
// adaptive_batch_size.
func (b *Batch) BatchSize(workerIndex, n int) {
	if b == nil {
		return
	}
	if workerIndex < 0 {
		workerIndex = 0
	}
	if s := *b.sizes.Load(); workerIndex < len(s) && s[workerIndex] != nil {
		s[workerIndex].Observe(float64(n))
		return
	}
	b.sizeChild(workerIndex).Observe(float64(n))
}

func (b *Batch) sizeChild(workerIndex int) prometheus.Observer {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.sizes.Load()
	if workerIndex < len(old) && old[workerIndex] != nil {
		return old[workerIndex]
	}
	o := b.sizeVec.WithLabelValues(itoa(workerIndex), b.method)
	if workerIndex >= maxCachedWorker {
		return o // the vec's own map keeps it; rare and bounded by the caller
	}
	s := make([]prometheus.Observer, max(len(old), workerIndex+1))
	copy(s, old)
	s[workerIndex] = o
	b.sizes.Store(&s)
	return o
}

// QueueWait records how long one request waited in the queue before its batch
// was dispatched, in queue_wait_seconds.
func (b *Batch) QueueWait(d time.Duration) {
	if b == nil {
		return
	}
	b.queueWait.Observe(d.Seconds())
}

// Executed records how long the model took to run one dispatched batch, in
// batch_duration_seconds.
func (b *Batch) Executed(d time.Duration) {
	if b == nil {
		return
	}
	b.executed.Observe(d.Seconds())
}

// Dispatch counts one dispatched batch under reason, normally one of
// [ReasonFull], [ReasonCost], [ReasonDeadline] or [ReasonDrain]. Other
// values work but create a series each, so pass constants only.
func (b *Batch) Dispatch(reason string) {
	if b == nil {
		return
	}
	switch reason {
	case ReasonFull:
		b.full.Inc()
	case ReasonCost:
		b.cost.Inc()
	case ReasonDeadline:
		b.deadline.Inc()
	case ReasonDrain:
		b.drain.Inc()
	default:
		b.otherReason(reason).Inc()
	}
}

func (b *Batch) otherReason(reason string) prometheus.Counter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.others[reason]; ok {
		return c
	}
	if b.others == nil {
		b.others = make(map[string]prometheus.Counter)
	}
	c := b.dispatch.WithLabelValues(reason)
	b.others[reason] = c
	return c
}

// Shed counts n requests dropped because they could not meet max_latency, in
// shed_total.
func (b *Batch) Shed(n int) {
	if b == nil || n <= 0 {
		return
	}
	b.shed.Add(float64(n))
}

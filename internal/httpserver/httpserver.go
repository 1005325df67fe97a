// Package httpserver is gobento's HTTP front end: exact-match routing of the
// declared API routes, body limits, timeouts and concurrency limits, JSON
// error bodies, the health probes, /metrics, the OpenAPI document and the
// docs page. It knows nothing of Go types: APIs arrive type-erased as
// [Endpoint] values.
//
// # Request path
//
// Every API request is counted and timed under its declared route with the
// status the client receives; a request to any undeclared path is counted
// under the endpoint "<unmatched>" (see instrument.Unmatched), so scanners
// cannot create series. The probes, /metrics, /docs.json and the docs page
// are not API traffic and are not counted.
//
// Admission (max_concurrency), the deadline, panic recovery and error
// classification are the request path's policy, shared with the gRPC server
// in internal/invoke; this package reads bodies within their memory budget,
// answers a call that outlives its deadline (504) and writes answers under
// a write deadline.
package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/gobento/bento/internal/dashboard"
	"github.com/gobento/bento/internal/errs"
	"github.com/gobento/bento/internal/instrument"
	"github.com/gobento/bento/internal/invoke"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/swaggerui"
)

// swaggerAssets serves Swagger UI for the docs page.
var swaggerAssets = swaggerui.Handler()

// RequestIDHeader is set on every response.
const RequestIDHeader = "X-BentoML-Request-ID"

// canonicalRequestID is RequestIDHeader as net/http's Header map keys it.
var canonicalRequestID = http.CanonicalHeaderKey(RequestIDHeader)

// Endpoint is one API, type-erased.
type Endpoint struct {
	Name   string
	Route  string
	Doc    string
	Input  iospec.Spec
	Output iospec.Spec
	// Call decodes the payload, runs the API and encodes its result.
	Call func(ctx context.Context, p iospec.Payload) (iospec.Payload, error)
}

// Options configures [New]. The zero value of each field is documented.
type Options struct {
	ServiceName    string
	ServiceVersion string
	ServiceDoc     string
	Endpoints      []Endpoint
	// Metrics records API traffic; nil records nothing.
	Metrics *instrument.Set
	// Gatherer is served at /metrics; nil means no /metrics route (404).
	Gatherer prometheus.Gatherer
	// Timeout bounds each API call (504 after it); 0 means none.
	Timeout time.Duration
	// MaxConcurrency caps API calls in flight (429 beyond); 0 means no cap.
	MaxConcurrency int
	// MaxBodyBytes caps request bodies (413 beyond); 0 means 20 MiB.
	MaxBodyBytes int64
	// BodyMemoryLimit caps the body bytes held at once by every request
	// being read or served (503 beyond); 0 means 64 MiB.
	BodyMemoryLimit int64
	// WriteTimeout bounds the writing of one response; a client that does
	// not take it in time is cut off and the request counted as 499. 0
	// means 60 s.
	WriteTimeout time.Duration
	// LingerTimeout and LingerBytes bound the lingering close after an
	// early answer (413, 503) to a request whose body is still arriving;
	// 0 means 2 s and 64 MiB.
	LingerTimeout time.Duration
	LingerBytes   int64
	// Ready reports readiness for /readyz; nil means always ready.
	Ready func() bool
	// Log receives errors; nil means slog.Default().
	Log *slog.Logger
	// Exemplars attaches {request_id="<X-BentoML-Request-ID>"} exemplars to
	// the API duration and count samples.
	Exemplars bool
	// Tracing is on: a sampled request's exemplars are its server span's
	// {trace_id, span_id} (in place of the request id), and its API call
	// makes decode, API and encode spans.
	Tracing bool
	// Dashboard serves /dashboard and its assets (see dashboard.Owns); nil
	// means no dashboard (404).
	Dashboard http.Handler
}

// Defaults of the Options fields that are 0.
const (
	DefaultMaxBodyBytes    = 20 << 20
	DefaultBodyMemoryLimit = 64 << 20
	DefaultWriteTimeout    = 60 * time.Second
	DefaultLingerTimeout   = 2 * time.Second
	DefaultLingerBytes     = 64 << 20
)

// Handler serves a service over HTTP.
type Handler struct {
	o         Options
	log       *slog.Logger
	routes    map[string]*route
	unmatched *instrument.Route
	metrics   http.Handler
	openapi   []byte
	docsPage  []byte
	path      *invoke.Path // admission, deadline, recovery, classification
	bodyMem   atomic.Int64 // request-body bytes held (BodyMemoryLimit)
	lingering atomic.Int64 // connections in a lingering close

	bigBodyLimit int64 // the part of BodyMemoryLimit large bodies may use
}

type route struct {
	ep      Endpoint
	metrics *instrument.Route
	// lastExemplar is when (UnixNano) a trace exemplar was last attached.
	lastExemplar atomic.Int64
}

// exemplarEvery spaces the trace exemplars of one API: Prometheus keeps one
// exemplar per bucket per scrape, so attaching one to every request (about
// 15 allocations) would buy nothing.
const exemplarEvery = int64(100 * time.Millisecond)

// orDefault sets *v to def when it is zero or negative (unset).
func orDefault[T int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// New builds the handler. It fails if two endpoints share a route.
func New(o Options) (*Handler, error) {
	orDefault(&o.MaxBodyBytes, DefaultMaxBodyBytes)
	orDefault(&o.BodyMemoryLimit, DefaultBodyMemoryLimit)
	orDefault(&o.WriteTimeout, DefaultWriteTimeout)
	orDefault(&o.LingerTimeout, DefaultLingerTimeout)
	orDefault(&o.LingerBytes, DefaultLingerBytes)
	big := max(o.BodyMemoryLimit-smallReserve, o.MaxBodyBytes)
	h := &Handler{o: o, log: o.Log, routes: make(map[string]*route, len(o.Endpoints)), bigBodyLimit: big}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.path = invoke.New(invoke.Options{MaxConcurrency: o.MaxConcurrency, Timeout: o.Timeout,
		Log: h.log, Abort: http.ErrAbortHandler})
	for _, ep := range o.Endpoints {
		if _, dup := h.routes[ep.Route]; dup {
			return nil, fmt.Errorf("httpserver: duplicate route %q", ep.Route)
		}
		h.routes[ep.Route] = &route{ep: ep, metrics: o.Metrics.API(ep.Route)}
	}
	h.unmatched = o.Metrics.Unmatched()
	if o.Gatherer != nil {
		h.metrics = MetricsHandler(o.Gatherer, o.Metrics, h.log)
	}
	doc, err := buildOpenAPI(o)
	if err != nil {
		return nil, err
	}
	h.openapi = doc
	h.docsPage = buildDocsPage(o)
	return h, nil
}

// ServeHTTP routes one request.
//
// The API path (ServeHTTP, serveAPI, invoke.Do) keeps its stack frames small and
// leaves every error branch to separate functions: user code (a JSON
// decoder, a model) runs on top of these frames, and a connection
// goroutine whose stack the GC shrank between requests pays for a stack
// copy whenever a request needs more than it has. With large frames that
// happened on most JSON requests and cost about 3% of the server's CPU.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	idv := newRequestID()
	w.Header()[canonicalRequestID] = idv
	rt, ok := h.routes[r.URL.Path]
	if !ok {
		h.serveOther(w, r)
		return
	}
	start := rt.metrics.Start()
	code := h.serveAPI(w, r, rt, idv[0])
	switch {
	case h.o.Tracing && doneWithTrace(rt, start, code, r): // recorded with its span's ids
	case h.o.Exemplars:
		doneWithExemplar(rt, start, code, idv[0])
	default:
		rt.metrics.Done(start, code)
	}
	if code == errs.StatusClientClosed {
		// The client is gone (or half-closed mid-request): close the
		// connection instead of letting net/http send an empty 200.
		panic(http.ErrAbortHandler)
	}
}

// doneWithTrace records the request with its sampled span's ids as the
// exemplar, at most every exemplarEvery per API, and reports false
// (recording nothing) otherwise.
//
//go:noinline
func doneWithTrace(rt *route, start time.Time, code int, r *http.Request) bool {
	now, last := start.UnixNano(), rt.lastExemplar.Load()
	if now-last < exemplarEvery || !rt.lastExemplar.CompareAndSwap(last, now) {
		return false
	}
	sc := trace.SpanContextFromContext(r.Context())
	if !sc.IsSampled() {
		return false
	}
	rt.metrics.DoneWithExemplar(start, code, prometheus.Labels{"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String()})
	return true
}

//go:noinline
func doneWithExemplar(rt *route, start time.Time, code int, id string) {
	rt.metrics.DoneWithExemplar(start, code, prometheus.Labels{"request_id": id})
}

// serveOther answers the probes, /metrics, the docs and unknown paths.
//
//go:noinline
func (h *Handler) serveOther(w http.ResponseWriter, r *http.Request) {
	h.writeDeadline(w)
	path := r.URL.Path
	switch path {
	case "/livez", "/healthz":
		if h.probeMethod(w, r) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "\n")
		}
		return
	case "/readyz":
		if !h.probeMethod(w, r) {
			return
		}
		if h.o.Ready != nil && !h.o.Ready() {
			writeError(w, http.StatusServiceUnavailable, errs.TypeServiceUnavailable, "Runners are not ready.")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "\n")
		return
	case "/metrics":
		if h.metrics != nil {
			h.metrics.ServeHTTP(w, r)
			return
		}
	case "/docs.json":
		if h.probeMethod(w, r) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(h.openapi)
		}
		return
	case dashboard.PagePath, dashboard.JSPath, dashboard.CSSPath, dashboard.DataPath:
		if h.o.Dashboard != nil {
			h.o.Dashboard.ServeHTTP(w, r)
			return
		}
	case "/", "/docs":
		if h.probeMethod(w, r) {
			w.Header().Set("Content-Security-Policy", swaggerui.CSP)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(docsPageFor(h.docsPage, r))
		}
		return
	}
	if swaggerui.Owns(path) {
		swaggerAssets.ServeHTTP(w, r)
		return
	}
	start := h.unmatched.Start()
	writeError(w, http.StatusNotFound, errs.TypeNotFound, "Not Found: no API at "+strconv.Quote(errs.Clip(path, 200)))
	h.unmatched.Done(start, http.StatusNotFound)
}

// probeMethod allows GET and HEAD, answering 405 otherwise.
func (h *Handler) probeMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, http.StatusMethodNotAllowed, errs.TypeMethodNotAllowed, "Method Not Allowed: use GET")
	return false
}

// timeoutTimer answers 504 at a request's deadline when the API has not
// answered by then. Exactly one of the handler and the timer writes the
// response (claim); the mutex is held while writing, so the handler cannot
// return while the timer is still using the ResponseWriter. Timers are
// pooled: one that was stopped before firing is reused by a later request.
type timeoutTimer struct {
	t       *time.Timer
	mu      sync.Mutex
	written bool
	armed   bool

	// per request, set before the timer is armed
	w      http.ResponseWriter
	ctx    context.Context // the API's context (with the deadline), set by Watch
	client context.Context // the request's own context
	path   *invoke.Path

	writeTimeout time.Duration
}

var timeoutTimers sync.Pool

// newTimeout takes a (pooled) timer for one request; invoke.Do arms it
// through Watch once the request is admitted.
func newTimeout(w http.ResponseWriter, client context.Context, path *invoke.Path, writeTimeout time.Duration) *timeoutTimer {
	tt, _ := timeoutTimers.Get().(*timeoutTimer)
	if tt == nil {
		tt = &timeoutTimer{}
		tt.t = time.AfterFunc(time.Hour, tt.fire)
		tt.t.Stop()
	}
	tt.written, tt.armed = false, false
	tt.w, tt.client, tt.path, tt.writeTimeout = w, client, path, writeTimeout
	return tt
}

var _ invoke.Watcher = (*timeoutTimer)(nil)

// Watch arms the timer for the API's context ctx.
func (tt *timeoutTimer) Watch(ctx context.Context) {
	tt.ctx, tt.armed = ctx, true
	tt.t.Reset(tt.path.Timeout())
}

func (tt *timeoutTimer) fire() {
	// ctx's own timer fires at the same deadline; wait for it, so that
	// whatever the API waits on sees DeadlineExceeded before the client
	// sees the 504 (and perhaps closes the connection).
	<-tt.ctx.Done()
	if !errors.Is(tt.ctx.Err(), context.DeadlineExceeded) || tt.client.Err() != nil {
		return
	}
	// The handler holds mu only while it writes the answer it claimed, so
	// a held lock means there is nothing left to do: never wait for it (the
	// handler may be writing to a client that does not read).
	if !tt.mu.TryLock() {
		return
	}
	if tt.written {
		tt.mu.Unlock()
		return
	}
	tt.written = true
	defer tt.mu.Unlock()
	setWriteDeadline(tt.w, tt.writeTimeout)
	tt.w.Header().Set("Connection", "close")
	f := tt.path.Expired()
	writeError(tt.w, f.Status, f.Type, f.Msg)
	http.NewResponseController(tt.w).Flush()
}

// claim reports whether the caller may write the response. On true it
// returns with tt.mu held; the caller must unlock it when done writing.
func (tt *timeoutTimer) claim() bool {
	tt.mu.Lock()
	if tt.written {
		tt.mu.Unlock()
		return false
	}
	tt.written = true
	return true
}

// stop disarms the timer; one that never fired goes back to the pool.
func (tt *timeoutTimer) stop() {
	if !tt.armed || tt.t.Stop() {
		tt.w, tt.ctx, tt.client, tt.path = nil, nil, nil, nil
		timeoutTimers.Put(tt)
	}
}

// serveAPI answers one API request and returns the status sent. It reads
// the body and writes the answer; invoke.Do does the rest.
//
// Admission comes after the body: a request takes a max_concurrency slot
// only once its body is in memory, and gives it back as soon as the API
// returns, before the answer is written; so neither a client that uploads
// slowly nor one that does not read its answer can hold a slot.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, rt *route, id string) int {
	if r.Method != http.MethodPost {
		return methodNotAllowed(w, rt)
	}
	body, held, status := h.readBody(w, r)
	if status != 0 {
		return status
	}
	defer h.bodyMem.Add(-held)
	c := invoke.Call[iospec.Payload, iospec.Payload]{API: rt.ep.Name, ID: id, Run: rt.ep.Call,
		In: iospec.Payload{ContentType: r.Header.Get("Content-Type"), Body: body, Traced: h.o.Tracing}}

	// The API runs on this goroutine. If it outlives the timeout (user code
	// that ignores ctx), the timer answers 504 at the deadline on its own,
	// with Connection: close, and the late result is dropped.
	var timer *timeoutTimer
	if h.o.Timeout > 0 {
		timer = newTimeout(w, r.Context(), h.path, h.o.WriteTimeout)
		defer timer.stop()
		c.Watch = timer
	}
	out, f := invoke.Do(h.path, r.Context(), &c) // gives the slot back
	if timer != nil {
		if !timer.claim() {
			return http.StatusGatewayTimeout // the timer answered
		}
		defer timer.mu.Unlock()
	}
	h.writeDeadline(w)
	if f != nil {
		return failed(w, f)
	}
	rt.metrics.Phases(len(body), out.Decode, len(out.Body), out.Encode)
	if writeOutput(w, &out) != nil {
		return errs.StatusClientClosed // cut off by the write deadline, or gone
	}
	return http.StatusOK
}

// failed answers a call that failed, unless its client is gone.
//
//go:noinline
func failed(w http.ResponseWriter, f *invoke.Failure) int {
	if f.Status == errs.StatusClientClosed {
		return f.Status
	}
	return writeError(w, f.Status, f.Type, f.Msg)
}

// writeDeadline gives the answer about to be written WriteTimeout to reach
// the client. net/http clears the deadline after each request.
func (h *Handler) writeDeadline(w http.ResponseWriter) { setWriteDeadline(w, h.o.WriteTimeout) }

// setWriteDeadline sets the connection's write deadline d from now,
// through any middleware that wraps w and unwraps to it (as
// http.ResponseController does, without allocating one).
func setWriteDeadline(w http.ResponseWriter, d time.Duration) {
	for {
		switch x := w.(type) {
		case interface{ SetWriteDeadline(time.Time) error }:
			x.SetWriteDeadline(time.Now().Add(d))
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return
		}
	}
}

// writeOutput writes a successful API answer. An error means the client
// did not take it (it went away, or the write deadline passed).
func writeOutput(w http.ResponseWriter, out *iospec.Payload) error {
	hdr := w.Header()
	for k, v := range out.Header {
		hdr[k] = v
	}
	if out.ContentType != "" {
		hdr["Content-Type"] = headerValue(out.ContentType)
	}
	// net/http adds Content-Length itself for bodies that fit its buffer.
	if len(out.Body) > 2048 {
		hdr["Content-Length"] = []string{strconv.Itoa(len(out.Body))}
	}
	_, err := w.Write(out.Body)
	return err
}

//go:noinline
func methodNotAllowed(w http.ResponseWriter, rt *route) int {
	w.Header()["Allow"] = allowPost
	return writeError(w, http.StatusMethodNotAllowed, errs.TypeMethodNotAllowed,
		"Method Not Allowed: "+rt.ep.Route+" accepts POST")
}

// readFailed answers a request whose body could not be read.
//
//go:noinline
func (h *Handler) readFailed(w http.ResponseWriter, r *http.Request, err error) int {
	h.writeDeadline(w)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return writeError(w, http.StatusRequestTimeout, errs.TypeRequestTimeout,
			"request body not received in time (api_server.http.read_timeout)")
	}
	if r.Context().Err() != nil {
		return errs.StatusClientClosed
	}
	return writeError(w, http.StatusBadRequest, errs.TypeBadInput, "reading request body: "+errs.Clip(err.Error(), 200))
}

// Shared header values for the common response types, to save an
// allocation per response; net/http never modifies them.
var (
	hvJSON = []string{"application/json"}
	hvText = []string{"text/plain; charset=utf-8"}
)

// newRequestID returns a random request id (a decimal uint64) as a header
// value. The string's bytes live in the same allocation as the slice, so
// the id costs one allocation per request instead of two; they are never
// written after the string is made.
func newRequestID() []string {
	b := new(struct {
		v   [1]string
		buf [20]byte // the longest uint64 in decimal
	})
	n := len(strconv.AppendUint(b.buf[:0], rand.Uint64(), 10))
	b.v[0] = unsafe.String(&b.buf[0], n)
	return b.v[:]
}

func headerValue(v string) []string {
	switch v {
	case "application/json":
		return hvJSON
	case "text/plain; charset=utf-8":
		return hvText
	}
	return []string{v}
}

var allowPost = []string{http.MethodPost}

// smallBody is the largest declared body read with one allocation of its
// declared size; larger ones, and bodies of unknown length, are read into
// a buffer that grows with the bytes that really arrive.
const smallBody = 64 << 10

// readBody reads the whole request body. Memory follows the bytes that
// arrive, never the declared Content-Length alone (a client declaring
// 20 MiB and sending nothing costs nothing), and every byte held is charged
// to the body-memory budget. It returns the body and the bytes charged,
// which the caller gives back when the request is done, or the status it
// answered the request with (and then charges nothing).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (body []byte, charged int64, status int) {
	cl, limit := r.ContentLength, h.o.MaxBodyBytes
	switch {
	case cl == 0:
		return []byte{}, 0, 0
	case cl > limit:
		return nil, 0, h.early(w, r, false, http.StatusRequestEntityTooLarge, errs.TypePayloadTooLarge,
			fmt.Sprintf("request body exceeds the limit of %d bytes", limit))
	}
	size, want := cl, cl // the buffer's size; the most it may grow to
	if cl < 0 {
		want = limit + 1 // one byte past the limit detects it
		size = min(4<<10, want)
	} else if cl > smallBody {
		size = smallBody
	}
	if !h.charge(size, max(size, cl)) {
		return nil, 0, h.busy(w, r, false)
	}
	charged = size
	buf := make([]byte, size)
	n := 0
	for {
		if n == len(buf) {
			if int64(n) == want {
				break
			}
			// Grow 4× at a time: the copies add up to a third of the body.
			grow := min(3*int64(len(buf)), want-int64(len(buf)))
			// A body of declared length that has begun to arrive takes the
			// rest of its length from the budget at its first growth: of
			// many large requests arriving at once, those that cannot all
			// fit are refused after 64 KiB, not after megabytes of reading
			// (work wasted on both sides). One of unknown length pays as
			// it grows.
			need := grow
			if cl > 0 {
				need = want - charged // 0 after the first growth
			}
			if need > 0 && !h.charge(need, int64(len(buf))+grow) {
				h.bodyMem.Add(-charged)
				return nil, 0, h.busy(w, r, true)
			}
			charged += need
			nb := make([]byte, int64(len(buf))+grow)
			copy(nb, buf)
			buf = nb
		}
		m, err := r.Body.Read(buf[n:])
		n += m
		if err == io.EOF {
			if cl >= 0 && int64(n) < cl {
				err = io.ErrUnexpectedEOF
			} else {
				break
			}
		}
		if err != nil {
			h.bodyMem.Add(-charged)
			return nil, 0, h.readFailed(w, r, err)
		}
	}
	if int64(n) > limit {
		h.bodyMem.Add(-charged)
		return nil, 0, h.early(w, r, true, http.StatusRequestEntityTooLarge, errs.TypePayloadTooLarge,
			fmt.Sprintf("request body exceeds the limit of %d bytes", limit))
	}
	return buf[:n], charged, 0
}

// smallReserve is the part of the body-memory budget that only requests
// with small bodies (up to smallBody) may use, so that a few large
// requests filling the budget cannot turn every small one away.
const smallReserve = 4 << 20

// charge takes n bytes of the body-memory budget for a body that has size
// bytes so far, or reports that there are not enough left.
func (h *Handler) charge(n, size int64) bool {
	lim := h.o.BodyMemoryLimit
	if size > smallBody {
		lim = h.bigBodyLimit
	}
	if h.bodyMem.Add(n) > lim {
		h.bodyMem.Add(-n)
		return false
	}
	return true
}

// busy answers 503 for a request whose body does not fit in the
// body-memory budget now.
//
//go:noinline
func (h *Handler) busy(w http.ResponseWriter, r *http.Request, started bool) int {
	w.Header().Set("Retry-After", "1")
	return h.early(w, r, started, http.StatusServiceUnavailable, errs.TypeServiceUnavailable,
		"Service busy: request bodies being served fill api_server.http.body_memory_limit; retry later")
}

// early answers a request before its body has been read to the end, then
// closes the connection. For a 413 it does so the way nginx's lingering
// close does: it keeps reading and discarding the body for up to
// LingerTimeout and LingerBytes first, on at most maxLingering connections
// at once. A client that writes its whole body before reading (Python's
// requests, BentoML's client) would otherwise get a connection reset, as
// the kernel resets a connection closed with unread data, and never see
// the answer. started tells whether the body has begun to be read: before
// that, a client that sent "Expect: 100-continue" has not sent it and there
// is nothing to drain.
//
//go:noinline
func (h *Handler) early(w http.ResponseWriter, r *http.Request, started bool, status int, typ, msg string) int {
	rc := http.NewResponseController(w)
	linger := status == http.StatusRequestEntityTooLarge &&
		(started || !strings.EqualFold(r.Header.Get("Expect"), "100-continue"))
	if linger {
		rc.EnableFullDuplex() // keep net/http from discarding the body itself
	}
	w.Header().Set("Connection", "close")
	h.writeDeadline(w)
	writeError(w, status, typ, msg)
	if !linger {
		return status
	}
	defer h.lingering.Add(-1)
	if h.lingering.Add(1) > maxLingering {
		return status
	}
	if rc.Flush() != nil {
		return status
	}
	rc.SetReadDeadline(time.Now().Add(h.o.LingerTimeout))
	io.CopyN(io.Discard, r.Body, h.o.LingerBytes)
	return status
}

// maxLingering bounds the connections in a lingering close at once: past
// it an early answer closes at once, as it does for a 503 (shedding load
// must not cost the server more work).
const maxLingering = 8

type errorBody struct {
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// writeError writes the JSON error body and returns status.
func writeError(w http.ResponseWriter, status int, typ, msg string) int {
	b, _ := json.Marshal(errorBody{Msg: msg, Type: typ})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
	return status
}

// Package dashboard is gobento's built-in live dashboard: a page, embedded in
// the binary, that charts the service's own metrics without Prometheus.
//
// # Where the numbers come from
//
// A sampler gathers the service's registry (the prometheus.Gatherer served at
// /metrics) once a second. Each chart line is a rate, ratio or quantile over
// the last [Options.Window] samples (10 s by default), computed as PromQL
// computes rate(x[10s]) and histogram_quantile(q, rate(b[10s])): from the
// difference of the cumulative counters and bucket counts between the two
// ends of the window, so the page agrees with a query over the same window.
// Lines are kept for the last [Options.Points] samples (15 minutes).
//
// Custom metrics are listed with their current value (counters also with
// their rate, histograms as p50/p95/p99 over the window), at most
// [Options.MaxCustom] series; the rest are counted, not kept.
//
// # Cost
//
// Nothing runs until the page or its data endpoint is requested: the first
// view starts the sampler, and it stops, freeing everything it held, after
// [Options.Idle] without a view. The memory it holds is bounded whatever the
// number of series: see [Options.Bound].
//
// # Security
//
// The page shows only what /metrics shows. It is served with a
// Content-Security-Policy that allows only the page's own scripts, styles and
// data endpoint, and its script writes every name and label value with
// textContent, never as HTML.
package dashboard

import (
	"embed"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the [Options] fields that are 0.
const (
	DefaultInterval  = time.Second
	DefaultPoints    = 900 // 15 minutes at one sample a second
	DefaultWindow    = 10  // samples per rate/quantile window
	DefaultIdle      = time.Minute
	DefaultMaxLines  = 512
	DefaultMaxCustom = 200
	// MaxBuckets is the number of buckets of one histogram the sampler
	// keeps; buckets beyond it are merged into +Inf.
	MaxBuckets = 64
	// maxLabelLen truncates label values kept for custom series.
	maxLabelLen = 128
)

// Options configures [New]. The zero value of each field is documented.
type Options struct {
	// Gatherer is the registry to sample, the one served at /metrics.
	Gatherer prometheus.Gatherer
	// APINamespace and RunnerNamespace name the default families; ""
	// means bentoml_api_server and bentoml_runner.
	APINamespace, RunnerNamespace string
	// Interval between samples; 0 means 1 s.
	Interval time.Duration
	// Points is the number of samples each line keeps; 0 means 900.
	Points int
	// Window is the number of intervals a rate or quantile spans; 0 means
	// 10.
	Window int
	// Idle stops the sampler after this long without a view; 0 means 1 min.
	Idle time.Duration
	// MaxLines caps the chart lines (about 7 per API, 14 per runner
	// method); lines beyond it are not drawn. 0 means 512.
	MaxLines int
	// MaxCustom caps the custom series listed; 0 means 200.
	MaxCustom int
}

func (o Options) withDefaults() Options {
	if o.APINamespace == "" {
		o.APINamespace = "bentoml_api_server"
	}
	if o.RunnerNamespace == "" {
		o.RunnerNamespace = "bentoml_runner"
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Points <= 0 {
		o.Points = DefaultPoints
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Idle <= 0 {
		o.Idle = DefaultIdle
	}
	if o.MaxLines <= 0 {
		o.MaxLines = DefaultMaxLines
	}
	if o.MaxCustom <= 0 {
		o.MaxCustom = DefaultMaxCustom
	}
	return o
}

// Bound returns the most memory, in bytes, the sampler holds between
// samples with these options, whatever the number of series: the lines
// (MaxLines × Points float32 values and their timestamps), the windows of
// cumulative values (one per line group and custom series, Window+1
// snapshots of at most MaxBuckets+2 float64 each) and the custom rows with
// their truncated labels. With the defaults it is about 6.1 MiB. The
// gathering itself allocates transiently, as a scrape does.
func (o Options) Bound() int64 {
	o = o.withDefaults()
	lines := int64(o.MaxLines) * (int64(o.Points)*4 + 128)
	times := int64(o.Points) * 8
	windows := int64(o.MaxLines+o.MaxCustom) * (int64(o.Window+1)*(MaxBuckets+2)*8 + 160)
	custom := int64(o.MaxCustom) * (8*maxLabelLen + 256)
	return lines + times + windows + custom
}

//go:embed static
var static embed.FS

// Dashboard serves the dashboard page, its assets and its data endpoint.
// It is safe for concurrent use.
type Dashboard struct {
	o     Options
	files map[string][]byte

	mu       sync.Mutex
	running  bool
	lastView time.Time
	stop     chan struct{}
	s        *sampler // nil while stopped
	epoch    int64
}

// New returns a dashboard over o.Gatherer. No goroutine starts until the
// first view.
func New(o Options) *Dashboard {
	d := &Dashboard{o: o.withDefaults(), files: map[string][]byte{}}
	for _, name := range []string{"index.html", "app.js", "app.css"} {
		b, err := static.ReadFile("static/" + name)
		if err != nil {
			panic("dashboard: missing embedded file " + name)
		}
		d.files[name] = b
	}
	return d
}

// CSP is the Content-Security-Policy the page and its data are served with:
// only the page's own origin, no inline script, no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Paths the dashboard answers, relative to the server root.
const (
	PagePath = "/dashboard"
	JSPath   = "/dashboard/app.js"
	CSSPath  = "/dashboard/app.css"
	DataPath = "/dashboard/data"
)

// Owns reports whether path is one of the dashboard's paths.
func Owns(path string) bool {
	switch path {
	case PagePath, JSPath, CSSPath, DataPath:
		return true
	}
	return false
}

// ServeHTTP answers GET and HEAD on the page, its assets and DataPath
// (JSON; the query parameter since=N returns only the samples after the
// N-th). Every request counts as a view and keeps the sampler running.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method Not Allowed: use GET", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case PagePath:
		h.Set("Content-Type", "text/html; charset=utf-8")
		d.view()
		w.Write(d.files["index.html"])
	case JSPath:
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(d.files["app.js"])
	case CSSPath:
		h.Set("Content-Type", "text/css; charset=utf-8")
		w.Write(d.files["app.css"])
	case DataPath:
		since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
		h.Set("Content-Type", "application/json")
		w.Write(d.data(since))
	default:
		http.NotFound(w, r)
	}
}

// view records a view, starting the sampler if it is stopped, and returns
// it.
func (d *Dashboard) view() *sampler {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lastView = time.Now()
	if !d.running {
		d.running = true
		d.epoch = d.lastView.UnixMilli()
		d.s = newSampler(d.o)
		d.s.sample(d.lastView)
		d.stop = make(chan struct{})
		go d.loop(d.s, d.stop)
	}
	return d.s
}

// data returns the JSON document of the samples after since.
func (d *Dashboard) data(since int64) []byte {
	s := d.view()
	d.mu.Lock()
	epoch := d.epoch
	d.mu.Unlock()
	return s.json(epoch, since)
}

// Running reports whether the sampler is running.
func (d *Dashboard) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.running
}

// Close stops the sampler now. A later view starts it again.
func (d *Dashboard) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running {
		close(d.stop)
		d.running = false
		d.s = nil
	}
}

func (d *Dashboard) loop(s *sampler, stop chan struct{}) {
	t := time.NewTicker(d.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			d.mu.Lock()
			idle := now.Sub(d.lastView) > d.o.Idle
			if idle && d.s == s {
				close(stop)
				d.running = false
				d.s = nil
			}
			d.mu.Unlock()
			if idle {
				return
			}
			s.sample(now)
		}
	}
}

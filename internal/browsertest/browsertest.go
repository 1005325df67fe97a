// Package browsertest drives a headless Chromium from tests with
// github.com/chromedp/chromedp: it opens pages of a service listening on
// loopback, records console errors, uncaught exceptions, CSP violations and
// the origin of every request the page makes.
//
// Tests that need a browser call [New]. Without a Chromium binary on the
// machine (Debian's chromium package) the test is skipped with that reason,
// except under CI (CI set in the environment), where .ci/run installs it and
// its absence fails the test.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	bento "github.com/gobento/bento"
	"github.com/gobento/bento/config"
)

// execPath finds a Chromium binary, or "".
func execPath() string {
	if p := os.Getenv("GOBENTO_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is one headless Chromium process, closed when the test ends.
type Browser struct {
	t   testing.TB
	ctx context.Context
}

// New starts Chromium, or skips the test when it is not installed (outside
// CI).
func New(t testing.TB) *Browser {
	t.Helper()
	path := execPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("browsertest: no Chromium found (apt-get install -y chromium); CI must run the browser tests")
		}
		t.Skip("browsertest: no Chromium found; install Debian's chromium package to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI containers run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1440, 900),
		chromedp.Flag("no-proxy-server", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Run(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("browsertest: starting %s: %v", path, err)
	}
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return &Browser{t: t, ctx: ctx}
}

// Page is one browser tab.
type Page struct {
	t      testing.TB
	Ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	problems []string        // console errors, exceptions, CSP violations
	origins  map[string]bool // scheme://host:port of every request
}

// Open opens a tab on rawURL, with the dark colour scheme when dark is
// set, and waits for the page to load.
func (b *Browser) Open(rawURL string, dark bool) *Page {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	p := &Page{t: b.t, Ctx: ctx, cancel: cancel, origins: map[string]bool{}}
	b.t.Cleanup(cancel)
	chromedp.ListenTarget(ctx, p.event)
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	err := chromedp.Run(ctx,
		network.Enable(),
		cdplog.Enable(),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
		chromedp.Navigate(rawURL),
	)
	if err != nil {
		b.t.Fatalf("browsertest: opening %s: %v", rawURL, err)
	}
	return p
}

func (p *Page) event(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			p.problems = append(p.problems, "console."+string(ev.Type)+": "+strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		p.problems = append(p.problems, "exception: "+msg)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.LevelError {
			p.problems = append(p.problems, "log "+string(ev.Entry.Source)+": "+ev.Entry.Text+" "+ev.Entry.URL)
		}
	case *network.EventRequestWillBeSent:
		if u, err := url.Parse(ev.Request.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "ws" || u.Scheme == "wss") {
			p.origins[u.Scheme+"://"+u.Host] = true
		}
	}
}

// Problems returns the console errors, uncaught exceptions and CSP
// violations seen so far.
func (p *Page) Problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// Origins returns the origins the page sent requests to.
func (p *Page) Origins() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var o []string
	for k := range p.origins {
		o = append(o, k)
	}
	return o
}

// Run runs actions on the page with a deadline, failing the test on error.
func (p *Page) Run(timeout time.Duration, what string, actions ...chromedp.Action) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, timeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		p.t.Fatalf("browsertest: %s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression and stores its JSON value in out.
func (p *Page) Eval(expr string, out any) error {
	ctx, cancel := context.WithTimeout(p.Ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate(expr, out))
}

// WaitFor polls the JavaScript boolean expression cond until it is true,
// failing the test with what after timeout.
func (p *Page) WaitFor(timeout time.Duration, what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		err := p.Eval("!!("+cond+")", &ok)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("browsertest: waiting %v for %s (%s): last error %v; page problems %v", timeout, what, cond, err, p.Problems())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Text returns the text content of the first node matching the CSS
// selector, or "".
func (p *Page) Text(sel string) string {
	var s string
	p.Eval(fmt.Sprintf("(document.querySelector(%q)||{}).textContent||''", sel), &s)
	return s
}

// SetFile sets the files of the file input matched by the CSS selector
// (the first in document order).
func (p *Page) SetFile(sel string, files ...string) {
	p.t.Helper()
	p.Run(20*time.Second, "setting file input "+sel, chromedp.SetUploadFiles(sel, files, chromedp.ByQuery))
}

// Screenshot captures the viewport as PNG.
func (p *Page) Screenshot() []byte {
	p.t.Helper()
	var b []byte
	p.Run(20*time.Second, "screenshot", chromedp.CaptureScreenshot(&b))
	return b
}

// Nodes returns the nodes matching sel (CSS) now, without waiting.
func (p *Page) Nodes(sel string) []*cdp.Node {
	var nodes []*cdp.Node
	ctx, cancel := context.WithTimeout(p.Ctx, 10*time.Second)
	defer cancel()
	chromedp.Run(ctx, chromedp.Nodes(sel, &nodes, chromedp.ByQueryAll, chromedp.AtLeast(0)))
	return nodes
}

// SwaggerTry drives Swagger UI's form of the operation at route: it
// expands the operation, clicks "Try it out", picks the request media type
// when mediaType is not "", sets the file input to file when file is not
// "", clicks "Execute" and returns the status and body of the response
// Swagger UI shows.
func (p *Page) SwaggerTry(route, mediaType, file string) (status, body string) {
	p.t.Helper()
	op := fmt.Sprintf("[data-test-op=%q]", route)
	mark := fmt.Sprintf(`(() => {
		for (const el of document.querySelectorAll(".opblock")) {
			const path = el.querySelector(".opblock-summary-path");
			if (path && (path.getAttribute("data-path") === %[1]q || path.textContent.trim() === %[1]q)) {
				el.setAttribute("data-test-op", %[1]q);
				return true;
			}
		}
		return false;
	})()`, route)
	p.WaitFor(20*time.Second, "operation "+route+" listed", mark)
	click := func(sel string) string {
		return fmt.Sprintf("(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true })()", sel)
	}
	if !p.exists(op + " .try-out__btn") {
		p.WaitFor(10*time.Second, "expanding "+route, click(op+" .opblock-summary-control"))
	}
	if os.Getenv("GOBENTO_BROWSER_DEBUG") != "" {
		var h string
		p.Eval(fmt.Sprintf("document.querySelector(%q).outerHTML", op), &h)
		p.t.Logf("operation %s: %.3000s", route, h)
	}
	p.WaitFor(10*time.Second, "Try it out of "+route, click(op+" .try-out__btn"))
	p.WaitFor(10*time.Second, "Execute button of "+route, fmt.Sprintf("document.querySelector(%q)", op+" .execute"))
	if mediaType != "" {
		p.WaitFor(10*time.Second, "media type "+mediaType+" of "+route, fmt.Sprintf(`(() => {
			const sel = document.querySelector(%q);
			if (!sel) return false;
			const set = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value").set;
			set.call(sel, %q);
			sel.dispatchEvent(new Event("change", {bubbles: true}));
			return sel.value === %[2]q;
		})()`, op+" .opblock-section-request-body select", mediaType))
	}
	if file != "" {
		p.WaitFor(10*time.Second, "file input of "+route, fmt.Sprintf("document.querySelector(%q)", op+` input[type="file"]`))
		p.SetFile(op+` input[type="file"]`, file)
	}
	p.WaitFor(10*time.Second, "Execute of "+route, click(op+" .execute"))
	statusSel := op + " .live-responses-table .response .response-col_status"
	p.WaitFor(30*time.Second, "response of "+route, fmt.Sprintf("document.querySelector(%q)", statusSel))
	status = strings.TrimSpace(p.Text(statusSel))
	body = p.Text(op + " .live-responses-table .response .response-col_description pre")
	return status, body
}

func (p *Page) exists(sel string) bool {
	var ok bool
	p.Eval(fmt.Sprintf("!!document.querySelector(%q)", sel), &ok)
	return ok
}

// Serve starts svc over HTTP on a free loopback port with the default
// configuration, stopped when the test ends, and returns its base URL.
func Serve(t testing.TB, svc *bento.Service, set func(*config.Config)) *bento.Server {
	t.Helper()
	cfg := config.Default()
	cfg.APIServer.HTTP.Host = "127.0.0.1"
	cfg.APIServer.HTTP.Port = 0
	if set != nil {
		set(cfg)
	}
	srv, err := bento.StartHTTP(context.Background(), svc, cfg,
		bento.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

// SameJSON reports whether a and b hold equal JSON values.
func SameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// CheckClean fails the test if the page logged an error, threw, violated
// its CSP, or sent a request to an origin other than base's.
func (p *Page) CheckClean(base string) {
	p.t.Helper()
	for _, pr := range p.Problems() {
		p.t.Errorf("page problem: %s", pr)
	}
	u, _ := url.Parse(base)
	for _, o := range p.Origins() {
		if o != u.Scheme+"://"+u.Host {
			p.t.Errorf("request to another origin: %s", o)
		}
	}
}

// SwaggerRoutes waits until Swagger UI lists at least n operations and
// returns their paths.
func (p *Page) SwaggerRoutes(n int) []string {
	p.t.Helper()
	p.WaitFor(20*time.Second, fmt.Sprintf("Swagger UI listing %d operations", n),
		fmt.Sprintf("document.querySelectorAll('.opblock .opblock-summary-path').length >= %d", n))
	var paths []string
	p.Eval(`[...document.querySelectorAll('.opblock .opblock-summary-path')].map(e => e.getAttribute('data-path'))`, &paths)
	return paths
}

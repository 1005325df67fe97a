package dashboard_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bento "github.com/gobento/bento"
	"github.com/gobento/bento/internal/browsertest"
	"github.com/gobento/bento/metrics"
)

// visitors is a custom metric whose label value comes from requests.
var visitors = metrics.NewCounter(metrics.CounterOpts{
	Name: "test_visitors_total", Help: "Visitors by the name they gave", LabelNames: []string{"name"},
})

// TestHostileLabelRendersAsText sends markup as a custom metric's label
// value and checks the dashboard shows it as text: no element is created
// from it, no script runs, no request follows.
func TestHostileLabelRendersAsText(t *testing.T) {
	svc := bento.NewService("hostile")
	bento.API(svc, "visit", bento.Text(), bento.Text(), func(_ context.Context, name string) (string, error) {
		visitors.WithLabelValues(name).Inc()
		return "welcome", nil
	})
	srv := browsertest.Serve(t, svc, nil)
	const hostile = `<script>window.__pwned=1</script><img src=/x onerror="window.__pwned=2">`
	resp, err := http.Post(srv.URL()+"/visit", "text/plain", strings.NewReader(hostile))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	p := browsertest.New(t).Open(srv.URL()+"/dashboard", false)
	p.WaitFor(20*time.Second, "the custom metric row",
		`[...document.querySelectorAll('#custom-body tr')].some(r => r.textContent.includes('test_visitors_total'))`)
	for _, tc := range []struct {
		what, expr string
	}{
		{"label value shown verbatim", `[...document.querySelectorAll('#custom-body code')].some(e => e.textContent === 'name=' + JSON.stringify(` + jsString(hostile) + `))`},
		{"no element made from it", `document.querySelectorAll('#custom-body script, #custom-body img').length === 0`},
		{"no script ran", `window.__pwned === undefined`},
	} {
		var ok bool
		if err := p.Eval(tc.expr, &ok); err != nil || !ok {
			t.Errorf("%s: %v (%v)", tc.what, ok, err)
		}
	}
	time.Sleep(1500 * time.Millisecond) // a few more polls
	p.CheckClean(srv.URL())
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}

type model struct{}

func (model) double(_ context.Context, xs []float64) ([]float64, error) {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = 2 * x
	}
	time.Sleep(time.Millisecond)
	return out, nil
}

// TestFiveAPIsFitALaptopScreen opens the dashboard of a service with five
// APIs and a batching runner in a 1440×900 window: every chart row, down to
// the process, is visible without scrolling.
func TestFiveAPIsFitALaptopScreen(t *testing.T) {
	svc := bento.NewService("five")
	r := bento.NewRunner(svc, "doubler", func() (model, error) { return model{}, nil })
	double := bento.BatchMethod(r, "double", model.double, bento.MaxBatchSize(16), bento.MaxLatency(time.Second))
	names := []string{"alpha", "bravo", "charlie", "delta", "echo"}
	for _, name := range names {
		bento.API(svc, name, bento.JSON[float64](), bento.JSON[float64](), double.Run)
	}
	srv := browsertest.Serve(t, svc, nil)
	for i := range 20 {
		resp, err := http.Post(srv.URL()+"/"+names[i%len(names)], "application/json", strings.NewReader("1.5"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	p := browsertest.New(t).Open(srv.URL()+"/dashboard", false)
	p.WaitFor(20*time.Second, "five API rows, the runner and the process",
		`document.querySelectorAll('[data-kind="api"]').length === 5 && document.querySelector('[data-kind="method"]') && document.querySelector('[data-kind="process"] svg path')`)
	var fit struct {
		Bottom, Height float64
		Width, Scroll  float64
	}
	if err := p.Eval(`(() => {
		const charts = [...document.querySelectorAll('#apis .chart, #runners .chart, #process .chart')];
		return {Bottom: Math.max(...charts.map(c => c.getBoundingClientRect().bottom)), Height: window.innerHeight,
			Width: document.documentElement.scrollWidth, Scroll: window.innerWidth};
	})()`, &fit); err != nil {
		t.Fatal(err)
	}
	t.Logf("last chart ends at %.0f px of a %.0f px high window", fit.Bottom, fit.Height)
	if dir := os.Getenv("GOBENTO_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "dashboard-five-apis.png"), p.Screenshot(), 0o644); err != nil {
			t.Error(err)
		}
	}
	if fit.Bottom > fit.Height || fit.Width > fit.Scroll {
		t.Errorf("charts end at %.0f px (window %.0f px high), page %.0f px wide (window %.0f): does not fit", fit.Bottom, fit.Height, fit.Width, fit.Scroll)
	}
	p.CheckClean(srv.URL())
}

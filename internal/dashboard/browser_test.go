package dashboard_test

import (
	"context"
	"net/http"
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

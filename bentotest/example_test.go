package bentotest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gobento/bento"
	"github.com/gobento/bento/bentotest"
	"github.com/gobento/bento/metrics"
)

var shouts = metrics.NewCounter(metrics.CounterOpts{Name: "shouts_total", Help: "Texts shouted."})

// newShouter is the service under test, as the program's main builds it.
func newShouter() *bento.Service {
	svc := bento.NewService("shouter", bento.Metrics(shouts))
	bento.API(svc, "shout", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) {
		shouts.Inc()
		return strings.ToUpper(s), nil
	})
	return svc
}

// A test of a service calls its API over HTTP and checks its metrics. The
// body of TestShout below is what goes into the service's _test.go file;
// the server and the service stop when the test ends.
func ExampleNewServer() {
	TestShout := func(t *testing.T) {
		srv := bentotest.NewServer(t, newShouter(), nil)
		resp, err := http.Post(srv.URL+"/shout", "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "HELLO" {
			t.Errorf("got %q, want HELLO", body)
		}
		if err := testutil.GatherAndCompare(srv.Gatherer(), strings.NewReader(`# HELP shouts_total Texts shouted.
# TYPE shouts_total counter
shouts_total 1
`), "shouts_total"); err != nil {
			t.Error(err)
		}
	}
	_ = TestShout
}

package bentotest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gobento/bento"
	"github.com/gobento/bento/bentotest"
)

func TestNewServer(t *testing.T) {
	var srv *bentotest.Server
	t.Run("service", func(t *testing.T) {
		srv = bentotest.NewServer(t, newShouter(), nil)
		resp, err := http.Post(srv.URL+"/shout", "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "HELLO" {
			t.Fatalf("POST /shout: %d %q", resp.StatusCode, body)
		}
		if err := testutil.GatherAndCompare(srv.Gatherer(), strings.NewReader(`# HELP shouts_total Texts shouted.
# TYPE shouts_total counter
shouts_total 1
`), "shouts_total"); err != nil {
			t.Error(err)
		}
		if !srv.Handler.Ready() {
			t.Error("not ready")
		}
	})
	// The subtest's cleanup closed the server and the handler.
	if srv.Handler.Ready() {
		t.Error("handler still ready after the test ended")
	}
	if _, err := http.Get(srv.URL + "/livez"); err == nil {
		t.Error("server still answers after the test ended")
	}
}

// fatalTB records Fatalf instead of stopping the goroutine.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = format
	panic(f)
}

func TestNewServerReportsStartError(t *testing.T) {
	tb := &fatalTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != tb {
				panic(r)
			}
		}()
		bentotest.NewServer(tb, bento.NewService("bad name!"), nil)
	}()
	if !strings.Contains(tb.msg, "starting service") {
		t.Errorf("Fatalf(%q)", tb.msg)
	}
}

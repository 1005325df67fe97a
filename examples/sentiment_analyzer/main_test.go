package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
)

// TestPolarityLabelValues serves the example on loopback and checks that
// polarity_total uses BentoML's label values: the guide's Python example
// passes a bool as the label value, which prometheus_client renders with
// str(bool), so dashboards built on it select polarity="True"/"False".
func TestPolarityLabelValues(t *testing.T) {
	cfg := config.Default()
	cfg.APIServer.HTTP.Host = "127.0.0.1"
	cfg.APIServer.HTTP.Port = 0
	srv, err := bento.StartHTTP(context.Background(), newService(), cfg,
		bento.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); !srv.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not ready after 10 s")
		}
	}
	// polarity_total is a package-level metric: other tests in this
	// process may have counted already, so compare the change.
	before := polarityCounts(t, srv)
	texts := []struct {
		text string
		want string
	}{
		{"I love this", `{"is_positive":true}`},
		{"I love this too", `{"is_positive":true}`},
		{"This is terrible. I hate it.", `{"is_positive":false}`},
	}
	for _, c := range texts {
		resp, err := http.Post(srv.URL()+"/analysis", "text/plain", strings.NewReader(c.text))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != c.want {
			t.Fatalf("POST %q: %d %s, want 200 %s", c.text, resp.StatusCode, body, c.want)
		}
	}
	got := polarityCounts(t, srv)
	for k, v := range before {
		got[k] -= v
		if got[k] == 0 {
			delete(got, k)
		}
	}
	want := map[string]float64{"True": 2, "False": 1}
	if len(got) != len(want) || got["True"] != want["True"] || got["False"] != want["False"] {
		t.Errorf("polarity_total by polarity = %v, want %v", got, want)
	}
}

// polarityCounts returns polarity_total by its polarity label.
func polarityCounts(t *testing.T, srv *bento.Server) map[string]float64 {
	t.Helper()
	mfs, err := srv.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "polarity_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "polarity" {
					got[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return got
}

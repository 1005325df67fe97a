// Package bentotest runs a gobento service for a test, in the spirit of
// net/http/httptest: [NewServer] serves the service's [bento.Handler] on a
// loopback [httptest.Server] and stops both when the test ends.
package bentotest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
)

// Server is a service served on loopback for one test. URL is the base URL
// of its APIs and probes; /metrics is at URL+"/metrics".
type Server struct {
	*httptest.Server
	// Handler is the service's handler, for its Gatherer and readiness.
	Handler *bento.Handler
}

// NewServer starts svc as configured by cfg (nil means defaults) behind a
// new httptest.Server, with every runner started, and registers a cleanup
// with t that closes the server and then the Handler, reporting a failed
// Close as a test error. If the service cannot start, NewServer fails the
// test with its error. Without a [bento.Logger] option, logs are
// discarded.
func NewServer(t testing.TB, svc *bento.Service, cfg *config.Config, opts ...bento.ServerOption) *Server {
	t.Helper()
	opts = append([]bento.ServerOption{bento.Logger(slog.New(slog.DiscardHandler))}, opts...)
	h, err := bento.NewHandler(context.Background(), svc, cfg, opts...)
	if err != nil {
		t.Fatalf("bentotest: starting service %q: %v", svc.Name(), err)
	}
	s := &Server{Server: httptest.NewServer(h), Handler: h}
	t.Cleanup(func() {
		s.Server.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("bentotest: closing service %q: %v", svc.Name(), err)
		}
	})
	return s
}

// Gatherer returns every metric of the service, as /metrics serves them,
// for client_golang's testutil.GatherAndCompare and friends.
func (s *Server) Gatherer() prometheus.Gatherer { return s.Handler.Gatherer() }

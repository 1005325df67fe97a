package bento

import (
	"context"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/instrument"
)

// Handler serves a service as an [http.Handler], for mounting in an
// existing Go web application or testing with net/http/httptest. It answers
// the routes the HTTP server of [StartHTTP] answers (every API, /livez,
// /healthz, /readyz, /docs.json, the docs page and, unless metrics are
// disabled, /metrics and the dashboard), with the same limits, timeouts,
// access log and CORS, and owns the service's runners and metrics registry.
//
// Mount it at the root of a mux, or under a prefix with [http.StripPrefix]:
//
//	h, err := bento.NewHandler(ctx, svc, nil)
//	if err != nil { ... }
//	defer h.Close(context.Background())
//	mux.Handle("/iris/", http.StripPrefix("/iris", h))
//
// The listener settings (host, port, TLS, connection caps, header and idle
// timeouts) belong to the [http.Server] that serves it, not to the
// Handler; /metrics is served by the Handler even when
// api_server.metrics.port asks for a separate listener.
//
// A Handler is safe for concurrent use.
type Handler struct {
	rt   *runtime
	h    http.Handler
	once sync.Once
	err  error // Close's result
}

// NewHandler validates svc and cfg (nil means defaults), builds the
// service's registry and starts every runner, and returns once /readyz
// answers 200. A runner that fails to start is stopped with the others and
// its error returned. Release the Handler with [Handler.Close].
func NewHandler(ctx context.Context, svc *Service, cfg *config.Config, opts ...ServerOption) (_ *Handler, err error) {
	rt, err := newRuntime(svc, cfg, instrument.HTTP, newServerOptions(opts))
	if err != nil {
		return nil, err
	}
	defer rt.closeOnError(&err)
	h, err := rt.httpHandler(rt.cfg.APIServer.Metrics.Enabled)
	if err != nil {
		return nil, err
	}
	if err := rt.startRunners(ctx); err != nil {
		return nil, err
	}
	return &Handler{rt: rt, h: h}, nil
}

// ServeHTTP implements [http.Handler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.ServeHTTP(w, r) }

// Gatherer returns every metric of the service, as /metrics serves them.
func (h *Handler) Gatherer() prometheus.Gatherer { return h.rt.gather }

// Ready reports whether runners are started and the Handler is not closing.
func (h *Handler) Ready() bool { return h.rt.ready.Load() }

// Close turns /readyz to 503, drains the batch queues and stops the runners
// (or gives up when ctx ends), then releases the service's metrics. Shut
// down the server that mounts the Handler first, so no request is still
// running; requests that arrive later get 503 from the runners. Calling it
// again returns the first result.
func (h *Handler) Close(ctx context.Context) error {
	h.once.Do(func() {
		h.rt.ready.Store(false)
		h.rt.metrics.SetState(instrument.StateDraining)
		h.err = h.rt.stopRunners(ctx)
		h.rt.close()
	})
	return h.err
}

var _ http.Handler = (*Handler)(nil)

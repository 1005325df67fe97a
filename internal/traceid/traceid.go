// Package traceid adds BentoML's X-BentoML-Trace-ID response header
// (api_server.http.response.trace_id).
//
// BentoML writes the request's OpenTelemetry trace id as a decimal number.
// With tracing on, it is the trace id of the request's server span; with
// tracing off (or the path excluded), the one the client sent in a W3C
// traceparent header, else a new random one, so that the header is always
// present and a caller can correlate its logs.
package traceid

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// Header is the response header name.
const Header = "X-BentoML-Trace-ID"

// New returns next wrapped so that every response carries [Header].
func New(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(Header, FromRequest(r))
		next.ServeHTTP(w, r)
	})
}

// FromRequest returns the decimal trace id of r: its span's, else its
// traceparent's, else a random 128-bit id.
func FromRequest(r *http.Request) string {
	var id [16]byte
	if sc := trace.SpanContextFromContext(r.Context()); sc.HasTraceID() {
		id = sc.TraceID()
	} else if tp := r.Header.Get("Traceparent"); !parse(tp, id[:]) {
		_, _ = rand.Read(id[:])
	}
	return new(big.Int).SetBytes(id[:]).String()
}

// parse reads the trace id of a W3C traceparent "00-<32 hex>-<16 hex>-<2
// hex>" into id; an all-zero id is invalid.
func parse(tp string, id []byte) bool {
	parts := strings.Split(tp, "-")
	if len(parts) < 4 || len(parts[1]) != 32 {
		return false
	}
	if _, err := hex.Decode(id, []byte(parts[1])); err != nil {
		return false
	}
	for _, b := range id {
		if b != 0 {
			return true
		}
	}
	return false
}

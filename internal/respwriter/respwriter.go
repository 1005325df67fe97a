// Package respwriter records what a handler wrote, for the middlewares that
// report it afterwards (the access log, the server span).
package respwriter

import "net/http"

// Recorder wraps a ResponseWriter and keeps the final status (1xx
// interim responses are not it) and the number of body bytes written.
// Flush is passed on, and Unwrap lets http.ResponseController reach the
// connection (write deadlines, full duplex) through it.
type Recorder struct {
	http.ResponseWriter
	status  int
	written int64
}

// Reset points r at w, forgetting what it recorded (for pooled recorders).
func (r *Recorder) Reset(w http.ResponseWriter) { r.ResponseWriter, r.status, r.written = w, 0, 0 }

// Status is the status written, 0 when nothing was.
func (r *Recorder) Status() int { return r.status }

// Written is the number of body bytes written.
func (r *Recorder) Written() int64 { return r.written }

// WriteHeader records the first final status and passes it on.
func (r *Recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and the bytes written.
func (r *Recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.written += int64(n)
	return n, err
}

// Flush passes Flush on, for handlers that stream.
func (r *Recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the wrapped ResponseWriter.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

var _ http.Flusher = (*Recorder)(nil)

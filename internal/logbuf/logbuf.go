// Package logbuf batches log output: a [Writer] gathers the lines written
// to it and writes them out together, at most Interval later, so that a
// busy server's access log costs a memory copy per line instead of a
// system call. [Handler] writes a record at WARN or above through at once,
// with everything buffered before it, so problems are never late and the
// order of lines is kept.
package logbuf

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Size is the buffer size; a write that fills it is written out at once.
const Size = 64 << 10

// Writer buffers writes to an underlying writer, flushing them at most
// interval after they were made. It is safe for concurrent use.
type Writer struct {
	mu    sync.Mutex
	buf   *bufio.Writer
	dirty bool
	stop  chan struct{}
	done  chan struct{}
}

// New returns a Writer over w that flushes every interval; call
// [Writer.Close] to flush and stop it.
func New(w io.Writer, interval time.Duration) *Writer {
	bw := &Writer{buf: bufio.NewWriterSize(w, Size), stop: make(chan struct{}), done: make(chan struct{})}
	go bw.loop(interval)
	return bw
}

func (w *Writer) loop(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.Flush()
		case <-w.stop:
			w.Flush()
			return
		}
	}
}

// Write buffers p (one log line, as slog writes them).
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dirty = true
	return w.buf.Write(p)
}

// Flush writes out everything buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.dirty {
		return nil
	}
	w.dirty = false
	return w.buf.Flush()
}

// Close flushes and stops the periodic flushing; later writes are
// buffered until the next Flush.
func (w *Writer) Close() error {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.Flush()
}

// Handler is an slog.Handler writing through h into w that flushes w after
// every record at level WARN or above.
type Handler struct {
	h slog.Handler
	w *Writer
}

// NewHandler wraps h, which must write into w.
func NewHandler(h slog.Handler, w *Writer) *Handler { return &Handler{h: h, w: w} }

// Enabled reports whether h handles level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool { return h.h.Enabled(ctx, level) }

// Handle writes r, flushing at once for WARN and above.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.h.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// WithAttrs returns a Handler whose records carry attrs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{h: h.h.WithAttrs(attrs), w: h.w}
}

// WithGroup returns a Handler whose attributes go into group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{h: h.h.WithGroup(name), w: h.w}
}

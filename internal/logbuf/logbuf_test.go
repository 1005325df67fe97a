package logbuf

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestInfoIsBatchedWarnIsImmediate(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Hour) // no periodic flush during the test
	log := slog.New(NewHandler(slog.NewTextHandler(w, nil), w))
	log.Info("access", "status", 200)
	if out.String() != "" {
		t.Fatalf("an INFO line was written at once: %q", out.String())
	}
	log.With("api", "x").Warn("slow")
	got := out.String()
	if !strings.Contains(got, "msg=access") || !strings.Contains(got, "msg=slow api=x") ||
		strings.Index(got, "msg=access") > strings.Index(got, "msg=slow") {
		t.Fatalf("WARN did not flush the lines before it, in order: %q", got)
	}
	log.Info("last")
	w.Close()
	if !strings.Contains(out.String(), "msg=last") {
		t.Errorf("Close did not flush: %q", out.String())
	}
}

func TestPeriodicFlush(t *testing.T) {
	var out syncBuffer
	w := New(&out, 10*time.Millisecond)
	defer w.Close()
	w.Write([]byte("line\n"))
	for deadline := time.Now().Add(5 * time.Second); out.String() == ""; {
		if time.Now().After(deadline) {
			t.Fatal("a buffered line was not flushed within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func BenchmarkBufferedLine(b *testing.B) {
	var out bytes.Buffer
	w := New(&out, time.Hour)
	log := slog.New(NewHandler(slog.NewTextHandler(w, nil), w))
	b.ReportAllocs()
	for b.Loop() {
		log.Info("access", "status", 200, "path", "/echo")
		if out.Len() > 1<<20 {
			out.Reset()
		}
	}
}

package connlimit

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"
)

func listen(t *testing.T, max int) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, max, "test", slog.New(slog.DiscardHandler))
	t.Cleanup(func() { l.Close() })
	return l
}

// accepted dials l n times and returns the server sides.
func accepted(t *testing.T, l *Listener, n int) []net.Conn {
	t.Helper()
	var out []net.Conn
	for range n {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestCapEvictsOldestIdleElseRefuses(t *testing.T) {
	l := listen(t, 2)
	conns := accepted(t, l, 2)
	l.SetIdle(conns[1], true)
	time.Sleep(time.Millisecond)
	l.SetIdle(conns[0], true) // conns[1] is idle the longest
	third := accepted(t, l, 1)[0]
	if st := l.Stats(); st.Open != 2 || st.Evicted != 1 || st.Refused != 0 {
		t.Fatalf("after eviction: %+v", st)
	}
	if _, err := conns[1].Read(make([]byte, 1)); err == nil {
		t.Error("the oldest idle connection is still open")
	}
	// No idle connection left but conns[0]: make it busy, then a new
	// connection is refused (closed at once) and Accept keeps waiting.
	l.SetIdle(conns[0], false)
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan net.Conn)
	go func() {
		s, _ := l.Accept()
		done <- s
	}()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("a connection past the cap was not closed: read %v", err)
	}
	if st := l.Stats(); st.Refused != 1 || st.Open != 2 {
		t.Errorf("after refusal: %+v", st)
	}
	// Closing a connection frees its slot: the next one is accepted.
	third.Close()
	third.Close() // twice is harmless
	c2, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	select {
	case s := <-done:
		s.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted after a slot was freed")
	}
	if st := l.Stats(); st.Open != 1 {
		t.Errorf("open = %d after closing, want 1", st.Open)
	}
}

func TestSetIdleSeesThroughTLS(t *testing.T) {
	l := listen(t, 1)
	s := accepted(t, l, 1)[0]
	l.SetIdle(tls.Server(s, &tls.Config{}), true)
	l.mu.Lock()
	n := len(l.idle)
	l.mu.Unlock()
	if n != 1 {
		t.Errorf("a *tls.Conn over a capped connection was not marked idle")
	}
}

func TestDerived(t *testing.T) {
	if n := Derived(); n < 64 || n > MaxDerived {
		t.Errorf("Derived() = %d, want within [64, %d]", n, MaxDerived)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

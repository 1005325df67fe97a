// Package connlimit caps the connections a listener holds open.
//
// A [Listener] wraps a net.Listener. Past its cap a new connection makes
// room by closing the oldest idle one (an HTTP keep-alive connection
// between requests, or one that has not sent a request yet), as nginx
// reuses keep-alive connections when it runs out; with none idle the new
// connection is refused (closed at once). Either way the server never
// reaches the process's file-descriptor limit, where accepting fails and
// new clients time out without a word.
//
// Reaching the cap and failing to accept are logged at WARN, at most once
// per [WarnEvery] each, with the number of events since the last line.
package connlimit

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// WarnEvery is the shortest interval between two warnings of one kind.
const WarnEvery = 10 * time.Second

// MaxDerived is the most connections a derived cap ([Derived]) allows.
const MaxDerived = 10000

// Derived returns the default cap: 3/4 of the process's file-descriptor
// limit (leaving the rest for files, the metrics listener and outgoing
// connections), at least 64 and at most [MaxDerived].
func Derived() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 1024
	}
	n := rl.Cur / 4 * 3
	switch {
	case n < 64:
		return 64
	case n > MaxDerived:
		return MaxDerived
	}
	return int(n)
}

// Stats are a listener's counts since it was made.
type Stats struct {
	Open, Max                      int64
	Refused, Evicted, AcceptErrors uint64
}

// Listener is a net.Listener that holds at most Max connections open.
type Listener struct {
	net.Listener
	name string
	max  int64
	log  *slog.Logger

	open                           atomic.Int64
	refused, evicted, acceptErrors atomic.Uint64

	mu   sync.Mutex
	idle map[*Conn]time.Time // evictable connections, since when

	capWarn, acceptWarn warner
}

// New wraps ln with a cap of max connections (max <= 0: [Derived]). name
// ("api", "metrics") labels its log lines.
func New(ln net.Listener, max int, name string, log *slog.Logger) *Listener {
	if max <= 0 {
		max = Derived()
	}
	if log == nil {
		log = slog.Default()
	}
	return &Listener{Listener: ln, name: name, max: int64(max), log: log, idle: map[*Conn]time.Time{}}
}

// Max returns the cap.
func (l *Listener) Max() int { return int(l.max) }

// Stats returns the current counts.
func (l *Listener) Stats() Stats {
	return Stats{Open: l.open.Load(), Max: l.max, Refused: l.refused.Load(),
		Evicted: l.evicted.Load(), AcceptErrors: l.acceptErrors.Load()}
}

// Accept waits for a connection within the cap. Accept errors are counted,
// logged (rate-limited) and returned, so the server's own retry logic runs.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.acceptErrors.Add(1)
				if n, ok := l.acceptWarn.due(); ok {
					l.log.Warn("accepting connections fails; clients are waiting or refused",
						"listener", l.name, "error", err.Error(), "failures_since_last_warning", n)
				}
			}
			return nil, err
		}
		if l.open.Add(1) > l.max && !l.evictOldest() {
			l.open.Add(-1)
			l.refused.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // free the socket now
			}
			c.Close()
			if n, ok := l.capWarn.due(); ok {
				l.log.Warn("connection limit reached: refusing new connections (api_server.http.max_connections)",
					"listener", l.name, "max_connections", l.max, "refused_since_last_warning", n)
			}
			continue
		}
		return &Conn{Conn: c, l: l}, nil
	}
}

// evictOldest closes the connection idle the longest, if any; its slot
// passes to the connection being accepted.
func (l *Listener) evictOldest() bool {
	l.mu.Lock()
	var oldest *Conn
	var since time.Time
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	if oldest != nil {
		delete(l.idle, oldest)
	}
	l.mu.Unlock()
	if oldest == nil {
		return false
	}
	l.evicted.Add(1)
	oldest.close(false)
	return true
}

// SetIdle marks c as evictable (idle true) or busy. Servers call it when a
// connection starts or finishes waiting for a request (for net/http, from
// http.Server.ConnState). c must be a connection this listener returned,
// or a *tls.Conn over one; others are ignored.
func (l *Listener) SetIdle(c net.Conn, idle bool) {
	if tc, ok := c.(*tls.Conn); ok { // a TLS listener wraps this one's
		c = tc.NetConn()
	}
	cc, ok := c.(*Conn)
	if !ok || cc.l != l {
		return
	}
	l.mu.Lock()
	if idle && !cc.closed.Load() {
		l.idle[cc] = time.Now()
	} else {
		delete(l.idle, cc)
	}
	l.mu.Unlock()
}

// Conn is a connection accepted by a [Listener]; closing it frees its slot.
type Conn struct {
	net.Conn
	l      *Listener
	closed atomic.Bool
}

// Close closes the connection and frees its slot.
func (c *Conn) Close() error { return c.close(true) }

func (c *Conn) close(forget bool) error {
	if c.closed.Swap(true) {
		return c.Conn.Close()
	}
	if forget {
		c.l.SetIdle(c, false)
	}
	c.l.open.Add(-1)
	return c.Conn.Close()
}

// CloseWrite shuts down the writing side, when the connection can (net/http
// uses it to close gracefully).
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// warner rate-limits one kind of warning.
type warner struct {
	mu     sync.Mutex
	last   time.Time
	missed uint64
}

// due counts an event and reports whether to log it now, with the number
// of events since the last line (this one included).
func (w *warner) due() (uint64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.missed++
	now := time.Now()
	if !w.last.IsZero() && now.Sub(w.last) < WarnEvery {
		return 0, false
	}
	n := w.missed
	w.last, w.missed = now, 0
	return n, true
}

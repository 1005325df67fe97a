package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// httpTarget is one HTTP request the load generator repeats.
type httpTarget struct {
	name        string
	url         string // full URL, e.g. http://127.0.0.1:3000/echo
	addr        string // host:port
	path        string
	contentType string
	body        []byte
	want        []byte // the expected response body (compared after trimming spaces)
}

// netHTTPFactory drives t with net/http: one shared Transport keeping conc
// idle keep-alive connections, a fresh *http.Request per call.
func netHTTPFactory(t httpTarget, conc int) (workerFactory, func()) {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conc,
		MaxIdleConnsPerHost: conc,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	want := bytes.TrimSpace(t.want)
	factory := func(int) (callFunc, func(), error) {
		buf := make([]byte, 0, len(t.want)+64)
		call := func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", t.contentType)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			buf = buf[:0]
			bw := bytes.NewBuffer(buf)
			_, err = bw.ReadFrom(resp.Body)
			resp.Body.Close()
			buf = bw.Bytes()
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: status %s: %s", t.name, resp.Status, truncateBytes(buf, 200))
			}
			if !bytes.Equal(bytes.TrimSpace(buf), want) {
				return errMismatch(t.name, buf, t.want)
			}
			return nil
		}
		return call, nil, nil
	}
	return factory, tr.CloseIdleConnections
}

// rawFactory drives t with a minimal HTTP/1.1 client: one keep-alive TCP
// connection per goroutine, a pre-built request, and a response parser that
// reads the status line, Content-Length and body without allocating. It
// costs the client far less CPU than net/http, so on a 2-core machine more of
// the CPU goes to the server.
func rawFactory(t httpTarget) workerFactory {
	req := []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		t.path, t.addr, t.contentType, len(t.body)))
	req = append(req, t.body...)
	return func(int) (callFunc, func(), error) {
		c := &rawConn{addr: t.addr, req: req, name: t.name, want: bytes.TrimSpace(t.want)}
		return c.call, c.close, nil
	}
}

type rawConn struct {
	addr string
	name string
	req  []byte
	want []byte
	conn net.Conn
	br   *bufio.Reader
	body []byte
}

func (c *rawConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

func (c *rawConn) call(ctx context.Context) error {
	if c.conn == nil {
		d := net.Dialer{Timeout: 5 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return err
		}
		c.conn = conn
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 16<<10)
		} else {
			c.br.Reset(conn)
		}
	}
	status, n, keep, err := rawRoundTrip(c.conn, c.br, c.req, &c.body)
	if err != nil || !keep {
		c.close()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: status %d: %s", c.name, status, truncateBytes(c.body[:n], 200))
	}
	if !bytes.Equal(bytes.TrimSpace(c.body[:n]), c.want) {
		return errMismatch(c.name, c.body[:n], c.want)
	}
	return nil
}

var (
	errChunked   = errors.New("raw client: chunked responses are not supported")
	errNoLength  = errors.New("raw client: response has no Content-Length")
	errBadStatus = errors.New("raw client: malformed status line")
)

// rawRoundTrip writes req on conn and reads one response from br into *body,
// returning the status, the body length and whether the connection may be
// reused. It allocates only to grow *body.
func rawRoundTrip(conn net.Conn, br *bufio.Reader, req []byte, body *[]byte) (status, n int, keep bool, err error) {
	if _, err = conn.Write(req); err != nil {
		return 0, 0, false, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, false, errBadStatus
	}
	status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	length := -1
	keep = true
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, 0, false, err
		}
		if len(line) <= 2 { // "\r\n": end of headers
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		key, val := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case asciiEqualFold(key, "content-length"):
			length = 0
			for _, ch := range val {
				if ch < '0' || ch > '9' {
					return 0, 0, false, errNoLength
				}
				length = length*10 + int(ch-'0')
			}
		case asciiEqualFold(key, "transfer-encoding"):
			return 0, 0, false, errChunked
		case asciiEqualFold(key, "connection"):
			if asciiEqualFold(val, "close") {
				keep = false
			}
		}
	}
	if length < 0 {
		return 0, 0, false, errNoLength
	}
	if cap(*body) < length {
		*body = make([]byte, length)
	}
	*body = (*body)[:cap(*body)]
	if _, err = io.ReadFull(br, (*body)[:length]); err != nil {
		return 0, 0, false, err
	}
	return status, length, keep, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "..."
	}
	return strconv.Quote(string(b))
}

package bento_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"

	"github.com/gobento/bento"
)

// TestRequestMemoryMultiple measures every byte the server allocates while
// serving one accepted request (body, decoded input, answer), as a
// multiple of its body size, for each kind of body: an upper bound of the
// request's peak memory, stated in docs/hardening.md. A raw TCP client
// keeps the client's own allocations out of the measure (they are a few
// hundred bytes). The 100 000-row NDArray, for instance, decodes to 3.2 MB
// of float64 plus 2.4 MB of row headers from a 1.8 MB body.
func TestRequestMemoryMultiple(t *testing.T) {
	svc := bento.NewService("memory")
	bento.API(svc, "rows", bento.NDArray[[][]float64](bento.Shape(-1, 4)), bento.NDArray[[]int](),
		func(_ context.Context, rows [][]float64) ([]int, error) { return make([]int, len(rows)), nil })
	type item struct {
		A float64 `json:"a"`
		B string  `json:"b"`
	}
	bento.API(svc, "doc", bento.JSON[[]item](), bento.JSON[int](),
		func(_ context.Context, d []item) (int, error) { return len(d), nil })
	bento.API(svc, "text", bento.Text(), bento.JSON[int](),
		func(_ context.Context, s string) (int, error) { return len(s), nil })
	srv := relStartHTTP(t, svc, testConfig(t))
	jsonDoc := bytes.Repeat([]byte(`{"a":1.5,"b":"xyz"},`), 100_000)
	jsonDoc = append(append([]byte{'['}, jsonDoc[:len(jsonDoc)-1]...), ']')
	for _, c := range []struct {
		name, path, ctype string
		body              []byte
		max               float64 // allowed multiple of the body size
	}{
		{"NDArray 100k rows", "/rows", "application/json", rowsBody(100_000), 7},
		{"JSON 100k objects", "/doc", "application/json", jsonDoc, 10},
		{"Text 2 MB", "/text", "text/plain", bytes.Repeat([]byte("x"), 2<<20), 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", c.path, c.ctype, len(c.body)))
			conn, err := net.Dial("tcp", srv.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			send := func() {
				conn.Write(req)
				conn.Write(c.body)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			send() // warm up
			const n = 5
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range n {
				send()
			}
			runtime.ReadMemStats(&after)
			multiple := float64(after.TotalAlloc-before.TotalAlloc) / float64(n*len(c.body))
			t.Logf("%s: %.1f MB body, server allocates %.2f× its size per request", c.name, float64(len(c.body))/1e6, multiple)
			if multiple > c.max {
				t.Errorf("allocates %.2f× the body size, want at most %v×", multiple, c.max)
			}
		})
	}
}

package bento_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento"
	"github.com/gobento/bento/internal/pb"
)

// The request-path benchmarks of issue 7. Each runs a real server on
// loopback and compares gobento with a bare net/http handler doing the same
// work. The whole-system load benchmark is `go run ./bench` (BENCHMARKS.md).
//
//	go test -run '^$' -bench 'EchoHTTP|HandlerEcho' -benchmem .
//
// BenchmarkEchoHTTP uses a net/http client, so its allocations include the
// client's. BenchmarkHandlerEcho uses a minimal HTTP/1.1 client that
// allocates nothing per request, so its allocs/op and B/op are the server's.

// benchDoc is the document of examples/echo's echo_json API.
type benchDoc struct {
	Text   string            `json:"text"`
	Values []float64         `json:"values"`
	Meta   map[string]string `json:"meta,omitempty"`
}

var benchText = []byte("gobento echo benchmark payload: the quick brown fox jumps over the l") // 68 bytes

func benchJSON(tb testing.TB) []byte {
	vals := make([]float64, 16)
	for i := range vals {
		vals[i] = float64(i)*0.125 + 0.5
	}
	b, err := json.Marshal(benchDoc{Text: string(benchText), Values: vals, Meta: map[string]string{"source": "bench", "lang": "en"}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// echoService is examples/echo's service.
func echoService() *bento.Service {
	svc := bento.NewService("echo")
	bento.API(svc, "echo", bento.Text(), bento.Text(),
		func(_ context.Context, s string) (string, error) { return s, nil })
	bento.API(svc, "echo_json", bento.JSON[benchDoc](), bento.JSON[benchDoc](),
		func(_ context.Context, d benchDoc) (benchDoc, error) { return d, nil })
	return svc
}

// startBareEcho serves the bare handlers of bench/ on loopback.
func startBareEcho(tb testing.TB) string {
	tb.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 20<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(body)
	})
	mux.HandleFunc("POST /echo_json", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 20<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var d benchDoc
		if err := json.Unmarshal(body, &d); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, _ := json.Marshal(d)
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	// The same server timeouts as gobento's defaults.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	go hs.Serve(ln)
	tb.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}

// benchServers starts gobento (metrics on and off) and the bare server and
// returns their base URLs by name.
func benchServers(tb testing.TB) map[string]string {
	on := startHTTP(tb, echoService(), nil)
	cfg := testConfig(tb)
	cfg.APIServer.Metrics.Enabled = false
	off := startHTTP(tb, echoService(), cfg)
	// The access log is on by default but writes nothing through the tests'
	// discarding logger; this server formats every line (text, to
	// io.Discard), which is its cost without the write to stderr.
	logged := startHTTPWith(tb, echoService(), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Tracing on, every request sampled, spans made and exported to a
	// discarding exporter (in_memory): the cost of tracing without the
	// network.
	cfg = testConfig(tb)
	typ, rate := "in_memory", 1.0
	cfg.Tracing.ExporterType, cfg.Tracing.SampleRate = &typ, &rate
	traced := startHTTP(tb, echoService(), cfg)
	return map[string]string{"gobento": on.URL(), "gobento_metrics_off": off.URL(), "gobento_accesslog": logged.URL(),
		"gobento_traced": traced.URL(), "bare": startBareEcho(tb)}
}

// TestRequestPathAllocationBudget keeps the request path's allocations
// within a fixed budget of the bare net/http handler doing the same work,
// and metrics at no allocation at all: a regression here fails CI rather
// than waiting for the next load benchmark. The client (rawExchange)
// allocates nothing, so the process's allocation count per request is the
// server's.
func TestRequestPathAllocationBudget(t *testing.T) {
	urls := benchServers(t)
	docJSON := benchJSON(t)
	perRequest := func(server, path string, body []byte) float64 {
		t.Helper()
		addr := urls[server][len("http://"):]
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ct := "text/plain"
		if strings.Contains(path, "json") {
			ct = "application/json"
		}
		req := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
			path, addr, ct, len(body), body)
		br := bufio.NewReaderSize(conn, 16<<10)
		buf := make([]byte, 4096)
		exchange := func(n int) {
			for range n {
				m, err := rawExchange(conn, br, req, buf)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(bytes.TrimSpace(buf[:m]), body) {
					t.Fatalf("%s%s answered %q", server, path, buf[:m])
				}
			}
		}
		exchange(200) // warm up pools and buffers
		const n = 2000
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		exchange(n)
		runtime.ReadMemStats(&after)
		return float64(after.Mallocs-before.Mallocs) / n
	}
	// The same run measures every side, so the budget holds whatever the
	// Go version's own allocation counts are.
	echo, echoOff, bare := perRequest("gobento", "/echo", benchText), perRequest("gobento_metrics_off", "/echo", benchText), perRequest("bare", "/echo", benchText)
	js, bareJS := perRequest("gobento", "/echo_json", docJSON), perRequest("bare", "/echo_json", docJSON)
	t.Logf("allocations per request: echo %.1f (metrics off %.1f, bare %.1f), echo_json %.1f (bare %.1f)", echo, echoOff, bare, js, bareJS)
	const budget = 3 // request id, lazily armed deadline, 504 timer guard
	if echo > bare+budget {
		t.Errorf("echo allocates %.1f per request, bare net/http %.1f: over the budget of %d more", echo, bare, budget)
	}
	if js > bareJS+budget {
		t.Errorf("echo_json allocates %.1f per request, bare encoding/json %.1f: over the budget of %d more", js, bareJS, budget)
	}
	if echo > echoOff+0.5 {
		t.Errorf("metrics on %.1f vs off %.1f allocations per request: metrics must not allocate", echo, echoOff)
	}
}

// BenchmarkEchoHTTP posts to echo over loopback with net/http, one request
// at a time; allocs/op include the client's.
func BenchmarkEchoHTTP(b *testing.B) {
	urls := benchServers(b)
	for _, name := range []string{"gobento", "bare"} {
		b.Run(name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
			defer client.CloseIdleConnections()
			url := urls[name] + "/echo"
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Post(url, "text/plain", bytes.NewReader(benchText))
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Equal(buf.Bytes(), benchText) {
					b.Fatalf("status %d, body %q", resp.StatusCode, buf.Bytes())
				}
			}
		})
	}
}

// BenchmarkHandlerEcho drives the servers with a client that allocates
// nothing per request (several keep-alive connections in parallel), so the
// reported allocs/op and B/op are the server's request path.
func BenchmarkHandlerEcho(b *testing.B) {
	urls := benchServers(b)
	docJSON := benchJSON(b)
	cases := []struct {
		name, server, path string
		body               []byte
	}{
		{"gobento", "gobento", "/echo", benchText},
		{"gobento_metrics_off", "gobento_metrics_off", "/echo", benchText},
		{"gobento_accesslog", "gobento_accesslog", "/echo", benchText},
		{"gobento_traced", "gobento_traced", "/echo", benchText},
		{"bare", "bare", "/echo", benchText},
		{"gobento_json", "gobento", "/echo_json", docJSON},
		{"bare_json", "bare", "/echo_json", docJSON},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			addr := urls[tc.server][len("http://"):]
			ct := "text/plain"
			if strings.Contains(tc.path, "json") {
				ct = "application/json"
			}
			req := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
				tc.path, addr, ct, len(tc.body), tc.body)
			b.SetParallelism(8)
			b.ReportAllocs()
			cpu0 := processCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer conn.Close()
				br := bufio.NewReaderSize(conn, 16<<10)
				body := make([]byte, 4096)
				for pb.Next() {
					n, err := rawExchange(conn, br, req, body)
					if err != nil {
						b.Error(err)
						return
					}
					if !bytes.Equal(bytes.TrimSpace(body[:n]), tc.body) {
						b.Errorf("body %q, want %q", body[:n], tc.body)
						return
					}
				}
			})
			// The process's CPU time per request, client and server,
			// garbage collection included: compare it between cases (the
			// client's share is the same in each).
			b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU returns the CPU time (user + system) the process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawExchange writes req and reads one 200 response with a Content-Length
// into body, returning the body length. It does not allocate.
func rawExchange(conn net.Conn, br *bufio.Reader, req, body []byte) (int, error) {
	if _, err := conn.Write(req); err != nil {
		return 0, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return 0, fmt.Errorf("status line %q", line)
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 16 && bytes.EqualFold(line[:15], []byte("Content-Length:")) {
			length = 0
			for _, c := range bytes.TrimSpace(line[15:]) {
				length = length*10 + int(c-'0')
			}
		}
	}
	if length < 0 || length > len(body) {
		return 0, fmt.Errorf("bad Content-Length %s", strconv.Itoa(length))
	}
	_, err = io.ReadFull(br, body[:length])
	return length, err
}

// bareGRPCEcho is a bare grpc-go BentoService answering Call with its text.
type bareGRPCEcho struct {
	pb.UnimplementedBentoServiceServer
}

func (bareGRPCEcho) Call(_ context.Context, req *pb.Request) (*pb.Response, error) {
	return &pb.Response{Content: &pb.Response_Text{Text: wrapperspb.String(req.GetText().GetValue())}}, nil
}

// BenchmarkGRPCCall calls echo over loopback gRPC, 64 calls in flight over
// one connection, on gobento's serve-grpc and on a bare grpc-go server
// with the same generated service. allocs/op include the client's, which
// is the same code on both sides.
//
//	go test -run '^$' -bench GRPCCall -benchmem .
func BenchmarkGRPCCall(b *testing.B) {
	_, gobento, _ := startGRPC(b, echoService(), nil)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bare := grpc.NewServer()
	pb.RegisterBentoServiceServer(bare, bareGRPCEcho{})
	go bare.Serve(ln)
	b.Cleanup(bare.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })

	req := &pb.Request{ApiName: "echo", Content: &pb.Request_Text{Text: wrapperspb.String(string(benchText))}}
	for _, tc := range []struct {
		name   string
		client pb.BentoServiceClient
	}{{"gobento", gobento}, {"bare", pb.NewBentoServiceClient(conn)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(32) // 64 goroutines on 2 CPUs
			b.RunParallel(func(p *testing.PB) {
				for p.Next() {
					resp, err := tc.client.Call(context.Background(), req)
					if err != nil {
						b.Error(err)
						return
					}
					if resp.GetText().GetValue() != string(benchText) {
						b.Errorf("answer %q", resp.GetText().GetValue())
						return
					}
				}
			})
		})
	}
}

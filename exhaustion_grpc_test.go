package bento_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/gobento/bento"
	"github.com/gobento/bento/internal/pb"
)

// h2conn is a raw HTTP/2 client connection, for sending what no gRPC client
// would.
type h2conn struct {
	c      net.Conn
	fr     *http2.Framer
	resets int // RST_STREAM frames received
	goaway bool
	mu     sync.Mutex
	done   chan struct{}
}

func dialH2(t *testing.T, addr string) *h2conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := &h2conn{c: c, fr: http2.NewFramer(c, c), done: make(chan struct{})}
	c.Write([]byte(http2.ClientPreface))
	h.fr.WriteSettings()
	go func() { // read until the connection ends (only the test writes)
		defer close(h.done)
		for {
			f, err := h.fr.ReadFrame()
			if err != nil {
				return
			}
			h.mu.Lock()
			switch f.(type) {
			case *http2.RSTStreamFrame:
				h.resets++
			case *http2.GoAwayFrame:
				h.goaway = true
			}
			h.mu.Unlock()
		}
	}()
	return h
}

// callHeaders is an HPACK block opening a Call stream, plus extra encoded
// fields.
func callHeaders(extra []byte) []byte {
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/bentoml.grpc.v1.BentoService/Call"},
		{":authority", "x"}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	b.Write(extra)
	return b.Bytes()
}

// grpcGoroutines scrapes go_goroutines from the server's metrics.
func grpcGoroutines(t *testing.T, metricsURL string) float64 {
	t.Helper()
	v, _ := sample(scrape(t, metricsURL), "go_goroutines", nil)
	return v
}

// legitGRPC calls classify over gRPC in a loop until stopped.
func legitGRPC(t *testing.T, addr string) *legit {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c := pb.NewBentoServiceClient(conn)
	l := &legit{stop: make(chan struct{}), done: make(chan struct{})}
	req := &pb.Request{ApiName: "classify", Content: &pb.Request_Ndarray{Ndarray: &pb.NDArray{
		Dtype: pb.NDArray_DTYPE_DOUBLE, Shape: []int32{1, 4}, DoubleValues: []float64{5.9, 3.0, 5.1, 1.8}}}}
	go func() {
		defer close(l.done)
		defer conn.Close()
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			t0 := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := c.Call(ctx, req)
			cancel()
			if status.Code(err) == codes.Unavailable && strings.Contains(status.Convert(err).Message(), "cannot meet max_latency") {
				l.shed++
			} else if err != nil || len(resp.GetNdarray().GetInt64Values())+len(resp.GetNdarray().GetInt32Values()) != 1 {
				l.failures = append(l.failures, fmt.Sprintf("%v %v", resp, err))
			} else {
				l.lat = append(l.lat, time.Since(t0))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return l
}

// Attack 2a: one connection opening 20 000 streams that never send their
// message used to cost a goroutine each, forever. Now a connection runs at
// most 100 streams (grpc-go refuses the others and stops reading the
// connection until one ends), and no stream outlives its connection's
// max_connection_age plus traffic.timeout.
// Attack 2b: HPACK amplification, one 3.9 KB header referenced thousands
// of times, used to decode to gigabytes; decoding now stops at 16 KiB per
// header list and the stream is reset.
func TestExhaustGRPCStreams(t *testing.T) {
	p := startExample(t, "iris_classifier", true, "api_server.traffic.timeout=1", "api_server.grpc.max_connection_age=2")
	base := grpcGoroutines(t, p.metrics)
	l := legitGRPC(t, p.addr)

	flood := dialH2(t, p.addr)
	hdr := callHeaders(nil)
	flood.c.SetWriteDeadline(time.Now().Add(3 * time.Second))
	opened := 0
	for id := uint32(1); opened < 20000; id += 2 {
		if err := flood.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hdr, EndHeaders: true}); err != nil {
			break // the server stopped reading this connection
		}
		opened++
	}
	time.Sleep(500 * time.Millisecond)
	during := grpcGoroutines(t, p.metrics)
	t.Logf("flood: %d streams written; goroutines %v before, %v during", opened, base, during)
	if during > base+150 {
		t.Errorf("goroutines %v during a stream flood (%v before): streams are not bounded per connection", during, base)
	}

	amp := dialH2(t, p.addr)
	var first bytes.Buffer
	enc := hpack.NewEncoder(&first)
	enc.WriteField(hpack.HeaderField{Name: "x-big-bin", Value: strings.Repeat("a", 3900)}) // indexed as 62
	refs := bytes.Repeat([]byte{0x80 | 62}, 4000)                                          // 4000 × 3.9 KB decoded
	amp.c.SetWriteDeadline(time.Now().Add(3 * time.Second))
	amp.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: callHeaders(first.Bytes()), EndHeaders: true})
	sentAmp := 0
	for id := uint32(3); id < 3+2*300; id += 2 {
		if amp.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: callHeaders(refs), EndHeaders: true}) != nil {
			break
		}
		sentAmp++
	}
	time.Sleep(500 * time.Millisecond)
	amp.mu.Lock()
	resets := amp.resets
	amp.mu.Unlock()
	t.Logf("amplification: %d header blocks of %d KB on the wire (%d MB decoded if unbounded), %d streams reset",
		sentAmp, len(refs)>>10, sentAmp*len(refs)*3900>>20, resets)
	if resets < sentAmp/2 {
		t.Errorf("%d of %d oversized header lists were reset", resets, sentAmp)
	}

	// The flood's streams end with their connection, at most
	// max_connection_age (2 s, +10% jitter) + traffic.timeout (1 s) in.
	time.Sleep(3500 * time.Millisecond)
	if after := grpcGoroutines(t, p.metrics); after > base+150 {
		t.Errorf("goroutines %v after the timeout, %v before", after, base)
	}
	l.finish(t)
	checkServerLatency(t, p.metrics, "api_name", "classify")
	p.checkRSS(t)
}

// Calls that grpc-go refuses before the API runs are counted under
// api_name "<unmatched>" with the status the client got: a message over
// the limit (RESOURCE_EXHAUSTED: 429), a message that does not unmarshal
// (grpc-go answers INTERNAL: 500) and a call whose deadline passed before
// it started (DEADLINE_EXCEEDED: 504).
func TestGRPCRefusedCallsCounted(t *testing.T) {
	svc := bento.NewService("refused")
	bento.API(svc, "echo", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) { return s, nil })
	cfg := testConfig(t)
	cfg.APIServer.HTTP.MaxRequestSize = 1024 // the gRPC receive limit follows it
	srv, c := relStartGRPC(t, svc, cfg)
	big := &pb.Request{ApiName: "echo", Content: &pb.Request_SerializedBytes{SerializedBytes: bytes.Repeat([]byte("x"), 4096)}}
	_, err := c.Call(context.Background(), big)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized message: %v, want RESOURCE_EXHAUSTED", err)
	}
	conn, err := grpc.NewClient(srv.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out []byte
	err = conn.Invoke(context.Background(), "/bentoml.grpc.v1.BentoService/Call", []byte{0xff, 0xff, 0xff}, &out, grpc.ForceCodecV2(rawCodec{}))
	if status.Code(err) != codes.Internal {
		t.Fatalf("malformed message: %v, want INTERNAL", err)
	}
	// A call whose own deadline (grpc-timeout) has passed when its headers
	// arrive: grpc-go would refuse it before any handler.
	h := dialH2(t, srv.Addr().String())
	var extra bytes.Buffer
	hpack.NewEncoder(&extra).WriteField(hpack.HeaderField{Name: "grpc-timeout", Value: "1n"})
	h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: callHeaders(extra.Bytes()), EndHeaders: true})
	time.Sleep(200 * time.Millisecond)

	fams := relSettledScrape(t, srv.MetricsURL())
	for code, want := range map[string]float64{"429": 1, "500": 1, "504": 1} {
		got, _ := sample(fams, "bentoml_api_server_request_total", map[string]string{"api_name": "<unmatched>", "http_response_code": code})
		if got != want {
			t.Errorf("request_total{api_name=<unmatched>,code=%s} = %v, want %v", code, got, want)
		}
	}
}

// rawCodec sends []byte messages as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// A connection that sends the HTTP/2 preface and nothing else is closed
// with GOAWAY after the idle timeout (api_server.http.idle_timeout).
func TestGRPCIdleConnectionExpires(t *testing.T) {
	svc := bento.NewService("idle")
	bento.API(svc, "echo", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) { return s, nil })
	cfg := testConfig(t)
	cfg.APIServer.HTTP.IdleTimeout = 1
	srv, _ := relStartGRPC(t, svc, cfg)
	h := dialH2(t, srv.Addr().String())
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatal("an idle connection was still open after 10 s")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.goaway {
		t.Error("the idle connection was closed without GOAWAY")
	}
}

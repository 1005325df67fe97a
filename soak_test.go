package bento_test

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento"
	"github.com/gobento/bento/internal/pb"
)

// soakSample is one measurement of the process during the soak.
type soakSample struct {
	at         time.Duration
	goroutines int
	heap       uint64 // HeapInuse after a GC
	rss        uint64 // VmRSS, 0 where /proc is missing
	requests   int64
}

// vmRSS returns the resident set size of this process from
// /proc/self/status, or 0 when it cannot be read.
func vmRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// soakDuration is 30 s, or GOBENTO_SOAK_DURATION (e.g. "10m" for make soak).
func soakDuration(t *testing.T) time.Duration {
	d := 30 * time.Second
	if s := os.Getenv("GOBENTO_SOAK_DURATION"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v < 3*time.Second {
			t.Fatalf("GOBENTO_SOAK_DURATION=%q: want a duration of at least 3s", s)
		}
		d = v
	} else if testing.Short() {
		t.Skip("soak runs without -short (or with GOBENTO_SOAK_DURATION)")
	}
	return d
}

// TestSoak serves steady mixed HTTP and gRPC load — successes and every
// kind of failure, including panics, timeouts and oversized bodies — for
// 30 s (GOBENTO_SOAK_DURATION overrides), sampling goroutines, heap and RSS.
// Between the end of the first third and the end, none may grow beyond a
// small bound; after the servers stop, the goroutines must return to where
// they were.
func TestSoak(t *testing.T) {
	dur := soakDuration(t)
	before := runtime.NumGoroutine()
	cfg := testConfig(t)
	cfg.APIServer.Traffic.Timeout = 0.2
	cfg.APIServer.HTTP.MaxRequestSize = 4096
	httpSrv, err := bento.StartHTTP(context.Background(), kitchenSink(t), cfg, bento.Logger(relDiscardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	grpcSrv, err := bento.StartGRPC(context.Background(), kitchenSink(t), cfg, bento.Logger(relDiscardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	stopServers := sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := httpSrv.Shutdown(ctx); err != nil {
			t.Errorf("HTTP Shutdown: %v", err)
		}
		if err := grpcSrv.Shutdown(ctx); err != nil {
			t.Errorf("gRPC Shutdown: %v", err)
		}
	})
	t.Cleanup(stopServers)

	u := httpSrv.URL()
	big := strings.Repeat("b", 5000)
	httpMix := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/echo", "hello", 200},
		{"POST", "/v1/shout", "soak", 200},
		{"POST", "/point", `{"x":1,"y":2}`, 200},
		{"POST", "/sum", `[[1,2],[3,4]]`, 200},
		{"POST", "/point", `{"x":`, 400},
		{"POST", "/fail", "panic", 500},
		{"POST", "/v1/shout", "model-panic", 500},
		{"POST", "/fail", "secret", 500},
		{"POST", "/fail", "busy", 503},
		{"POST", "/slow", "ignore:300ms", 504},
		{"POST", "/echo", big, 413},
		{"GET", "/echo", "", 405},
		{"POST", "/no/such", "", 404},
	}
	text := func(api, s string) *pb.Request {
		return &pb.Request{ApiName: api, Content: &pb.Request_Text{Text: wrapperspb.String(s)}}
	}
	grpcMix := []struct {
		req  *pb.Request
		code codes.Code
	}{
		{text("echo", "hello"), codes.OK},
		{text("shout", "soak"), codes.OK},
		{text("fail", "panic"), codes.Internal},
		{text("shout", "model-panic"), codes.Internal},
		{text("slow", "1s"), codes.DeadlineExceeded},
		{text("nope", "x"), codes.InvalidArgument},
		{&pb.Request{ApiName: "point", Content: &pb.Request_SerializedBytes{SerializedBytes: []byte("{")}}, codes.InvalidArgument},
	}
	conn, err := grpc.NewClient(grpcSrv.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gc := pb.NewBentoServiceClient(conn)
	hc := relClient(8)

	stop := make(chan struct{})
	var requests, failures atomic.Int64
	var wg sync.WaitGroup
	// steady load: each generator paces itself at about 100 requests/s
	const pace = 10 * time.Millisecond
	for g := range 4 {
		wg.Go(func() {
			tick := time.NewTicker(pace)
			defer tick.Stop()
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				m := httpMix[i%len(httpMix)]
				st, body, err := relSend(hc, m.method, u+m.path, "", []byte(m.body))
				requests.Add(1)
				if err != nil || st != m.status {
					if failures.Add(1) <= 5 {
						t.Errorf("%s %s: %d %.100s %v, want %d", m.method, m.path, st, body, err, m.status)
					}
				}
			}
		})
	}
	for g := range 2 {
		wg.Go(func() {
			tick := time.NewTicker(pace)
			defer tick.Stop()
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				m := grpcMix[i%len(grpcMix)]
				_, err := gc.Call(context.Background(), m.req)
				requests.Add(1)
				if status.Code(err) != m.code {
					if failures.Add(1) <= 5 {
						t.Errorf("Call %s: %v, want %v", m.req.GetApiName(), err, m.code)
					}
				}
			}
		})
	}

	every := max(dur/15, time.Second)
	start := time.Now()
	var samples []soakSample
	take := func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s := soakSample{at: time.Since(start), goroutines: runtime.NumGoroutine(), heap: ms.HeapInuse, rss: vmRSS(), requests: requests.Load()}
		samples = append(samples, s)
		t.Logf("soak %6v: %5d requests, %4d goroutines, heap %6.1f MiB, RSS %6.1f MiB",
			s.at.Round(time.Second), s.requests, s.goroutines, float64(s.heap)/(1<<20), float64(s.rss)/(1<<20))
	}
	for time.Since(start) < dur {
		time.Sleep(min(every, dur-time.Since(start)))
		take()
	}
	close(stop)
	wg.Wait()
	hc.CloseIdleConnections()
	conn.Close()

	// compare the end with the first sample at or after a third of the run
	var base soakSample
	for _, s := range samples {
		if s.at >= dur/3 {
			base = s
			break
		}
	}
	end := samples[len(samples)-1]
	if d := end.goroutines - base.goroutines; d > 20 {
		t.Errorf("goroutines grew by %d (%d → %d) under steady load", d, base.goroutines, end.goroutines)
	}
	if d := int64(end.heap) - int64(base.heap); d > 16<<20 {
		t.Errorf("heap in use grew by %.1f MiB under steady load", float64(d)/(1<<20))
	}
	if base.rss > 0 {
		if d := int64(end.rss) - int64(base.rss); d > 32<<20 {
			t.Errorf("RSS grew by %.1f MiB under steady load", float64(d)/(1<<20))
		}
	}
	if n := requests.Load(); n < int64(dur.Seconds()*100) {
		t.Errorf("only %d requests in %v: the load was not steady", n, dur)
	}
	t.Logf("soak: %d requests in %v, %d failures", requests.Load(), dur, failures.Load())

	// after the servers stop, nothing they started keeps running
	stopServers()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the servers stopped, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

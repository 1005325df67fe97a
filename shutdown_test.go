package bento_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// buildFaultsvc builds internal/testsvc/cmd/faultsvc into a temporary
// directory and returns the binary's path.
func buildFaultsvc(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build faultsvc: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "faultsvc")
	cmd := exec.Command(goBin, "build", "-o", bin, "./internal/testsvc/cmd/faultsvc")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build faultsvc: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer is a bytes.Buffer safe for concurrent Write and String.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// shutdownOutcome is one load-generator request, classified.
type shutdownOutcome struct {
	start, end time.Time
	// accepted: some byte of the response arrived (the server took the
	// request). A request that failed before any response byte —
	// connection refused, reset or closed while idle — was not accepted.
	accepted bool
	status   int
	err      error
}

// TestShutdownSIGTERMUnderLoad starts the faultsvc program, loads it with
// 32 concurrent clients calling a 200 ms API, sends it a real SIGTERM
// mid-load and checks that every request the server accepted completed
// with 200 (none lost or failed), that the server's own count of calls
// started and finished equals the clients' 200s, that new connections are
// refused, and that the process exits 0 well within the grace period.
func TestShutdownSIGTERMUnderLoad(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGTERM")
	}
	bin := buildFaultsvc(t)
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	const grace = 10 * time.Second
	cmd := exec.Command(bin, "serve-http", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--log-level", "warn")
	cmd.Env = append(os.Environ(), fmt.Sprintf("BENTOML_CONFIG_OPTIONS=api_server.shutdown_timeout=%d", int(grace.Seconds())))
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	})
	u := "http://" + addr
	probe := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := probe.Get(u + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("faultsvc exited before becoming ready: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("faultsvc not ready after 30s:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	const clients = 32
	c := relClient(clients)
	defer c.CloseIdleConnections()
	stop := make(chan struct{})
	var (
		mu       sync.Mutex
		outcomes []shutdownOutcome
		wg       sync.WaitGroup
		sent     atomic.Int64
	)
	for range clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var gotByte atomic.Bool
				trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { gotByte.Store(true) }}
				req, _ := http.NewRequest("POST", u+"/slow", strings.NewReader("200ms"))
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
				o := shutdownOutcome{start: time.Now()}
				sent.Add(1)
				resp, err := c.Do(req)
				if err == nil {
					o.status = resp.StatusCode
					var body []byte
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && o.status == 200 && string(body) != "200ms" {
						err = fmt.Errorf("body %q", body)
					}
				}
				o.end, o.err, o.accepted = time.Now(), err, gotByte.Load()
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				if !o.accepted {
					time.Sleep(5 * time.Millisecond) // refused: do not spin
				}
			}
		})
	}
	time.Sleep(700 * time.Millisecond) // a few rounds; about 32 calls in flight now
	sigAt := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// the listener closes at once, while in-flight calls still drain
	refusedAfter := time.Duration(-1)
	for time.Since(sigAt) < 2*time.Second {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			refusedAfter = time.Since(sigAt)
			break
		}
		conn.Close()
		time.Sleep(5 * time.Millisecond)
	}

	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(grace + 5*time.Second):
		t.Fatalf("faultsvc still running %v after SIGTERM:\n%s", grace+5*time.Second, stderr.String())
	}
	exitAfter := time.Since(sigAt)
	close(stop)
	wg.Wait()

	if exitErr != nil {
		t.Errorf("faultsvc exit: %v (want status 0)\n%s", exitErr, stderr.String())
	}
	if exitAfter > grace {
		t.Errorf("exit %v after SIGTERM, beyond the %v grace period", exitAfter, grace)
	}
	if refusedAfter < 0 {
		t.Error("new connections were still accepted 2s after SIGTERM")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Error("connection accepted after exit")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Logf("dial after exit: %v", err)
	}

	var ok, notAccepted, drained int
	for _, o := range outcomes {
		switch {
		case o.accepted && (o.err != nil || o.status != 200):
			t.Errorf("accepted request failed: status %d, err %v (started %v after SIGTERM)", o.status, o.err, o.start.Sub(sigAt))
		case o.accepted:
			ok++
			if o.start.Before(sigAt) && o.end.After(sigAt) {
				drained++
			}
		default:
			notAccepted++
			if o.start.Before(sigAt.Add(-300 * time.Millisecond)) {
				t.Errorf("request sent %v before SIGTERM was not accepted: %v", sigAt.Sub(o.start), o.err)
			}
		}
	}
	if drained == 0 {
		t.Error("no request was in flight at SIGTERM: the test did not exercise draining")
	}
	m := regexp.MustCompile(`faultsvc: slow started=(\d+) finished=(\d+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("faultsvc did not report its counters:\n%s", stderr.String())
	}
	started, _ := strconv.Atoi(m[1])
	finished, _ := strconv.Atoi(m[2])
	if started != finished || finished != ok {
		t.Errorf("server started %d and finished %d slow calls; clients received %d 200s", started, finished, ok)
	}
	t.Logf("%d requests: %d completed with 200 (%d of them in flight at SIGTERM and drained), %d not accepted; "+
		"listener refused %v after SIGTERM, exit 0 after %v",
		sent.Load(), ok, drained, notAccepted, refusedAfter.Round(time.Millisecond), exitAfter.Round(time.Millisecond))
}

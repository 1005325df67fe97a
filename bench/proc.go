package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux platform Go supports.
const clockTicks = 100

// server is a server process under test.
type server struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	url     string // http://127.0.0.1:port
	addr    string // 127.0.0.1:port
	exited  chan struct{}
	waitErr error
}

// cpuSeconds returns the user + system CPU time the process has used.
func (s *server) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces; fields resume after ")".
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return float64(ut+st) / clockTicks, nil
}

// peakRSS returns the process's peak resident set size (VmHWM) in bytes.
func (s *server) peakRSS() (int64, error) {
	return procStatusKB(s.cmd.Process.Pid, "VmHWM:")
}

func procStatusKB(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("%s not found in /proc/%d/status", key, pid)
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before the server binds it; startServer then fails loudly.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts bin with args (and extra environment) and waits until
// ready reports success. The child is killed if bench dies (Pdeathsig).
func (b *bench) startServer(ctx context.Context, name, bin string, args, env []string, port int,
	ready func(ctx context.Context, s *server) error) (*server, error) {
	logPath := filepath.Join(b.tmp, name+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := cmd.Start
	if b.o.pin {
		start = func() error { return startOnCPU(cmd, serverCPU) }
	}
	if err := start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &server{name: name, cmd: cmd, logPath: logPath, addr: addr, url: "http://" + addr, exited: make(chan struct{})}
	b.servers = append(b.servers, s)
	go func() { s.waitErr = cmd.Wait(); close(s.exited) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		err := ready(rctx, s)
		cancel()
		if err == nil {
			b.logf("started %s (pid %d) on %s", name, cmd.Process.Pid, addr)
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("%s exited before it was ready (%v); log: %s", name, s.waitErr, tail(logPath))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s not ready after 30 s: %v; log: %s", name, err, tail(logPath))
		}
	}
}

// httpReady polls GET path until it answers 200.
func httpReady(path string) func(ctx context.Context, s *server) error {
	return func(ctx context.Context, s *server) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	}
}

// stop ends the server with SIGTERM (SIGKILL after 5 s) and reports an
// unexpected earlier exit.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return fmt.Errorf("%s exited during the benchmark: %v; log: %s", s.name, s.waitErr, tail(s.logPath))
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	return nil
}

// alive reports an error if the server has exited.
func (s *server) alive() error {
	select {
	case <-s.exited:
		return fmt.Errorf("%s exited: %v; log: %s", s.name, s.waitErr, tail(s.logPath))
	default:
		return nil
	}
}

// tail returns the last lines of a log file for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}

package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tailBuffer is an io.Writer that keeps the last max bytes written to it. It
// collects a subprocess's stdout and stderr for the failure report.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool // some output was dropped from the front
}

// Write implements io.Writer.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.cut = true
	}
	return len(p), nil
}

// Tail returns the last n lines held by the buffer.
func (b *tailBuffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(b.buf), "\n"), "\n")
	if b.cut && len(lines) > 1 {
		lines = lines[1:] // first line is probably partial
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// process is a subprocess started by the test. It is killed in t.Cleanup if
// the test did not stop it.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed when Wait returned
	err  error         // Wait's error, valid after done is closed
}

// processes tracks every subprocess of a test so that their output can be
// dumped when the test fails.
type processes struct {
	mu    sync.Mutex
	procs []*process
}

// newProcesses returns a tracker whose cleanup (registered now, so it runs
// after every later cleanup has killed its process) logs the tail of each
// process's output if t failed.
func newProcesses(t *testing.T) *processes {
	ps := &processes{}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ps.mu.Lock()
		defer ps.mu.Unlock()
		for _, p := range ps.procs {
			state := "running"
			select {
			case <-p.done:
				state = fmt.Sprintf("exited: %v", exitDescription(p.err))
			default:
			}
			t.Logf("---- last output of %s (%s) ----\n%s\n---- end of %s ----", p.name, state, p.out.Tail(60), p.name)
		}
	})
	return ps
}

// start runs bin with args and extra environment variables. The process gets
// SIGKILL in t.Cleanup unless it was stopped before.
func (ps *processes) start(t *testing.T, name, bin string, args, env []string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if len(env) > 0 {
		cmd.Env = append(cmd.Environ(), env...)
	}
	out := &tailBuffer{max: 64 << 10}
	cmd.Stdout = out
	cmd.Stderr = out
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.procs = append(ps.procs, p)
	ps.mu.Unlock()
	t.Cleanup(p.kill)
	t.Logf("started %s (pid %d): %s %s", name, cmd.Process.Pid, bin, strings.Join(args, " "))
	return p
}

// exited reports whether the process has exited, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// kill sends SIGKILL to a process that is still running and waits for it.
func (p *process) kill() {
	if done, _ := p.exited(); done {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop sends SIGTERM and waits up to timeout for the process to exit. It
// returns the exit code, or an error if the process did not exit in time
// (it is then killed) or was ended by a signal.
func (p *process) stop(timeout time.Duration) (int, error) {
	if done, _ := p.exited(); !done {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return -1, fmt.Errorf("signal %s: %w", p.name, err)
		}
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
		return -1, fmt.Errorf("%s did not exit within %v of SIGTERM; killed", p.name, timeout)
	}
	code := p.cmd.ProcessState.ExitCode()
	if code < 0 {
		return code, fmt.Errorf("%s: %s", p.name, exitDescription(p.err))
	}
	return code, nil
}

// exitDescription describes the error returned by exec.Cmd.Wait.
func exitDescription(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

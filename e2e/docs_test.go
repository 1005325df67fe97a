package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The docs test runs the commands that README.md and docs/*.md mark as
// checked, against the real examples, and compares their output with the
// one shown. The convention, for writers of those files:
//
//   - A fenced block whose info string is "sh checked" is run; any other
//     block is only read. GitHub highlights it as sh.
//   - In a checked block, a line starting with "$ " is a command (a line
//     ending in "\" continues it). The lines after it, up to the next
//     command or the end of the block, are its expected output. With no
//     output shown, the command only has to succeed. Empty lines at the
//     end of the output are ignored.
//   - In expected output, "..." matches any text within a line, and a line
//     holding only "..." matches any number of lines. Trailing spaces are
//     ignored.
//   - "go run ./examples/NAME serve-http ..." (or serve-grpc) with no output
//     shown starts that example in the background, as a reader starts it in
//     another terminal; it runs until the next such command in the same
//     file, or the file's end. With output shown (an error at start), it
//     runs to completion like any other command, as does any other
//     "go run ./examples/NAME". The "exit status N" that go run prints when
//     the program fails is part of the output.
//   - Ports are the documented ones (3000, 3001, 5000, ...): the test maps
//     each to a free loopback port, in the servers' settings and in every
//     "localhost:PORT" of later commands. Servers listen on 127.0.0.1 only.
//   - A command whose program is not installed (grpcurl, promtool) is
//     skipped, with the reason in the test log.
//
// Commands run with bash in the repository root, each within 30 s.

// docFiles are the files whose checked blocks are run.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{filepath.Join(root, "README.md")}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append(files, more...)
}

// docCommand is one "$ " command of a checked block.
type docCommand struct {
	line int    // line of the "$ " in the file
	cmd  string // continuation lines joined
	want []string
}

// checkedCommands returns the commands of the checked blocks of a markdown
// file, in order.
func checkedCommands(t *testing.T, file string) []docCommand {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		cmds     []docCommand
		inBlock  bool
		checked  bool
		fence    string
		cont     bool // the previous command line ended in "\"
		hasCmd   bool // the current block has had a command
		lineNo   int
		sc       = bufio.NewScanner(f)
		fenceRE  = regexp.MustCompile("^(```+|~~~+)\\s*(.*)$")
		appendTo = func(s string) { c := &cmds[len(cmds)-1]; c.want = append(c.want, s) }
	)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if m := fenceRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			if !inBlock {
				inBlock, fence = true, m[1]
				checked = strings.Join(strings.Fields(m[2]), " ") == "sh checked"
				hasCmd = false
				continue
			}
			if strings.HasPrefix(m[1], fence) && m[2] == "" {
				inBlock, checked, cont = false, false, false
				continue
			}
		}
		if !inBlock || !checked {
			continue
		}
		switch {
		case cont:
			c := &cmds[len(cmds)-1]
			c.cmd += "\n" + line
			cont = strings.HasSuffix(line, `\`)
		case strings.HasPrefix(line, "$ "):
			cmds = append(cmds, docCommand{line: lineNo, cmd: strings.TrimPrefix(line, "$ ")})
			cont = strings.HasSuffix(line, `\`)
			hasCmd = true
		case !hasCmd:
			t.Errorf("%s:%d: text before the first \"$ \" command of a checked block", file, lineNo)
		default:
			appendTo(line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if inBlock {
		t.Errorf("%s: unterminated code block", file)
	}
	return cmds
}

// outputPattern turns expected output into a regular expression.
// Trailing empty lines are ignored, as normalize drops them from output.
func outputPattern(want []string) *regexp.Regexp {
	for len(want) > 0 && strings.TrimSpace(want[len(want)-1]) == "" {
		want = want[:len(want)-1]
	}
	var b strings.Builder
	b.WriteString(`\A`)
	for _, w := range want {
		w = strings.TrimRight(w, " \t")
		if w == "..." {
			b.WriteString(`(?:[^\n]*\n)*?`)
			continue
		}
		parts := strings.Split(w, "...")
		for i, p := range parts {
			if i > 0 {
				b.WriteString(`[^\n]*`)
			}
			b.WriteString(regexp.QuoteMeta(p))
		}
		b.WriteString(`\n`)
	}
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String())
}

// normalize trims trailing spaces from every line and ends the text with
// exactly one newline (none when empty).
func normalize(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	s := strings.Join(lines, "\n")
	if s == "" {
		return ""
	}
	return s + "\n"
}

var (
	// serverCmd matches a documented server start: optional environment
	// assignments, go run ./examples/NAME, serve-http or serve-grpc, flags.
	serverCmd = regexp.MustCompile(`^((?:[A-Z_]+=(?:'[^']*'|"[^"]*"|\S+)\s+)*)go run \./examples/([a-z_]+) (serve-http|serve-grpc)\b([^#]*)`)
	// goRunExample matches any other go run of an example.
	goRunExample = regexp.MustCompile(`go run \./examples/([a-z_]+)`)
	// localPort matches a loopback address with a port in a command.
	localPort = regexp.MustCompile(`\b(localhost|127\.0\.0\.1):(\d+)\b`)
	// configPort matches a port set in BENTOML_CONFIG_OPTIONS or a flag.
	configPort = regexp.MustCompile(`(port=|--port[ =])(\d+)\b`)
)

// docsRun is the state of one file's run: the examples' binaries, the port
// mapping and the server running now.
type docsRun struct {
	t      *testing.T // the running command's subtest
	fileT  *testing.T // the file's test, which owns servers and ports
	root   string
	bin    string
	ps     *processes
	ports  map[string]string // documented port -> free loopback port
	server *process
	// skipped names a skipped command since the last server start: later
	// commands may depend on it, so they are skipped too.
	skipped string
}

func (r *docsRun) port(doc string) string {
	if p, ok := r.ports[doc]; ok {
		return p
	}
	p := strconv.Itoa(freePort(r.fileT))
	r.ports[doc] = p
	return p
}

// rewrite maps documented ports and example go runs in a command.
func (r *docsRun) rewrite(cmd string) string {
	cmd = localPort.ReplaceAllStringFunc(cmd, func(s string) string {
		m := localPort.FindStringSubmatch(s)
		return m[1] + ":" + r.port(m[2])
	})
	cmd = configPort.ReplaceAllStringFunc(cmd, func(s string) string {
		m := configPort.FindStringSubmatch(s)
		return m[1] + r.port(m[2])
	})
	return goRunExample.ReplaceAllStringFunc(cmd, func(s string) string {
		return "gorun " + filepath.Join(r.bin, goRunExample.FindStringSubmatch(s)[1])
	})
}

// gorunFunc is prepended to every command: gorun runs a built example as
// go run would, which adds "exit status N" to stderr when it fails.
const gorunFunc = `gorun() { "$@"; local rc=$?; if [ $rc -ne 0 ]; then echo "exit status $rc" >&2; fi; return $rc; }
`

// serverArgs returns the command line (for env) of the server a command
// documents, listening on loopback and the mapped ports.
func (r *docsRun) serverArgs(m []string) string {
	env, name, verb, args := m[1], m[2], m[3], strings.TrimSpace(m[4])
	// Listen on loopback only, on the mapped ports: defaults first, so the
	// documented settings (rewritten) win.
	opts := []string{"api_server.http.host=127.0.0.1", "api_server.grpc.host=127.0.0.1", "api_server.grpc.metrics.host=127.0.0.1",
		"api_server.http.port=" + r.port("3000"), "api_server.grpc.port=" + r.port("3000"), "api_server.grpc.metrics.port=" + r.port("3001")}
	line := r.rewrite(strings.TrimSpace(env))
	if strings.Contains(line, "BENTOML_CONFIG_OPTIONS=") {
		line = strings.Replace(line, "BENTOML_CONFIG_OPTIONS='", "BENTOML_CONFIG_OPTIONS='"+strings.Join(opts, " ")+" ", 1)
	} else {
		line += " BENTOML_CONFIG_OPTIONS='" + strings.Join(opts, " ") + "'"
	}
	return fmt.Sprintf("%s %s %s %s --host 127.0.0.1", line, filepath.Join(r.bin, name), verb, r.rewrite(args))
}

// startServer stops the running server, if any, and starts the one the
// command documents, waiting until it logs that it serves.
func (r *docsRun) startServer(t *testing.T, m []string) {
	t.Helper()
	r.stopServer(t)
	name, verb := m[2], m[3]
	line := fmt.Sprintf("cd %q && exec env %s", r.root, r.serverArgs(m))
	// The server outlives this command's subtest: it belongs to the file's.
	p := r.ps.start(r.fileT, name+" "+verb, "bash", []string{"-c", line}, nil)
	waitFor(t, p, 60*time.Second, name+" start-up line", func() (bool, string) {
		tail := p.out.Tail(20)
		return strings.Contains(tail, "Starting production"), tail
	})
	r.server = p
}

func (r *docsRun) stopServer(t *testing.T) {
	if r.server == nil {
		return
	}
	if code, err := r.server.stop(15 * time.Second); err != nil || code != 0 {
		t.Errorf("stopping %s: exit %d, %v\n%s", r.server.name, code, err, r.server.out.Tail(20))
	}
	r.server = nil
}

// docsEnv is the environment of documented commands: the test's, without
// gobento configuration variables, with the repository's .bin (where make
// tools installs grpcurl) on the PATH.
func docsEnv(root string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "BENTOML_CONFIG=") || strings.HasPrefix(kv, "BENTOML_CONFIG_OPTIONS=") ||
			strings.HasPrefix(kv, "PATH=")
	})
	return append(env, "PATH="+docsPath(root))
}

func docsPath(root string) string {
	return filepath.Join(root, ".bin") + string(os.PathListSeparator) + os.Getenv("PATH")
}

// missingProgram returns the first program of cmd that is not installed
// among those the docs use but the test machine may lack.
func missingProgram(root, cmd string) string {
	for _, prog := range []string{"grpcurl", "promtool", "prometheus", "curl", "jq"} {
		if regexp.MustCompile(`(^|[|;&(]\s*|\$\()` + prog + `\b`).MatchString(cmd) {
			if !onPath(prog, docsPath(root)) {
				return prog
			}
		}
	}
	return ""
}

// onPath reports whether prog is an executable file in a directory of path.
func onPath(prog, path string) bool {
	for _, dir := range filepath.SplitList(path) {
		if fi, err := os.Stat(filepath.Join(dir, prog)); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return true
		}
	}
	return false
}

// TestDocsCommands runs every checked command of README.md and docs/*.md
// (see the convention above) and compares its output with the documented
// one.
func TestDocsCommands(t *testing.T) {
	root := repoRoot(t)
	bin := buildAllExamples(t, root)
	for _, file := range docFiles(t, root) {
		rel, _ := filepath.Rel(root, file)
		cmds := checkedCommands(t, file)
		if len(cmds) == 0 {
			continue
		}
		t.Run(rel, func(t *testing.T) {
			r := &docsRun{t: t, fileT: t, root: root, bin: bin, ps: newProcesses(t), ports: map[string]string{}}
			defer r.stopServer(t)
			for _, c := range cmds {
				name := fmt.Sprintf("line %d", c.line)
				ok := t.Run(name, func(t *testing.T) {
					r.t = t
					m := serverCmd.FindStringSubmatch(c.cmd)
					if m != nil && len(c.want) == 0 {
						r.startServer(t, m)
						r.skipped = ""
						return
					}
					if prog := missingProgram(root, c.cmd); prog != "" {
						r.skipped = fmt.Sprintf("line %d was skipped", c.line)
						t.Skipf("%s:%d needs %s, which is not installed (make tools installs grpcurl into .bin): %s", rel, c.line, prog, c.cmd)
					}
					if r.skipped != "" {
						t.Skipf("%s:%d: skipped because %s, whose effects it may see: %s", rel, c.line, r.skipped, c.cmd)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					run := r.rewrite(c.cmd)
					if m != nil { // a server that fails at start, with the error shown
						run = "gorun env " + r.serverArgs(m)
					}
					cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", gorunFunc+run)
					cmd.Dir = root
					cmd.Env = docsEnv(root)
					out, err := cmd.CombinedOutput()
					got := normalize(string(out))
					if len(c.want) == 0 {
						if err != nil {
							t.Errorf("%s:%d: %s\nfailed: %v\n%s", rel, c.line, c.cmd, err, got)
						}
						return
					}
					if !outputPattern(c.want).MatchString(got) {
						t.Errorf("%s:%d: %s\nran: %s\n--- documented output\n%s\n--- actual output (%v)\n%s",
							rel, c.line, c.cmd, run, strings.Join(c.want, "\n"), err, got)
					}
				})
				if !ok && r.server != nil {
					if exited, _ := r.server.exited(); exited {
						t.Fatalf("the server exited:\n%s", r.server.out.Tail(30))
					}
				}
			}
		})
	}
}

// buildAllExamples builds every example once into a temporary directory.
func buildAllExamples(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./examples/...")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/...: %v\n%s", err, out)
	}
	return dir
}

// TestDocsPatterns checks the expected-output matching of the docs test.
func TestDocsPatterns(t *testing.T) {
	tests := []struct {
		want  []string
		got   string
		match bool
	}{
		{[]string{"[2]"}, "[2]\n", true},
		{[]string{"[2]"}, "[3]\n", false},
		{[]string{`{"digit":7,"probabilities":[...]}`}, `{"digit":7,"probabilities":[0.1,0.9]}` + "\n", true},
		{[]string{"a", "...", "z"}, "a\nb\nc\nz\n", true},
		{[]string{"a", "...", "z"}, "a\nz\n", true},
		{[]string{"a", "z"}, "a\nb\nz\n", false},
		{[]string{"x..."}, "x\ny\n", false},
		{[]string{"a.b"}, "axb\n", false},
	}
	for i, tc := range tests {
		if got := outputPattern(tc.want).MatchString(normalize(tc.got)); got != tc.match {
			t.Errorf("case %d: %q against %q: match %v, want %v", i, tc.want, tc.got, got, tc.match)
		}
	}
}

// TestDocsOutputsIgnored checks that what the documented commands create in
// the repository root is in .gitignore: Prometheus' data/ folder
// (docs/monitoring.md) and the binaries of go build -o NAME ./examples/NAME.
func TestDocsOutputsIgnored(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout")
	}
	for _, p := range []string{"data/", "data/wal/00000000", "sentiment_analyzer", "iris_classifier", "image_classifier", "echo"} {
		cmd := exec.Command("git", "check-ignore", "-q", "--no-index", p)
		cmd.Dir = root
		if err := cmd.Run(); err != nil {
			t.Errorf("%s is not ignored by .gitignore (git check-ignore: %v)", p, err)
		}
	}
}

package k8s_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// moduleRoot returns the directory of go.mod above the test.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

var (
	runnerLineRE = regexp.MustCompile(`(?m)^# Runner ([a-z0-9_.-]+): `)
	apisLineRE   = regexp.MustCompile(`(?m)^# APIs: (.*) \(Service `)
)

// pureGo are the examples whose API server starts without libonnxruntime;
// the test runs their API container's command line for real.
var pureGo = []string{"echo", "io_echo", "iris_classifier", "sentiment_analyzer"}

// TestExamples builds every example, runs its `kubernetes` command (one
// Deployment, then every runner remote with replicas and a namespace) and
// checks the manifests strictly. For the pure-Go examples it then starts the
// API server with the Deployment's own arguments (on a free loopback port)
// and GETs every probe and scrape path the manifests name.
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every example")
	}
	root := moduleRoot(t)
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", bin+string(os.PathSeparator), "./examples/...")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/...: %v\n%s", err, out)
	}
	dirs, err := filepath.Glob(filepath.Join(root, "examples", "*", "main.go"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, mainGo := range dirs {
		name := filepath.Base(filepath.Dir(mainGo))
		t.Run(name, func(t *testing.T) {
			prog := filepath.Join(bin, name)
			run := func(args ...string) []byte {
				t.Helper()
				var stdout, stderr bytes.Buffer
				c := exec.Command(prog, args...)
				c.Stdout, c.Stderr = &stdout, &stderr
				if err := c.Run(); err != nil {
					t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
				}
				return stdout.Bytes()
			}
			out := run("kubernetes", "--image", "registry.example.com/"+name+":1.0")
			var runners, routes []string
			for _, m := range runnerLineRE.FindAllStringSubmatch(string(out), -1) {
				runners = append(runners, m[1])
			}
			if m := apisLineRE.FindStringSubmatch(string(out)); m != nil {
				for _, r := range strings.Split(m[1], ", ") {
					routes = append(routes, strings.TrimPrefix(r, "POST "))
				}
			}
			if len(routes) == 0 {
				t.Fatalf("the header lists no API:\n%s", out)
			}
			base := want{service: name, runners: runners, routes: routes, image: "registry.example.com/" + name + ":1.0", apiReplicas: 2}
			t.Run("one Deployment", func(t *testing.T) { checkManifests(t, out, base) })
			if len(runners) > 0 {
				t.Run("remote runners", func(t *testing.T) {
					args := []string{"kubernetes", "--image", base.image, "--namespace", "ml", "--api-replicas", "3"}
					w := base
					w.namespace, w.apiReplicas, w.remote, w.replicas = "ml", 3, runners, map[string]int{runners[0]: 4}
					for _, r := range runners {
						args = append(args, "--remote", r)
					}
					args = append(args, "--runner-replicas", runners[0]+"=4")
					checkManifests(t, run(args...), w)
				})
			}
			if slices.Contains(pureGo, name) {
				t.Run("API server answers the probe and scrape paths", func(t *testing.T) {
					checkServes(t, prog, out)
				})
			}
		})
	}
}

// checkServes starts the API server container of the one-Deployment
// manifests out with its own args (the port replaced by a free one on
// loopback) and checks that every HTTP probe path and the ServiceMonitor's
// path answer 200 once /readyz does.
func checkServes(t *testing.T, prog string, out []byte) {
	m := decodeManifests(t, out)
	if len(m.deployments) != 1 || len(m.monitors) != 1 {
		t.Fatalf("%d Deployments, %d ServiceMonitors; want 1 of each", len(m.deployments), len(m.monitors))
	}
	c := m.deployments[0].Spec.Template.Spec.Containers[0]
	port := freePort(t)
	args := slices.Clone(c.Args)
	i := slices.Index(args, "--port")
	if i < 0 || i+1 >= len(args) || args[i+1] != strconv.Itoa(int(c.Ports[0].ContainerPort)) {
		t.Fatalf("args %v: want --port %d", args, c.Ports[0].ContainerPort)
	}
	args[i+1] = strconv.Itoa(port)
	args = append(args, "--host", "127.0.0.1")

	ctx, cancel := context.WithCancel(t.Context())
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
	})

	paths := []string{m.monitors[0].Spec.Endpoints[0].Path}
	for _, p := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
		if p != nil {
			paths = append(paths, p.HTTPGet.Path)
		}
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	hc := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, error) {
		resp, err := hc.Get(base + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, err := get("/readyz")
		if err == nil && code == http.StatusOK {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("%s %v exited: %v\n%s", prog, args, err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz: %d %v after 90 s\n%s", code, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range paths {
		if code, err := get(p); err != nil || code != http.StatusOK {
			t.Errorf("GET %s: %d %v; want 200", p, code, err)
		}
	}
}

// freePort returns a TCP port that was free on loopback a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

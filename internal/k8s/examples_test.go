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
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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
					remote := run(args...)
					checkManifests(t, remote, w)
					if !slices.Contains(pureGo, name) {
						return
					}
					t.Run("API server and runners answer the probe and scrape paths", func(t *testing.T) {
						if err := exec.Command(prog, "serve-runner", "--help").Run(); err != nil {
							t.Skipf("this build has no serve-runner (%v): the split deployment is not run", err)
						}
						checkServes(t, prog, remote)
					})
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

// checkServes runs every Deployment of the manifests out on loopback, one
// process each, with the container's own args: its ports replaced by free
// ones, --host 127.0.0.1, and each --runner address replaced by the loopback
// port of that runner's process (what the headless Service resolves to in a
// cluster). Runners start first. Every process must become ready on its
// readiness probe, then answer 200 on each probe path and its
// ServiceMonitor's path, on the ports the probes and the Service name.
func checkServes(t *testing.T, prog string, out []byte) {
	m := decodeManifests(t, out)
	ports := map[string]map[int32]int{} // Deployment -> container port -> loopback port
	runnerPort := map[string]int{}      // runner -> loopback gRPC port
	deps := slices.Clone(m.deployments)
	slices.SortStableFunc(deps, func(a, b *appsv1.Deployment) int {
		ra := a.Spec.Template.Spec.Containers[0].Args[0] == "serve-runner"
		rb := b.Spec.Template.Spec.Containers[0].Args[0] == "serve-runner"
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		}
		return 0
	})
	for _, d := range deps {
		c := d.Spec.Template.Spec.Containers[0]
		pm := map[int32]int{}
		for _, p := range c.Ports {
			pm[p.ContainerPort] = freePort(t)
		}
		ports[d.Name] = pm
		args := slices.Clone(c.Args)
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "--port", "--metrics-port":
				n, err := strconv.Atoi(args[i+1])
				if err != nil || pm[int32(n)] == 0 {
					t.Fatalf("Deployment %s: %s %s is no container port", d.Name, args[i], args[i+1])
				}
				args[i+1] = strconv.Itoa(pm[int32(n)])
			case "--host":
				args[i+1] = "127.0.0.1"
			case "--runner":
				name, _, _ := strings.Cut(args[i+1], "=")
				if runnerPort[name] == 0 {
					t.Fatalf("--runner %s: no runner process started", args[i+1])
				}
				args[i+1] = fmt.Sprintf("%s=127.0.0.1:%d", name, runnerPort[name])
			}
		}
		if !slices.Contains(args, "--host") {
			args = append(args, "--host", "127.0.0.1")
		}
		if args[0] == "serve-runner" {
			n, _ := strconv.Atoi(flagValue(c.Args, "--port", ""))
			runnerPort[args[1]] = pm[int32(n)]
		}
		start(t, prog, args)

		get := func(p *corev1.Probe) (int, error) {
			cp, ok := containerPort(c, p.HTTPGet.Port)
			if !ok {
				return 0, fmt.Errorf("probe port %s is no container port", p.HTTPGet.Port.String())
			}
			return httpGet(fmt.Sprintf("http://127.0.0.1:%d%s", pm[cp.ContainerPort], p.HTTPGet.Path))
		}
		deadline := time.Now().Add(90 * time.Second)
		for {
			code, err := get(c.ReadinessProbe)
			if err == nil && code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Deployment %s (%v): readiness GET %s: %d %v after 90 s", d.Name, args, c.ReadinessProbe.HTTPGet.Path, code, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, p := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe} {
			if code, err := get(p); err != nil || code != http.StatusOK {
				t.Errorf("Deployment %s: GET %s: %d %v; want 200", d.Name, p.HTTPGet.Path, code, err)
			}
		}
	}
	// The ServiceMonitors' paths, through the Services' ports.
	for _, sm := range m.monitors {
		for _, s := range m.services {
			if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(s.Labels)) {
				continue
			}
			d := selected(t, m, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})[0]
			c := d.Spec.Template.Spec.Containers[0]
			for _, ep := range sm.Spec.Endpoints {
				for _, sp := range s.Spec.Ports {
					if sp.Name != ep.Port {
						continue
					}
					cp, _ := containerPort(c, sp.TargetPort)
					url := fmt.Sprintf("http://127.0.0.1:%d%s", ports[d.Name][cp.ContainerPort], ep.Path)
					if code, err := httpGet(url); err != nil || code != http.StatusOK {
						t.Errorf("ServiceMonitor %s: GET %s: %d %v; want 200", sm.Name, url, code, err)
					}
				}
			}
		}
	}
}

// start runs prog with args until the test ends, then interrupts it (as
// SIGTERM would) and waits for it.
func start(t *testing.T, prog string, args []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var logs lockedBuffer
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		if ctx.Err() == nil {
			t.Errorf("%s %v exited: %v\n%s", filepath.Base(prog), args, err, logs.String())
		}
		close(exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("%s %v:\n%s", filepath.Base(prog), args, logs.String())
		}
	})
}

var hc = &http.Client{Timeout: 5 * time.Second}

// httpGet returns the status of GET url.
func httpGet(url string) (int, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// lockedBuffer is a bytes.Buffer safe for a process's output and the test.
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

package k8s_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gobento/bento/internal/k8s"
)

var (
	iris = k8s.Service{Name: "iris_classifier", Runners: []string{"iris_clf"}, Routes: []string{"/classify"}}
	two  = k8s.Service{Name: "Multi.Model", Runners: []string{"enc", "ranker_v2", "cache.lookup"}, Routes: []string{"/rank", "/embed"}}
)

func TestRender(t *testing.T) {
	long := k8s.Service{
		Name:    strings.Repeat("s", 60),
		Runners: []string{strings.Repeat("r", 63), strings.Repeat("r", 62) + "x"},
		Routes:  []string{"/p"},
	}
	for _, tc := range []struct {
		name string
		svc  k8s.Service
		opts k8s.Options
		want want
	}{
		{
			name: "one Deployment by default",
			svc:  iris,
			opts: k8s.Options{Image: "registry.example.com/iris:1.0"},
			want: want{apiReplicas: 2},
		},
		{
			name: "remote runner",
			svc:  iris,
			opts: k8s.Options{Image: "ghcr.io/x/iris@sha256:0123", Namespace: "ml", APIReplicas: 3, Remote: []string{"iris_clf"}},
			want: want{apiReplicas: 3, remote: []string{"iris_clf"}},
		},
		{
			name: "some runners remote, replicas per runner",
			svc:  two,
			opts: k8s.Options{Image: "img", Remote: []string{"cache.lookup", "ranker_v2"}, RunnerReplicas: map[string]int{"ranker_v2": 5}},
			want: want{apiReplicas: 2, remote: []string{"cache.lookup", "ranker_v2"}, replicas: map[string]int{"ranker_v2": 5}},
		},
		{
			name: "no runners",
			svc:  k8s.Service{Name: "echo", Routes: []string{"/echo"}},
			opts: k8s.Options{Image: "img", APIReplicas: 1},
			want: want{apiReplicas: 1},
		},
		{
			name: "names longer than a DNS label",
			svc:  long,
			opts: k8s.Options{Image: "img", Remote: long.Runners},
			want: want{apiReplicas: 2, remote: long.Runners},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := k8s.Render(tc.svc, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			w.service, w.runners, w.routes, w.image, w.namespace = tc.svc.Name, tc.svc.Runners, tc.svc.Routes, tc.opts.Image, tc.opts.Namespace
			checkManifests(t, out, w)
		})
	}
}

func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		svc  k8s.Service
		opts k8s.Options
		want []string // substrings of the error
	}{
		{"no image", iris, k8s.Options{}, []string{"--image is required"}},
		{"unknown remote runner, close", iris, k8s.Options{Image: "i", Remote: []string{"iris_clff"}},
			[]string{`--remote iris_clff: the service iris_classifier has no runner "iris_clff" (did you mean iris_clf?); its runners: iris_clf`}},
		{"unknown runner, far", two, k8s.Options{Image: "i", Remote: []string{"zzz"}},
			[]string{`no runner "zzz"; its runners: enc, ranker_v2, cache.lookup`}},
		{"service without runners", k8s.Service{Name: "echo"}, k8s.Options{Image: "i", Remote: []string{"x"}},
			[]string{"it declares no runners"}},
		{"replicas of an in-process runner", iris, k8s.Options{Image: "i", RunnerReplicas: map[string]int{"iris_clf": 3}},
			[]string{"--runner-replicas iris_clf=3: runner iris_clf runs inside the API server; add --remote iris_clf"}},
		{"replicas of an unknown runner", iris, k8s.Options{Image: "i", RunnerReplicas: map[string]int{"iris": 3}},
			[]string{`--runner-replicas iris: the service iris_classifier has no runner "iris"`}},
		{"zero replicas", iris, k8s.Options{Image: "i", Remote: []string{"iris_clf"}, RunnerReplicas: map[string]int{"iris_clf": 0}, APIReplicas: -1},
			[]string{"--runner-replicas iris_clf=0: want at least 1", "--api-replicas -1: want at least 1"}},
		{"bad namespace", iris, k8s.Options{Image: "i", Namespace: "ML_team"}, []string{`--namespace "ML_team": want a DNS label`}},
		{"remote twice", iris, k8s.Options{Image: "i", Remote: []string{"iris_clf", "iris_clf"}}, []string{"--remote iris_clf: given twice"}},
		{"runner names that collide as DNS labels", k8s.Service{Name: "s", Runners: []string{"a_b", "a.b"}},
			k8s.Options{Image: "i", Remote: []string{"a_b", "a.b"}}, []string{`--remote a.b: its objects would be named "s-a-b" like those of runner a_b`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := k8s.Render(tc.svc, tc.opts)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestRunnerAddress(t *testing.T) {
	for _, tc := range []struct{ svc, runner, ns, want string }{
		{"iris_classifier", "iris_clf", "default", "dns:///iris-classifier-iris-clf.default.svc.cluster.local:3010"},
		{"Multi.Model", "cache.lookup", "ml", "dns:///multi-model-cache-lookup.ml.svc.cluster.local:3010"},
		{"3d", "r", "x", "dns:///g-3d-r.x.svc.cluster.local:3010"},
	} {
		if got := k8s.RunnerAddress(tc.svc, tc.runner, tc.ns, "cluster.local"); got != tc.want {
			t.Errorf("RunnerAddress(%q, %q, %q) = %q, want %q", tc.svc, tc.runner, tc.ns, got, tc.want)
		}
	}
	a := k8s.RunnerServiceName(strings.Repeat("s", 60), strings.Repeat("r", 63))
	b := k8s.RunnerServiceName(strings.Repeat("s", 60), strings.Repeat("r", 62)+"x")
	if len(a) > 63 || len(b) > 63 || a == b {
		t.Errorf("long names %q and %q: want distinct DNS labels", a, b)
	}
}

// recorder is a tb that collects the checks' failures.
type recorder struct{ errs []string }

type fatal struct{}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(fatal{})
}

func (r *recorder) check(out []byte, w want) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(fatal); !ok {
				panic(v)
			}
		}
	}()
	checkManifests(r, out, w)
}

// TestChecksCatchMiswiring breaks a correct rendering in the ways the checks
// exist for and expects each to be reported: the tests above would fail on
// such output.
func TestChecksCatchMiswiring(t *testing.T) {
	good, err := k8s.Render(iris, k8s.Options{Image: "img", Remote: []string{"iris_clf"}})
	if err != nil {
		t.Fatal(err)
	}
	w := want{service: iris.Name, runners: iris.Runners, routes: iris.Routes, image: "img", apiReplicas: 2, remote: []string{"iris_clf"}}
	var r recorder
	r.check(good, w)
	if len(r.errs) > 0 {
		t.Fatalf("the correct rendering fails the checks: %q", r.errs)
	}
	for _, tc := range []struct {
		name, old, new string
		n              int // which occurrence (1-based; the header comment holds the first address); 0: all
		want           string
	}{
		{"unknown field", "  replicas: 2\n", "  replicas: 2\n  replicaCount: 2\n", 1, `unknown field "replicaCount"`},
		{"wrong type", "maxUnavailable: 1\n", "maxUnavailable: [1]\n", 1, "strict decode"},
		{"selector misses the pods", "      app.kubernetes.io/component: api-server\n", "      app.kubernetes.io/component: api\n", 1, "its selector selects 0"},
		{"service targets a missing port", "targetPort: http", "targetPort: web", 1, "targetPort web is no container port"},
		{"probe on the gRPC port", "port: metrics\n", "port: grpc\n", 2, "which does not serve it"},
		{"probe path not served", "path: /readyz", "path: /ready", 1, "readiness probe on /ready, want /readyz"},
		{"HPA targets a missing Deployment", "    name: iris-classifier\n  minReplicas", "    name: iris\n  minReplicas", 1, "not among the Deployments"},
		{"HPA metric the adapter does not serve", "name: gobento_requests_in_progress", "name: requests_in_progress", 1, "served by no rule"},
		{"runner address names another Service", "dns:///iris-classifier-iris-clf.", "dns:///iris-clf.", 2, "names Service iris-clf"},
		{"runner address on the metrics port", "cluster.local:3010", "cluster.local:3011", 2, "is not the gRPC port"},
		{"runner Service not headless", "  clusterIP: None\n", "", 1, "is not headless"},
		{"container port the command does not open", "containerPort: 3011", "containerPort: 3012", 1, "does not listen there"},
		{"ServiceMonitor on a missing port", "  - port: metrics\n", "  - port: prom\n", 1, `port "prom" is not a port of Service`},
		{"wrong namespace", "namespace: default\n", "namespace: other\n", 1, `namespace "other", want "default"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := replaceNth(string(good), tc.old, tc.new, tc.n)
			if bad == string(good) {
				t.Fatalf("%q not found in the rendering", tc.old)
			}
			var r recorder
			r.check([]byte(bad), w)
			if !strings.Contains(strings.Join(r.errs, "\n"), tc.want) {
				t.Errorf("checks reported %q\nwant one containing %q", r.errs, tc.want)
			}
		})
	}
}

// replaceNth replaces the n-th occurrence of old in s (every one for n 0).
func replaceNth(s, old, new string, n int) string {
	if n == 0 {
		return strings.ReplaceAll(s, old, new)
	}
	i := 0
	for range n - 1 {
		j := strings.Index(s[i:], old)
		if j < 0 {
			return s
		}
		i += j + len(old)
	}
	j := strings.Index(s[i:], old)
	if j < 0 {
		return s
	}
	return s[:i+j] + new + s[i+j+len(old):]
}

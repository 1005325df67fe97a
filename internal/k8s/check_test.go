package k8s_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	sigsyaml "sigs.k8s.io/yaml"
)

// tb is the part of testing.TB the checks use, so that a test can run them
// on broken manifests and see them fail.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1, a CRD that k8s.io/api does not have) the
// manifests may use; decoding into it strictly rejects any other field.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port        string `json:"port"`
			Path        string `json:"path"`
			Interval    string `json:"interval"`
			Relabelings []struct {
				SourceLabels []string `json:"sourceLabels,omitempty"`
				TargetLabel  string   `json:"targetLabel"`
				Replacement  string   `json:"replacement"`
				Action       string   `json:"action,omitempty"`
			} `json:"relabelings"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// manifests are the decoded documents of one output, in order per kind.
type manifests struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	pdbs        []*policyv1.PodDisruptionBudget
	monitors    []*serviceMonitor
}

// decodeStrict decodes one JSON document into v, rejecting unknown fields
// and trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the document")
	}
	return nil
}

// decodeManifests splits out into YAML documents and decodes each strictly
// into its k8s.io/api type (ServiceMonitor: serviceMonitor). A document of
// an unexpected kind, an unknown or misspelt field, a duplicate key or a
// value of the wrong type fails the test.
func decodeManifests(t tb, out []byte) manifests {
	t.Helper()
	var m manifests
	for i, doc := range regexp.MustCompile(`(?m)^---\n`).Split(string(out), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(doc, "")) == "" {
			continue // the leading comment
		}
		j, err := sigsyaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, doc)
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(j, &tm); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var target any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			d := new(appsv1.Deployment)
			m.deployments, target = append(m.deployments, d), d
		case "v1 Service":
			s := new(corev1.Service)
			m.services, target = append(m.services, s), s
		case "autoscaling/v2 HorizontalPodAutoscaler":
			h := new(autoscalingv2.HorizontalPodAutoscaler)
			m.hpas, target = append(m.hpas, h), h
		case "policy/v1 PodDisruptionBudget":
			p := new(policyv1.PodDisruptionBudget)
			m.pdbs, target = append(m.pdbs, p), p
		case "monitoring.coreos.com/v1 ServiceMonitor":
			s := new(serviceMonitor)
			m.monitors, target = append(m.monitors, s), s
		default:
			t.Fatalf("document %d: unexpected %q %q", i, tm.APIVersion, tm.Kind)
		}
		if err := decodeStrict(j, target); err != nil {
			t.Fatalf("document %d (%s): strict decode: %v\n%s", i, tm.Kind, err, doc)
		}
	}
	return m
}

// want is what a rendering must contain.
type want struct {
	service     string   // service name
	runners     []string // all its runners
	routes      []string // its API routes
	remote      []string // runners with their own Deployment
	image       string
	namespace   string
	apiReplicas int
	replicas    map[string]int // remote runner replicas
}

// httpPaths are the paths each serving command answers on its HTTP port
// (the probe and scrape paths; the API routes are added per service).
var httpPaths = map[string][]string{
	"serve-http":   {"/livez", "/readyz", "/healthz", "/metrics"},
	"serve-runner": {"/livez", "/readyz", "/metrics"},
}

// listener is what a container serves on one port, read from its args.
type listener struct {
	grpc  bool
	paths []string
}

// flagValue returns the value of --name in args, or def.
func flagValue(args []string, name, def string) string {
	v := def
	for i, a := range args {
		if a == name && i+1 < len(args) {
			v = args[i+1]
		}
		if strings.HasPrefix(a, name+"=") {
			v = strings.TrimPrefix(a, name+"=")
		}
	}
	return v
}

// flagValues returns every value of the repeatable --name in args.
func flagValues(args []string, name string) []string {
	var vs []string
	for i, a := range args {
		if a == name && i+1 < len(args) {
			vs = append(vs, args[i+1])
		}
	}
	return vs
}

// listeners derives from a container's args which ports serve what: the
// serving commands' documented flags and defaults.
func listeners(t tb, c corev1.Container, routes []string) map[int32]listener {
	t.Helper()
	port := func(flag, def string) int32 {
		n, err := strconv.Atoi(flagValue(c.Args, flag, def))
		if err != nil {
			t.Fatalf("container %s: %s: %v", c.Name, flag, err)
		}
		return int32(n)
	}
	if len(c.Args) == 0 {
		t.Fatalf("container %s has no args", c.Name)
	}
	switch c.Args[0] {
	case "serve-http":
		return map[int32]listener{port("--port", "3000"): {paths: append(slices.Clone(httpPaths["serve-http"]), routes...)}}
	case "serve-runner":
		return map[int32]listener{
			port("--port", "3010"):         {grpc: true},
			port("--metrics-port", "3011"): {paths: httpPaths["serve-runner"]},
		}
	}
	t.Fatalf("container %s runs %q, not a serving command", c.Name, c.Args[0])
	return nil
}

// containerPort resolves a named or numbered port of c.
func containerPort(c corev1.Container, p intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

// selected returns the Deployments whose pods sel selects.
func selected(t tb, m manifests, sel *metav1.LabelSelector) []*appsv1.Deployment {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	if s.Empty() {
		t.Fatalf("empty selector %v selects everything", sel)
	}
	var out []*appsv1.Deployment
	for _, d := range m.deployments {
		if s.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out
}

// adapterMetrics returns the custom metric names the shipped
// prometheus-adapter rules serve.
func adapterMetrics(t tb) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus-adapter", "values.yaml"))
	if err != nil {
		t.Fatalf("%v", err)
	}
	var v struct {
		Rules struct {
			Custom []struct {
				Name struct {
					As string `yaml:"as"`
				} `yaml:"name"`
			} `yaml:"custom"`
		} `yaml:"rules"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v", err)
	}
	out := map[string]bool{}
	for _, r := range v.Rules.Custom {
		out[r.Name.As] = true
	}
	return out
}

var runnerAddrRE = regexp.MustCompile(`^dns:///([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:([0-9]+)$`)

// checkManifests decodes out strictly and checks its wiring against w.
func checkManifests(t tb, out []byte, w want) {
	t.Helper()
	m := decodeManifests(t, out)
	ns := w.namespace
	if ns == "" {
		ns = "default"
	}

	// Names, namespaces and labels are valid; kinds come one per Deployment.
	type named interface {
		GetName() string
		GetNamespace() string
		GetLabels() map[string]string
	}
	var all []named
	for _, d := range m.deployments {
		all = append(all, d)
	}
	for _, s := range m.services {
		all = append(all, s)
		if errs := validation.IsDNS1035Label(s.Name); len(errs) > 0 {
			t.Errorf("Service %q: %v", s.Name, errs)
		}
	}
	for _, h := range m.hpas {
		all = append(all, h)
	}
	for _, p := range m.pdbs {
		all = append(all, p)
	}
	for _, s := range m.monitors {
		all = append(all, s)
	}
	for _, o := range all {
		if errs := validation.IsDNS1123Subdomain(o.GetName()); len(errs) > 0 {
			t.Errorf("%q: %v", o.GetName(), errs)
		}
		if o.GetNamespace() != ns {
			t.Errorf("%q: namespace %q, want %q", o.GetName(), o.GetNamespace(), ns)
		}
		checkLabels(t, o.GetName(), o.GetLabels())
	}
	nDep := 1 + len(w.remote)
	if len(m.deployments) != nDep || len(m.services) != nDep || len(m.hpas) != nDep || len(m.pdbs) != nDep || len(m.monitors) != nDep {
		t.Fatalf("got %d Deployments, %d Services, %d HPAs, %d PDBs, %d ServiceMonitors; want %d of each",
			len(m.deployments), len(m.services), len(m.hpas), len(m.pdbs), len(m.monitors), nDep)
	}

	// Deployments: the selector selects the pod template; one container,
	// the image, ports each served; probes on served HTTP paths.
	var api *appsv1.Deployment
	runnerDep := map[string]*appsv1.Deployment{}
	for _, d := range m.deployments {
		checkLabels(t, d.Name+" pod template", d.Spec.Template.Labels)
		if got := selected(t, m, d.Spec.Selector); len(got) != 1 || got[0] != d {
			t.Errorf("Deployment %s: its selector selects %d Deployments' pods, want its own only", d.Name, len(got))
		}
		if len(d.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("Deployment %s: %d containers, want 1", d.Name, len(d.Spec.Template.Spec.Containers))
		}
		c := d.Spec.Template.Spec.Containers[0]
		if c.Image != w.image {
			t.Errorf("Deployment %s: image %q, want %q", d.Name, c.Image, w.image)
		}
		ls := listeners(t, c, w.routes)
		if len(c.Ports) != len(ls) {
			t.Errorf("Deployment %s: %d container ports, the command listens on %d", d.Name, len(c.Ports), len(ls))
		}
		for _, p := range c.Ports {
			if _, ok := ls[p.ContainerPort]; !ok {
				t.Errorf("Deployment %s: container port %s %d: the command %v does not listen there", d.Name, p.Name, p.ContainerPort, c.Args)
			}
		}
		probes := map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe}
		for kind, want := range map[string]string{"liveness": "/livez", "readiness": "/readyz"} {
			p := probes[kind]
			if p == nil || p.HTTPGet == nil {
				t.Errorf("Deployment %s: no HTTP %s probe", d.Name, kind)
				continue
			}
			if p.HTTPGet.Path != want {
				t.Errorf("Deployment %s: %s probe on %s, want %s", d.Name, kind, p.HTTPGet.Path, want)
			}
		}
		for kind, p := range probes {
			if p == nil {
				continue
			}
			cp, ok := containerPort(c, p.HTTPGet.Port)
			if !ok {
				t.Errorf("Deployment %s: %s probe port %s is no container port", d.Name, kind, p.HTTPGet.Port.String())
				continue
			}
			if l := ls[cp.ContainerPort]; l.grpc || !slices.Contains(l.paths, p.HTTPGet.Path) {
				t.Errorf("Deployment %s: %s probe GET %s on port %d, which does not serve it (%+v)", d.Name, kind, p.HTTPGet.Path, cp.ContainerPort, l)
			}
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("Deployment %s: resources %v: want cpu and memory requests and a memory limit", d.Name, c.Resources)
		}
		if sc := d.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("Deployment %s: pods may run as root", d.Name)
		}
		switch c.Args[0] {
		case "serve-http":
			if api != nil {
				t.Errorf("two API server Deployments: %s and %s", api.Name, d.Name)
			}
			api = d
			if got := *d.Spec.Replicas; got != int32(w.apiReplicas) {
				t.Errorf("API server replicas %d, want %d", got, w.apiReplicas)
			}
		case "serve-runner":
			if len(c.Args) < 2 || strings.HasPrefix(c.Args[1], "-") {
				t.Fatalf("Deployment %s: serve-runner without a runner name: %v", d.Name, c.Args)
			}
			r := c.Args[1]
			if runnerDep[r] != nil {
				t.Errorf("runner %s has two Deployments", r)
			}
			runnerDep[r] = d
			wantN := 2
			if n, ok := w.replicas[r]; ok {
				wantN = n
			}
			if got := *d.Spec.Replicas; got != int32(wantN) {
				t.Errorf("runner %s: replicas %d, want %d", r, got, wantN)
			}
		}
	}
	if api == nil {
		t.Fatalf("no API server Deployment (serve-http)")
	}
	for _, r := range w.runners {
		if _, ok := runnerDep[r]; ok != slices.Contains(w.remote, r) {
			t.Errorf("runner %s: own Deployment %v, want %v", r, ok, !ok)
		}
	}

	// Services select exactly one Deployment; each port targets a
	// container port.
	serviceOf := map[string]*corev1.Service{}
	targetOf := map[string]*appsv1.Deployment{}
	for _, s := range m.services {
		got := selected(t, m, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})
		if len(got) != 1 {
			t.Errorf("Service %s selects the pods of %d Deployments, want 1", s.Name, len(got))
			continue
		}
		serviceOf[got[0].Name], targetOf[s.Name] = s, got[0]
		c := got[0].Spec.Template.Spec.Containers[0]
		if len(s.Spec.Ports) == 0 {
			t.Errorf("Service %s: no ports", s.Name)
		}
		for _, p := range s.Spec.Ports {
			cp, ok := containerPort(c, p.TargetPort)
			if !ok {
				t.Errorf("Service %s port %s: targetPort %s is no container port of %s", s.Name, p.Name, p.TargetPort.String(), got[0].Name)
			} else if cp.Protocol != p.Protocol {
				t.Errorf("Service %s port %s: protocol %s, container port %s", s.Name, p.Name, p.Protocol, cp.Protocol)
			}
		}
	}
	for _, d := range m.deployments {
		if serviceOf[d.Name] == nil {
			t.Errorf("Deployment %s has no Service", d.Name)
		}
	}
	if s := serviceOf[api.Name]; s != nil && s.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Errorf("the API server's Service %s is headless; it needs a cluster IP", s.Name)
	}

	// The API server dials each remote runner at its headless Service.
	apiC := api.Spec.Template.Spec.Containers[0]
	flags := flagValues(apiC.Args, "--runner")
	if len(flags) != len(w.remote) {
		t.Errorf("API server --runner flags %v, want one per remote runner %v", flags, w.remote)
	}
	for _, f := range flags {
		name, addr, ok := strings.Cut(f, "=")
		if !ok {
			t.Errorf("--runner %q: want NAME=ADDRESS", f)
			continue
		}
		d := runnerDep[name]
		if d == nil {
			t.Errorf("--runner %s: no Deployment runs serve-runner %s", f, name)
			continue
		}
		sm := runnerAddrRE.FindStringSubmatch(addr)
		if sm == nil {
			t.Errorf("--runner %s: address is not dns:///<service>.<namespace>.svc.cluster.local:<port>", f)
			continue
		}
		if sm[2] != ns {
			t.Errorf("--runner %s: namespace %s, want %s", f, sm[2], ns)
		}
		s := serviceOf[d.Name]
		if s == nil || s.Name != sm[1] {
			t.Errorf("--runner %s: names Service %s, but runner %s's pods are behind %v", f, sm[1], name, s)
			continue
		}
		if s.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("runner Service %s is not headless: the API server would see one address, not one per pod", s.Name)
		}
		port, _ := strconv.Atoi(sm[3])
		var sp *corev1.ServicePort
		for i := range s.Spec.Ports {
			if s.Spec.Ports[i].Port == int32(port) {
				sp = &s.Spec.Ports[i]
			}
		}
		if sp == nil {
			t.Errorf("--runner %s: Service %s has no port %d", f, s.Name, port)
			continue
		}
		rc := d.Spec.Template.Spec.Containers[0]
		cp, ok := containerPort(rc, sp.TargetPort)
		// A headless Service resolves to pod IPs: the client dials the
		// port in the address on the pod, so it must be the gRPC port.
		if !ok || cp.ContainerPort != int32(port) || !listeners(t, rc, nil)[cp.ContainerPort].grpc {
			t.Errorf("--runner %s: port %d is not the gRPC port of serve-runner %s (%v)", f, port, name, rc.Args)
		}
	}

	// HPAs target existing Deployments, from their replica count, on
	// metrics the adapter rules serve.
	served := adapterMetrics(t)
	hpaOf := map[string]bool{}
	for _, h := range m.hpas {
		ref := h.Spec.ScaleTargetRef
		var d *appsv1.Deployment
		for _, x := range m.deployments {
			if ref.Kind == "Deployment" && ref.APIVersion == "apps/v1" && x.Name == ref.Name {
				d = x
			}
		}
		if d == nil {
			t.Errorf("HPA %s targets %s %s %s, which is not among the Deployments", h.Name, ref.APIVersion, ref.Kind, ref.Name)
			continue
		}
		if hpaOf[d.Name] {
			t.Errorf("Deployment %s has two HPAs", d.Name)
		}
		hpaOf[d.Name] = true
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != *d.Spec.Replicas || h.Spec.MaxReplicas <= *h.Spec.MinReplicas {
			t.Errorf("HPA %s: min %v max %d for a Deployment of %d replicas", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas, *d.Spec.Replicas)
		}
		if len(h.Spec.Metrics) == 0 {
			t.Errorf("HPA %s: no metrics", h.Name)
		}
		for _, ms := range h.Spec.Metrics {
			if ms.Type != autoscalingv2.PodsMetricSourceType || ms.Pods == nil || ms.Pods.Target.AverageValue == nil || ms.Pods.Target.AverageValue.Sign() <= 0 {
				t.Errorf("HPA %s: metric %+v: want a Pods metric with a positive AverageValue", h.Name, ms)
				continue
			}
			if !served[ms.Pods.Metric.Name] {
				t.Errorf("HPA %s: metric %s is served by no rule of deploy/prometheus-adapter/values.yaml", h.Name, ms.Pods.Metric.Name)
			}
		}
	}
	for _, d := range m.deployments {
		if !hpaOf[d.Name] {
			t.Errorf("Deployment %s has no HPA", d.Name)
		}
	}

	// PDBs cover one Deployment each.
	pdbOf := map[string]bool{}
	for _, p := range m.pdbs {
		got := selected(t, m, p.Spec.Selector)
		if len(got) != 1 {
			t.Errorf("PDB %s selects the pods of %d Deployments, want 1", p.Name, len(got))
			continue
		}
		pdbOf[got[0].Name] = true
		if p.Spec.MaxUnavailable == nil && p.Spec.MinAvailable == nil {
			t.Errorf("PDB %s: neither maxUnavailable nor minAvailable", p.Name)
		}
	}
	for _, d := range m.deployments {
		if !pdbOf[d.Name] {
			t.Errorf("Deployment %s has no PodDisruptionBudget", d.Name)
		}
	}

	// ServiceMonitors select one Service in the namespace and scrape a
	// port that serves the path.
	monOf := map[string]bool{}
	for _, sm := range m.monitors {
		if !slices.Contains(sm.Spec.NamespaceSelector.MatchNames, ns) && !sm.Spec.NamespaceSelector.Any {
			t.Errorf("ServiceMonitor %s: namespaceSelector %+v misses %s", sm.Name, sm.Spec.NamespaceSelector, ns)
		}
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Fatalf("ServiceMonitor %s: selector %v: %v", sm.Name, sm.Spec.Selector, err)
		}
		var svcs []*corev1.Service
		for _, s := range m.services {
			if sel.Matches(labels.Set(s.Labels)) {
				svcs = append(svcs, s)
			}
		}
		if len(svcs) != 1 {
			t.Errorf("ServiceMonitor %s selects %d Services, want 1", sm.Name, len(svcs))
			continue
		}
		s, d := svcs[0], targetOf[svcs[0].Name]
		if d == nil {
			continue
		}
		monOf[d.Name] = true
		if len(sm.Spec.Endpoints) == 0 {
			t.Errorf("ServiceMonitor %s: no endpoints", sm.Name)
		}
		for _, ep := range sm.Spec.Endpoints {
			var sp *corev1.ServicePort
			for i := range s.Spec.Ports {
				if s.Spec.Ports[i].Name == ep.Port {
					sp = &s.Spec.Ports[i]
				}
			}
			if sp == nil {
				t.Errorf("ServiceMonitor %s: port %q is not a port of Service %s", sm.Name, ep.Port, s.Name)
				continue
			}
			c := d.Spec.Template.Spec.Containers[0]
			cp, _ := containerPort(c, sp.TargetPort)
			if l := listeners(t, c, w.routes)[cp.ContainerPort]; l.grpc || !slices.Contains(l.paths, ep.Path) {
				t.Errorf("ServiceMonitor %s: GET %s on port %d, which does not serve it", sm.Name, ep.Path, cp.ContainerPort)
			}
			for _, r := range ep.Relabelings {
				if r.TargetLabel == "job" && !strings.HasPrefix(r.Replacement, "gobento") {
					t.Errorf("ServiceMonitor %s: job %q escapes GobentoTargetDown (job=~\"gobento.*\")", sm.Name, r.Replacement)
				}
			}
		}
	}
	for _, d := range m.deployments {
		if !monOf[d.Name] {
			t.Errorf("Deployment %s is scraped by no ServiceMonitor", d.Name)
		}
	}
}

func checkLabels(t tb, where string, ls map[string]string) {
	t.Helper()
	for k, v := range ls {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			t.Errorf("%s: label key %q: %v", where, k, errs)
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Errorf("%s: label %s=%q: %v", where, k, v, errs)
		}
	}
}

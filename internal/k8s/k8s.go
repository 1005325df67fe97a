// Package k8s writes the Kubernetes manifests of a gobento service: one
// Deployment for the API server (serve-http) and one per remote runner
// (serve-runner NAME), a Service for each (headless for runners, whose
// addresses are wired into the API server's --runner flags), probes on
// /livez and /readyz, resources, a HorizontalPodAutoscaler on serving metrics
// served by prometheus-adapter, a PodDisruptionBudget and a Prometheus
// Operator ServiceMonitor per Deployment. The kubernetes command prints them.
//
// The documents are built from small structs of this package, not from
// k8s.io/api, so that the program does not link the Kubernetes API types; the
// tests decode every document strictly into those types.
package k8s

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/gobento/bento/internal/suggest"
)

// Ports the generated containers listen on.
const (
	// APIPort is the API server's HTTP port: the APIs, /metrics, /livez and
	// /readyz (serve-http's default).
	APIPort = 3000
	// RunnerPort is a remote runner's gRPC port (serve-runner --port).
	RunnerPort = 3010
	// RunnerMetricsPort is a remote runner's HTTP port for /metrics, /livez
	// and /readyz (serve-runner --metrics-port).
	RunnerMetricsPort = 3011
)

// Custom metrics the HorizontalPodAutoscalers scale on. prometheus-adapter
// serves them from recording rules of deploy/prometheus/rules.yml, with the
// rules in deploy/prometheus-adapter/values.yaml.
const (
	// MetricAPIInProgress is an API server pod's requests in progress
	// (averaged over 1m).
	MetricAPIInProgress = "gobento_requests_in_progress"
	// MetricRunnerInProgress is a runner pod's requests in progress, queued
	// ones included (averaged over 1m).
	MetricRunnerInProgress = "gobento_runner_requests_in_progress"
	// MetricRunnerQueueWait is the mean time, in seconds, a request waits in
	// a runner pod's batching queue before its batch is dispatched (1m).
	MetricRunnerQueueWait = "gobento_runner_queue_wait_seconds"
)

// HPA targets: the per-pod average each autoscaler keeps its Deployment at.
const (
	apiInProgressTarget    = "4"
	runnerInProgressTarget = "16"
	runnerQueueWaitTarget  = "100m" // 0.1 s
)

// Labels of every generated object. Pods of a service share partOfLabel=
// gobento and nameLabel=<service>; componentLabel tells the API server from
// runners, runnerLabel names the runner.
const (
	nameLabel      = "app.kubernetes.io/name"
	partOfLabel    = "app.kubernetes.io/part-of"
	componentLabel = "app.kubernetes.io/component"
	managedByLabel = "app.kubernetes.io/managed-by"
	runnerLabel    = "gobento/runner"

	componentAPI    = "api-server"
	componentRunner = "runner"
)

// Service describes the gobento service to deploy.
type Service struct {
	// Name is the service name (bento.NewService).
	Name string
	// Runners are the service's runner names, in declaration order.
	Runners []string
	// Routes are the HTTP routes of its APIs, listed in the header comment.
	Routes []string
}

// Options are the deployment's choices, the kubernetes command's flags.
type Options struct {
	// Image is the container image running the service's program (its
	// entrypoint is the program; see the Dockerfile). Required.
	Image string
	// Namespace the objects are created in; "" means "default".
	Namespace string
	// APIReplicas is the API server's replica count (and its autoscaler's
	// minimum); 0 means 2.
	APIReplicas int
	// Remote lists the runners that get their own Deployment; the others
	// run inside the API server's process.
	Remote []string
	// RunnerReplicas sets a remote runner's replica count; unset means 2.
	RunnerReplicas map[string]int
	// ClusterDomain is the cluster's DNS domain; "" means "cluster.local".
	ClusterDomain string
}

// Defaults of Options.
const (
	DefaultNamespace      = "default"
	DefaultAPIReplicas    = 2
	DefaultRunnerReplicas = 2
	defaultClusterDomain  = "cluster.local"
	maxReplicasFloor      = 10
)

// RunnerServiceName returns the name of the headless Service of the service's
// remote runner: "<service>-<runner>" made a DNS label (lower case, '_' and
// '.' as '-', at most 63 characters).
func RunnerServiceName(service, runner string) string {
	return dnsLabel(service + "-" + runner)
}

// APIServiceName returns the name of the API server's Deployment and Service.
func APIServiceName(service string) string { return dnsLabel(service) }

// RunnerAddress returns the address the API server dials for a remote
// runner: its headless Service's DNS name, resolved to one address per pod.
func RunnerAddress(service, runner, namespace, clusterDomain string) string {
	return fmt.Sprintf("dns:///%s.%s.svc.%s:%d", RunnerServiceName(service, runner), namespace, clusterDomain, RunnerPort)
}

// dnsLabel makes s a DNS-1035 label: lower case, characters outside a-z0-9
// as '-', starting with a letter, at most 63 characters (a longer one keeps
// 54 and a hash of the whole, so distinct long names stay distinct).
func dnsLabel(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	out := strings.Trim(string(b), "-")
	if out == "" || out[0] < 'a' || out[0] > 'z' {
		out = "g-" + out
	}
	if len(out) > 63 {
		sum := sha256.Sum256([]byte(s))
		out = strings.TrimRight(out[:54], "-") + "-" + hex.EncodeToString(sum[:4])
	}
	return out
}

// checkOptions fills in defaults and reports every invalid option, naming
// the flag.
func checkOptions(svc Service, o *Options) error {
	var errs []error
	if o.Image == "" {
		errs = append(errs, errors.New("--image is required: the container image of this program (see the Dockerfile)"))
	} else if strings.ContainsAny(o.Image, " \t\n") {
		errs = append(errs, fmt.Errorf("--image %q: an image reference has no spaces", o.Image))
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if !isDNS1123Label(o.Namespace) {
		errs = append(errs, fmt.Errorf("--namespace %q: want a DNS label (a-z, 0-9, '-', at most 63 characters)", o.Namespace))
	}
	if o.ClusterDomain == "" {
		o.ClusterDomain = defaultClusterDomain
	}
	if o.APIReplicas == 0 {
		o.APIReplicas = DefaultAPIReplicas
	}
	if o.APIReplicas < 1 {
		errs = append(errs, fmt.Errorf("--api-replicas %d: want at least 1", o.APIReplicas))
	}
	seen := map[string]bool{}
	for _, r := range o.Remote {
		if err := knownRunner(svc, r, "--remote"); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[r] {
			errs = append(errs, fmt.Errorf("--remote %s: given twice", r))
		}
		seen[r] = true
	}
	for _, r := range slices.Sorted(maps.Keys(o.RunnerReplicas)) {
		n := o.RunnerReplicas[r]
		unknown := knownRunner(svc, r, "--runner-replicas")
		switch {
		case unknown != nil:
			errs = append(errs, unknown)
		case !seen[r]:
			errs = append(errs, fmt.Errorf("--runner-replicas %s=%d: runner %s runs inside the API server; add --remote %s to give it its own Deployment", r, n, r, r))
		case n < 1:
			errs = append(errs, fmt.Errorf("--runner-replicas %s=%d: want at least 1", r, n))
		}
	}
	// Two names that map to one DNS label would make one object of two.
	names := map[string]string{APIServiceName(svc.Name): "the API server"}
	for _, r := range o.Remote {
		n := RunnerServiceName(svc.Name, r)
		if other, ok := names[n]; ok && other != "runner "+r {
			errs = append(errs, fmt.Errorf("--remote %s: its objects would be named %q like those of %s; rename the runner", r, n, other))
		}
		names[n] = "runner " + r
	}
	return errors.Join(errs...)
}

// knownRunner reports a runner name the service does not declare, with the
// closest one and the list of its runners.
func knownRunner(svc Service, name, flag string) error {
	if slices.Contains(svc.Runners, name) {
		return nil
	}
	msg := fmt.Sprintf("%s %s: the service %s has no runner %q", flag, name, svc.Name, name)
	if c := suggest.Closest(name, svc.Runners); c != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", c)
	}
	if len(svc.Runners) == 0 {
		msg += "; it declares no runners"
	} else {
		msg += "; its runners: " + strings.Join(svc.Runners, ", ")
	}
	return errors.New(msg)
}

// isDNS1123Label reports whether s is a Kubernetes namespace name.
func isDNS1123Label(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Render returns the manifests of svc deployed with opts, as YAML documents
// separated by "---" lines, led by a comment saying what was generated.
func Render(svc Service, opts Options) ([]byte, error) {
	if err := checkOptions(svc, &opts); err != nil {
		return nil, err
	}
	var remote []string // in declaration order
	for _, r := range svc.Runners {
		if slices.Contains(opts.Remote, r) {
			remote = append(remote, r)
		}
	}
	var docs []any
	api := apiComponent(svc, opts, remote)
	docs = append(docs, api.objects(opts)...)
	for _, r := range remote {
		docs = append(docs, runnerComponent(svc, opts, r).objects(opts)...)
	}

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Kubernetes manifests of the gobento service %s, generated by `kubernetes`.\n", svc.Name)
	fmt.Fprintf(&buf, "# Image %s, namespace %s.\n", opts.Image, opts.Namespace)
	if len(svc.Routes) > 0 {
		fmt.Fprintf(&buf, "# APIs: POST %s (Service %s, port %d).\n", strings.Join(svc.Routes, ", POST "), api.name, APIPort)
	}
	for _, r := range svc.Runners {
		if slices.Contains(remote, r) {
			fmt.Fprintf(&buf, "# Runner %s: own Deployment %s (serve-runner), %s.\n", r, RunnerServiceName(svc.Name, r),
				RunnerAddress(svc.Name, r, opts.Namespace, opts.ClusterDomain))
		} else {
			fmt.Fprintf(&buf, "# Runner %s: inside the API server's process.\n", r)
		}
	}
	buf.WriteString("# The autoscalers read custom metrics from prometheus-adapter with the rules of\n" +
		"# deploy/prometheus-adapter/values.yaml; the ServiceMonitors need the Prometheus Operator.\n" +
		"# See docs/kubernetes.md.\n")
	for _, d := range docs {
		buf.WriteString("---\n")
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("k8s: encode manifest: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("k8s: encode manifest: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// component is one Deployment and what goes with it.
type component struct {
	name      string // Deployment, Service, HPA, PDB, ServiceMonitor name
	labels    map[string]string
	selector  map[string]string
	replicas  int
	args      []string
	ports     []port
	probePort string // the named port serving /livez, /readyz, /metrics
	headless  bool
	resources resources
	metrics   []hpaMetric
	job       string // the Prometheus job label of its targets
}

type port struct {
	name        string
	number      int
	appProtocol string
}

func apiComponent(svc Service, o Options, remote []string) component {
	name := APIServiceName(svc.Name)
	sel := map[string]string{nameLabel: name, componentLabel: componentAPI}
	args := []string{"serve-http", "--port", strconv.Itoa(APIPort)}
	for _, r := range remote {
		args = append(args, "--runner", r+"="+RunnerAddress(svc.Name, r, o.Namespace, o.ClusterDomain))
	}
	return component{
		name:      name,
		labels:    withCommon(sel),
		selector:  sel,
		replicas:  o.APIReplicas,
		args:      args,
		ports:     []port{{"http", APIPort, "http"}},
		probePort: "http",
		resources: resources{
			Requests: map[string]string{"cpu": "250m", "memory": "256Mi"},
			Limits:   map[string]string{"memory": "1Gi"},
		},
		metrics: []hpaMetric{podsMetric(MetricAPIInProgress, apiInProgressTarget)},
		job:     "gobento-api-server",
	}
}

func runnerComponent(svc Service, o Options, runner string) component {
	name := RunnerServiceName(svc.Name, runner)
	sel := map[string]string{nameLabel: APIServiceName(svc.Name), componentLabel: componentRunner, runnerLabel: runner}
	replicas := DefaultRunnerReplicas
	if n, ok := o.RunnerReplicas[runner]; ok {
		replicas = n
	}
	return component{
		name:     name,
		labels:   withCommon(sel),
		selector: sel,
		replicas: replicas,
		args: []string{"serve-runner", runner, "--host", "0.0.0.0",
			"--port", strconv.Itoa(RunnerPort), "--metrics-port", strconv.Itoa(RunnerMetricsPort)},
		ports:     []port{{"grpc", RunnerPort, "kubernetes.io/h2c"}, {"metrics", RunnerMetricsPort, "http"}},
		probePort: "metrics",
		headless:  true,
		resources: resources{
			Requests: map[string]string{"cpu": "500m", "memory": "512Mi"},
			Limits:   map[string]string{"memory": "2Gi"},
		},
		metrics: []hpaMetric{
			podsMetric(MetricRunnerInProgress, runnerInProgressTarget),
			podsMetric(MetricRunnerQueueWait, runnerQueueWaitTarget),
		},
		job: "gobento-runner",
	}
}

func withCommon(sel map[string]string) map[string]string {
	l := map[string]string{partOfLabel: "gobento", managedByLabel: "gobento"}
	for k, v := range sel {
		l[k] = v
	}
	return l
}

// objects returns the Deployment, Service, HorizontalPodAutoscaler,
// PodDisruptionBudget and ServiceMonitor of c.
func (c component) objects(o Options) []any {
	m := func() metadata { return metadata{Name: c.name, Namespace: o.Namespace, Labels: c.labels} }
	var cports []containerPort
	var sports []servicePort
	for _, p := range c.ports {
		cports = append(cports, containerPort{Name: p.name, ContainerPort: p.number, Protocol: "TCP"})
		sports = append(sports, servicePort{Name: p.name, Port: p.number, TargetPort: p.name, Protocol: "TCP", AppProtocol: p.appProtocol})
	}
	probe := func(path string, failures int) *probe {
		return &probe{HTTPGet: &httpGet{Path: path, Port: c.probePort}, PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: failures}
	}
	no, yes := false, true
	dep := object{
		APIVersion: "apps/v1", Kind: "Deployment", Metadata: m(),
		Spec: deploymentSpec{
			Replicas: c.replicas,
			Selector: labelSelector{MatchLabels: c.selector},
			Strategy: strategy{Type: "RollingUpdate", RollingUpdate: rollingUpdate{MaxSurge: 1, MaxUnavailable: 0}},
			Template: podTemplate{
				Metadata: metadata{Labels: c.labels},
				Spec: podSpec{
					// The server drains for api_server.shutdown_timeout (30 s)
					// after the preStop pause.
					TerminationGracePeriodSeconds: 45,
					AutomountServiceAccountToken:  &no,
					SecurityContext: podSecurityContext{
						RunAsNonRoot: &yes, RunAsUser: 65532, RunAsGroup: 65532,
						SeccompProfile: seccompProfile{Type: "RuntimeDefault"},
					},
					Containers: []container{{
						Name: "gobento", Image: o.Image, Args: c.args, Ports: cports,
						Resources: c.resources,
						// /livez answers while the process serves; /readyz once
						// the models are built (and, for the API server, while
						// every remote runner has a healthy replica).
						StartupProbe:   probe("/livez", 60),
						LivenessProbe:  probe("/livez", 3),
						ReadinessProbe: probe("/readyz", 2),
						// Keep serving while the endpoint removal reaches
						// every client, then SIGTERM drains.
						Lifecycle: &lifecycle{PreStop: &handler{Sleep: &sleepAction{Seconds: 5}}},
						SecurityContext: containerSecurityContext{
							AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
							Capabilities: capabilities{Drop: []string{"ALL"}},
						},
						VolumeMounts: []volumeMount{{Name: "tmp", MountPath: "/tmp"}},
					}},
					Volumes: []volume{{Name: "tmp", EmptyDir: &struct{}{}}},
				},
			},
		},
	}
	svcSpec := serviceSpec{Type: "ClusterIP", Selector: c.selector, Ports: sports}
	if c.headless {
		// One DNS record per ready pod: the API server balances over them.
		svcSpec.ClusterIP = "None"
	}
	svc := object{APIVersion: "v1", Kind: "Service", Metadata: m(), Spec: svcSpec}
	hpa := object{
		APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler", Metadata: m(),
		Spec: hpaSpec{
			ScaleTargetRef: crossVersionRef{APIVersion: "apps/v1", Kind: "Deployment", Name: c.name},
			MinReplicas:    c.replicas,
			MaxReplicas:    max(maxReplicasFloor, 2*c.replicas),
			Metrics:        c.metrics,
		},
	}
	pdb := object{
		APIVersion: "policy/v1", Kind: "PodDisruptionBudget", Metadata: m(),
		Spec: pdbSpec{MaxUnavailable: 1, Selector: labelSelector{MatchLabels: c.selector}},
	}
	sm := object{
		APIVersion: "monitoring.coreos.com/v1", Kind: "ServiceMonitor", Metadata: m(),
		Spec: serviceMonitorSpec{
			Selector:          labelSelector{MatchLabels: c.selector},
			NamespaceSelector: namespaceSelector{MatchNames: []string{o.Namespace}},
			Endpoints: []endpoint{{
				Port: c.probePort, Path: "/metrics", Interval: "15s",
				// job="gobento-api-server" or "gobento-runner", as in
				// deploy/prometheus/prometheus-kubernetes.yml; GobentoTargetDown
				// selects job=~"gobento.*".
				Relabelings: []relabel{{TargetLabel: "job", Replacement: c.job}},
			}},
		},
	}
	return []any{dep, svc, hpa, pdb, sm}
}

func podsMetric(name, target string) hpaMetric {
	return hpaMetric{Type: "Pods", Pods: podsMetricSource{
		Metric: metricIdentifier{Name: name},
		Target: metricTarget{Type: "AverageValue", AverageValue: target},
	}}
}

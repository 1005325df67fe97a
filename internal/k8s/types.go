package k8s

// The subset of the Kubernetes and Prometheus Operator object schemas the
// manifests use, with their YAML field names. The tests decode the output
// strictly into k8s.io/api types, so a misspelt field fails them.

type object struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   metadata `yaml:"metadata"`
	Spec       any      `yaml:"spec"`
}

type metadata struct {
	Name      string            `yaml:"name,omitempty"`
	Namespace string            `yaml:"namespace,omitempty"`
	Labels    map[string]string `yaml:"labels,omitempty"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type deploymentSpec struct {
	Replicas int           `yaml:"replicas"`
	Selector labelSelector `yaml:"selector"`
	Strategy strategy      `yaml:"strategy"`
	Template podTemplate   `yaml:"template"`
}

type strategy struct {
	Type          string        `yaml:"type"`
	RollingUpdate rollingUpdate `yaml:"rollingUpdate"`
}

type rollingUpdate struct {
	MaxSurge       int `yaml:"maxSurge"`
	MaxUnavailable int `yaml:"maxUnavailable"`
}

type podTemplate struct {
	Metadata metadata `yaml:"metadata"`
	Spec     podSpec  `yaml:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds int                `yaml:"terminationGracePeriodSeconds"`
	AutomountServiceAccountToken  *bool              `yaml:"automountServiceAccountToken,omitempty"`
	SecurityContext               podSecurityContext `yaml:"securityContext"`
	Containers                    []container        `yaml:"containers"`
	Volumes                       []volume           `yaml:"volumes,omitempty"`
}

type podSecurityContext struct {
	RunAsNonRoot   *bool          `yaml:"runAsNonRoot,omitempty"`
	RunAsUser      int            `yaml:"runAsUser,omitempty"`
	RunAsGroup     int            `yaml:"runAsGroup,omitempty"`
	SeccompProfile seccompProfile `yaml:"seccompProfile"`
}

type seccompProfile struct {
	Type string `yaml:"type"`
}

type container struct {
	Name            string                   `yaml:"name"`
	Image           string                   `yaml:"image"`
	Args            []string                 `yaml:"args"`
	Ports           []containerPort          `yaml:"ports"`
	Resources       resources                `yaml:"resources"`
	StartupProbe    *probe                   `yaml:"startupProbe,omitempty"`
	LivenessProbe   *probe                   `yaml:"livenessProbe,omitempty"`
	ReadinessProbe  *probe                   `yaml:"readinessProbe,omitempty"`
	Lifecycle       *lifecycle               `yaml:"lifecycle,omitempty"`
	SecurityContext containerSecurityContext `yaml:"securityContext"`
	VolumeMounts    []volumeMount            `yaml:"volumeMounts,omitempty"`
}

type containerPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
	Protocol      string `yaml:"protocol"`
}

type resources struct {
	Requests map[string]string `yaml:"requests,omitempty"`
	Limits   map[string]string `yaml:"limits,omitempty"`
}

type probe struct {
	HTTPGet          *httpGet `yaml:"httpGet"`
	PeriodSeconds    int      `yaml:"periodSeconds"`
	TimeoutSeconds   int      `yaml:"timeoutSeconds"`
	FailureThreshold int      `yaml:"failureThreshold"`
}

type httpGet struct {
	Path string `yaml:"path"`
	Port string `yaml:"port"` // a container port's name
}

type lifecycle struct {
	PreStop *handler `yaml:"preStop,omitempty"`
}

type handler struct {
	Sleep *sleepAction `yaml:"sleep,omitempty"`
}

type sleepAction struct {
	Seconds int `yaml:"seconds"`
}

type containerSecurityContext struct {
	AllowPrivilegeEscalation *bool        `yaml:"allowPrivilegeEscalation,omitempty"`
	ReadOnlyRootFilesystem   *bool        `yaml:"readOnlyRootFilesystem,omitempty"`
	Capabilities             capabilities `yaml:"capabilities"`
}

type capabilities struct {
	Drop []string `yaml:"drop"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

type volume struct {
	Name     string    `yaml:"name"`
	EmptyDir *struct{} `yaml:"emptyDir,omitempty"`
}

type serviceSpec struct {
	Type      string            `yaml:"type"`
	ClusterIP string            `yaml:"clusterIP,omitempty"`
	Selector  map[string]string `yaml:"selector"`
	Ports     []servicePort     `yaml:"ports"`
}

type servicePort struct {
	Name        string `yaml:"name"`
	Port        int    `yaml:"port"`
	TargetPort  string `yaml:"targetPort"` // a container port's name
	Protocol    string `yaml:"protocol"`
	AppProtocol string `yaml:"appProtocol,omitempty"`
}

type hpaSpec struct {
	ScaleTargetRef crossVersionRef `yaml:"scaleTargetRef"`
	MinReplicas    int             `yaml:"minReplicas"`
	MaxReplicas    int             `yaml:"maxReplicas"`
	Metrics        []hpaMetric     `yaml:"metrics"`
}

type crossVersionRef struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Name       string `yaml:"name"`
}

type hpaMetric struct {
	Type string           `yaml:"type"`
	Pods podsMetricSource `yaml:"pods"`
}

type podsMetricSource struct {
	Metric metricIdentifier `yaml:"metric"`
	Target metricTarget     `yaml:"target"`
}

type metricIdentifier struct {
	Name string `yaml:"name"`
}

type metricTarget struct {
	Type         string `yaml:"type"`
	AverageValue string `yaml:"averageValue"`
}

type pdbSpec struct {
	MaxUnavailable int           `yaml:"maxUnavailable"`
	Selector       labelSelector `yaml:"selector"`
}

// ServiceMonitor (monitoring.coreos.com/v1, a CRD of the Prometheus Operator).
type serviceMonitorSpec struct {
	Selector          labelSelector     `yaml:"selector"`
	NamespaceSelector namespaceSelector `yaml:"namespaceSelector"`
	Endpoints         []endpoint        `yaml:"endpoints"`
}

type namespaceSelector struct {
	MatchNames []string `yaml:"matchNames"`
}

type endpoint struct {
	Port        string    `yaml:"port"`
	Path        string    `yaml:"path"`
	Interval    string    `yaml:"interval"`
	Relabelings []relabel `yaml:"relabelings,omitempty"`
}

type relabel struct {
	TargetLabel string `yaml:"targetLabel"`
	Replacement string `yaml:"replacement"`
}

package bento

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/gobento/bento/internal/k8s"
)

// kubernetesCommand prints the Kubernetes manifests of svc (internal/k8s
// builds them; docs/kubernetes.md explains them).
func kubernetesCommand(svc *Service, stdout io.Writer) *cobra.Command {
	var opts k8s.Options
	cmd := &cobra.Command{
		Use:   "kubernetes --image IMAGE",
		Short: "Print the Kubernetes manifests of a deployment of this service (kubectl apply -f -)",
		Long: `Print the Kubernetes manifests of a deployment of this service, as YAML documents
separated by "---", for kubectl apply -f -.

By default the service is one Deployment running serve-http, its runners inside
the API server's process. --remote NAME gives runner NAME its own Deployment
running serve-runner NAME, behind a headless Service whose address is wired into
the API server's --runner flag; the API server then calls it over gRPC and
balances over its pods.

Each Deployment comes with a Service, /livez and /readyz probes, resources, a
HorizontalPodAutoscaler on custom metrics served by prometheus-adapter (requests
in progress per API server pod; requests in progress and queue wait per runner
pod; the adapter rules are in deploy/prometheus-adapter/values.yaml), a
PodDisruptionBudget and a Prometheus Operator ServiceMonitor.
See docs/kubernetes.md.`,
		Example: `  iris_classifier kubernetes --image registry.example.com/iris:1.0 | kubectl apply -f -
  iris_classifier kubernetes --image registry.example.com/iris:1.0 --namespace ml \
      --remote iris_clf --runner-replicas iris_clf=3`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := svc.Validate(); err != nil {
				return err
			}
			desc := k8s.Service{Name: svc.Name(), Runners: svc.runnerNames()}
			for _, a := range svc.APIs() {
				desc.Routes = append(desc.Routes, a.Route)
			}
			out, err := k8s.Render(desc, opts)
			if err != nil {
				return err
			}
			_, err = stdout.Write(out)
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Image, "image", "", "container image of this program, its entrypoint (required; see the Dockerfile)")
	fs.StringVar(&opts.Namespace, "namespace", k8s.DefaultNamespace, "namespace of every object")
	fs.IntVar(&opts.APIReplicas, "api-replicas", k8s.DefaultAPIReplicas, "API server replicas (and its autoscaler's minimum)")
	fs.StringSliceVar(&opts.Remote, "remote", nil, "runner NAME gets its own Deployment (serve-runner NAME); repeatable; default: none, one Deployment")
	fs.StringToIntVar(&opts.RunnerReplicas, "runner-replicas", nil, "NAME=N: replicas of remote runner NAME (and its autoscaler's minimum; default 2); repeatable")
	return cmd
}

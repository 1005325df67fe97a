// Package deploy holds the operations bundle that ships with gobento: the
// Prometheus scrape configurations, recording and alerting rules, a Grafana
// dashboard and Kubernetes examples. It has no Go API; it is a package so that
// `go test ./deploy/` validates the bundle together with the code.
//
// # Layout
//
//   - prometheus/prometheus-http.yml, prometheus/prometheus-grpc.yml: the
//     BentoML metrics guide's scrape configurations (jobs gobento-http and
//     gobento-grpc), loading prometheus/rules.yml.
//   - prometheus/prometheus-kubernetes.yml: Kubernetes pod discovery for the
//     deployment the `kubernetes` command prints (jobs gobento-api-server and
//     gobento-runner), for a Prometheus without the Operator.
//   - prometheus-adapter/values.yaml: prometheus-adapter rules serving the
//     custom metrics the generated HorizontalPodAutoscalers scale on.
//   - prometheus/rules.yml: recording rules (level:metric:operations names)
//     and alerts: GobentoHighErrorRatio, GobentoLatencySLOFastBurn,
//     GobentoLatencySLOSlowBurn, GobentoLatencySLOThresholdBucketMissing,
//     GobentoSustainedShedding and GobentoTargetDown.
//   - prometheus/rules_test.yml: promtool unit tests for every rule file entry.
//   - grafana/gobento-dashboard.json: an importable Grafana dashboard.
//   - kubernetes/: ServiceMonitor, PodMonitor, PrometheusRule (a copy of
//     rules.yml), and HPA and KEDA examples scaling on requests in progress.
//
// docs/monitoring.md explains every file, rule and alert.
//
// # Tests
//
// The tests run promtool (from the Debian prometheus package) to check the
// configurations and rules, run the rule unit tests, and parse every
// dashboard query; they skip those checks when promtool is not on PATH. The
// other checks need nothing but Go: dashboard structure and metric coverage,
// alert annotations, Kubernetes manifests, and that docs/monitoring.md
// mentions every rule.
package deploy

package deploy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/gobento/bento/internal/k8s"
)

const (
	adapterValues = "prometheus-adapter/values.yaml"
	k8sScrapeFile = "prometheus/prometheus-kubernetes.yml"
	noK8sSD       = "field kubernetes_sd_configs not found"
)

type adapterRule struct {
	SeriesQuery string `yaml:"seriesQuery"`
	Resources   struct {
		Overrides map[string]struct {
			Resource string `yaml:"resource"`
		} `yaml:"overrides"`
	} `yaml:"resources"`
	Name struct {
		As string `yaml:"as"`
	} `yaml:"name"`
	MetricsQuery string `yaml:"metricsQuery"`
}

func loadAdapterRules(t *testing.T) []adapterRule {
	t.Helper()
	b, err := os.ReadFile(adapterValues)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Prometheus map[string]any `yaml:"prometheus"`
		Rules      struct {
			Default bool          `yaml:"default"`
			Custom  []adapterRule `yaml:"custom"`
		} `yaml:"rules"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", adapterValues, err)
	}
	if v.Rules.Default {
		t.Errorf("%s: rules.default is true: the chart's default rules would expose every series", adapterValues)
	}
	return v.Rules.Custom
}

// TestPrometheusAdapterRules checks the prometheus-adapter rules that serve
// the HPAs' custom metrics: each reads a recorded series per namespace and
// pod, its query parses once the adapter's templates are filled in, and
// together they serve every metric the generated HPAs name.
func TestPrometheusAdapterRules(t *testing.T) {
	rules := loadAdapterRules(t)
	records := recordNames(t, loadRules(t))
	served := map[string]bool{}
	var exprs []struct{ where, expr string }
	for _, r := range rules {
		if served[r.Name.As] {
			t.Errorf("metric %s served by two rules", r.Name.As)
		}
		served[r.Name.As] = true
		series, _, _ := strings.Cut(r.SeriesQuery, "{")
		if !records[series] {
			t.Errorf("%s: seriesQuery reads %s, which rules.yml does not record", r.Name.As, series)
		}
		for label, res := range map[string]string{"namespace": "namespace", "pod": "pod"} {
			if r.Resources.Overrides[label].Resource != res {
				t.Errorf("%s: label %s is not mapped to resource %s", r.Name.As, label, res)
			}
		}
		for _, tmpl := range []string{"<<.Series>>", "<<.LabelMatchers>>", "<<.GroupBy>>"} {
			if !strings.Contains(r.MetricsQuery, tmpl) {
				t.Errorf("%s: metricsQuery lacks %s", r.Name.As, tmpl)
			}
		}
		// What the adapter sends for the pods of one HPA.
		q := strings.NewReplacer("<<.Series>>", series, "<<.LabelMatchers>>", `namespace="ml",pod=~"a|b"`, "<<.GroupBy>>", "pod").Replace(r.MetricsQuery)
		exprs = append(exprs, struct{ where, expr string }{r.Name.As, q})
	}
	for _, m := range []string{k8s.MetricAPIInProgress, k8s.MetricRunnerInProgress, k8s.MetricRunnerQueueWait} {
		if !served[m] {
			t.Errorf("the HPAs scale on %s, which no rule of %s serves", m, adapterValues)
		}
	}
	t.Run("queries parse", func(t *testing.T) {
		promtool(t)
		if err := checkExprs(t, exprs); err != nil {
			t.Fatal(err)
		}
	})
}

// TestKubernetesScrapeConfig checks prometheus-kubernetes.yml with promtool
// and that its relabelling keeps exactly the API server's "http" port and
// each remote runner's "metrics" port of the pods `kubernetes` generates.
func TestKubernetesScrapeConfig(t *testing.T) {
	b, err := os.ReadFile(k8sScrapeFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("promtool", func(t *testing.T) {
		out, err := runPromtool(t, "check", "config", k8sScrapeFile)
		if err != nil && strings.Contains(out, noK8sSD) {
			// Debian's promtool is built without Kubernetes service
			// discovery; check the rest with static targets instead.
			t.Logf("this promtool has no kubernetes_sd_configs; checking the file with static_configs in their place")
			dir := t.TempDir()
			s := strings.ReplaceAll(string(b), "kubernetes_sd_configs:\n      - role: pod", "static_configs:\n      - targets: [\"localhost:3000\"]")
			abs, _ := filepath.Abs(rulesFile)
			s = strings.Replace(s, "  - rules.yml", "  - "+abs, 1)
			p := filepath.Join(dir, "prometheus.yml")
			if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err = runPromtool(t, "check", "config", p)
		}
		if err != nil {
			t.Fatalf("promtool check config: %v\n%s", err, out)
		}
	})

	var cfg struct {
		ScrapeConfigs []struct {
			JobName        string `yaml:"job_name"`
			MetricsPath    string `yaml:"metrics_path"`
			RelabelConfigs []struct {
				SourceLabels []string `yaml:"source_labels"`
				Regex        string   `yaml:"regex"`
				Action       string   `yaml:"action"`
				TargetLabel  string   `yaml:"target_label"`
			} `yaml:"relabel_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	// The pods and ports of a deployment with a remote runner.
	out, err := k8s.Render(k8s.Service{Name: "iris_classifier", Runners: []string{"iris_clf", "local"}},
		k8s.Options{Image: "img", Remote: []string{"iris_clf"}})
	if err != nil {
		t.Fatal(err)
	}
	type target struct{ meta map[string]string }
	var targets []target // one per pod container port
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var d struct {
			Kind string `yaml:"kind"`
			Spec struct {
				Template struct {
					Metadata struct {
						Labels map[string]string `yaml:"labels"`
					} `yaml:"metadata"`
					Spec struct {
						Containers []struct {
							Ports []struct {
								Name string `yaml:"name"`
							} `yaml:"ports"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil || d.Kind != "Deployment" {
			continue
		}
		for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
			meta := map[string]string{"__meta_kubernetes_pod_container_port_name": p.Name, "__meta_kubernetes_pod_phase": "Running"}
			for k, v := range d.Spec.Template.Metadata.Labels {
				meta["__meta_kubernetes_pod_label_"+regexp.MustCompile(`[^a-zA-Z0-9_]`).ReplaceAllString(k, "_")] = v
			}
			targets = append(targets, target{meta})
		}
	}
	kept := map[string][]string{} // job -> "component/port"
	for _, sc := range cfg.ScrapeConfigs {
		if sc.MetricsPath != "/metrics" {
			t.Errorf("job %s: metrics_path %q; both serve-http and serve-runner answer /metrics", sc.JobName, sc.MetricsPath)
		}
		if !strings.HasPrefix(sc.JobName, "gobento") {
			t.Errorf("job %s escapes GobentoTargetDown (job=~\"gobento.*\")", sc.JobName)
		}
		targetLabels := map[string]bool{}
		for _, tg := range targets {
			keep := true
			for _, rc := range sc.RelabelConfigs {
				if rc.Action != "keep" && rc.Action != "drop" {
					targetLabels[rc.TargetLabel] = true
					continue
				}
				var vals []string
				for _, l := range rc.SourceLabels {
					vals = append(vals, tg.meta[l])
				}
				match := regexp.MustCompile("^(?:" + rc.Regex + ")$").MatchString(strings.Join(vals, ";"))
				if match != (rc.Action == "keep") {
					keep = false
				}
			}
			if keep {
				kept[sc.JobName] = append(kept[sc.JobName], tg.meta["__meta_kubernetes_pod_label_app_kubernetes_io_component"]+"/"+tg.meta["__meta_kubernetes_pod_container_port_name"])
			}
		}
		for _, l := range []string{"namespace", "pod"} {
			if !targetLabels[l] {
				t.Errorf("job %s sets no %s label; the namespace_pod rules and the HPAs need it", sc.JobName, l)
			}
		}
	}
	wantKept := map[string][]string{"gobento-api-server": {"api-server/http"}, "gobento-runner": {"runner/metrics"}}
	for job, w := range wantKept {
		if !slices.Equal(kept[job], w) {
			t.Errorf("job %s keeps %v, want %v", job, kept[job], w)
		}
	}
	if len(kept) != len(wantKept) {
		t.Errorf("jobs keep %v, want %v", kept, wantKept)
	}
}

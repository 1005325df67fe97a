package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	yaml "go.yaml.in/yaml/v4"
)

// scrapeJob is the part of a scrape config TestPromConfig reads.
type scrapeJob struct {
	JobName       string `yaml:"job_name"`
	MetricsPath   string `yaml:"metrics_path"`
	StaticConfigs []struct {
		Targets []string `yaml:"targets"`
	} `yaml:"static_configs"`
}

// TestPromConfig checks the configuration the end-to-end test derives from
// deploy/prometheus (it runs without a prometheus binary): the shipped jobs
// and paths are kept, only intervals, targets and rule paths change, and
// promtool (when installed) accepts the result with its rules.
func TestPromConfig(t *testing.T) {
	promDir := filepath.Join(repoRoot(t), "deploy", "prometheus")
	httpTargets, grpcTargets := []string{"127.0.0.1:1", "127.0.0.1:2"}, []string{"127.0.0.1:3"}
	data, names, err := promConfig(promDir, httpTargets, grpcTargets)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global        map[string]string `yaml:"global"`
		RuleFiles     []string          `yaml:"rule_files"`
		ScrapeConfigs []scrapeJob       `yaml:"scrape_configs"`
	}
	if err := yaml.Load(data, &cfg); err != nil {
		t.Fatalf("generated config does not parse: %v\n%s", err, data)
	}
	if cfg.Global["scrape_interval"] != promInterval || cfg.Global["evaluation_interval"] != promInterval {
		t.Errorf("global = %v, want both intervals %s", cfg.Global, promInterval)
	}
	if len(cfg.RuleFiles) == 0 {
		t.Error("no rule_files")
	}
	for _, f := range cfg.RuleFiles {
		if _, err := os.Stat(f); !filepath.IsAbs(f) || err != nil {
			t.Errorf("rule file %q: want an absolute path to an existing file (%v)", f, err)
		}
	}
	if !slices.Contains(cfg.RuleFiles, filepath.Join(promDir, "rules.yml")) {
		t.Errorf("rule_files %v do not load deploy/prometheus/rules.yml", cfg.RuleFiles)
	}

	for _, tc := range []struct {
		file, job, path string
		targets         []string
	}{
		{"prometheus-http.yml", names.HTTP, "/metrics", httpTargets},
		{"prometheus-grpc.yml", names.GRPC, "/", grpcTargets},
	} {
		t.Run(tc.file, func(t *testing.T) {
			i := slices.IndexFunc(cfg.ScrapeConfigs, func(j scrapeJob) bool { return j.JobName == tc.job })
			if i < 0 {
				t.Fatalf("job %q of %s missing from the generated config", tc.job, tc.file)
			}
			j := cfg.ScrapeConfigs[i]
			if j.MetricsPath != tc.path {
				t.Errorf("job %s: metrics_path %q, want %q as in the guide", tc.job, j.MetricsPath, tc.path)
			}
			if len(j.StaticConfigs) != 1 || !slices.Equal(j.StaticConfigs[0].Targets, tc.targets) {
				t.Errorf("job %s: static_configs %v, want targets %v", tc.job, j.StaticConfigs, tc.targets)
			}
		})
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not in PATH; skipping promtool check config")
		return
	}
	path := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "config", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s\n--- generated config ---\n%s", err, out, data)
	}
}

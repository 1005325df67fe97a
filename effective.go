package bento

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gobento/bento/config"
)

// setting is one value a runner or method runs with, and where it came from.
type setting struct {
	key    string // relative to the runner block: "workers", "batching.max_batch_size"
	value  string
	source string // "default", "code: MaxBatchSize(100)", "file bentoml.yaml line 7", "env BENTOML_CONFIG_OPTIONS"
	// overrides, when set, is the configuration value that code overrode:
	// the full key, its value and where it was set.
	overrides *override
}

type override struct {
	key, value, source string
}

// runnerSettings are the effective settings of one runner and its methods.
type runnerSettings struct {
	name     string
	settings []setting
	methods  []methodSettings
}

type methodSettings struct {
	name     string
	settings []setting
}

// describeSource renders a config.Source result for people.
func describeSource(src string) string {
	switch {
	case src == "":
		return "default"
	case src == config.OptionsEnv:
		return "env " + src
	case strings.HasPrefix(src, "flag "):
		return src
	}
	return "file " + src
}

// configSetting is a runner setting whose value comes from the configuration
// alone.
func configSetting(cfg *config.Config, runner, rel, value string) setting {
	_, src := cfg.RunnerSource(runner, rel)
	return setting{key: rel, value: value, source: describeSource(src)}
}

// codeWins is a setting given in code (call, e.g. "MaxBatchSize(100)"),
// which beats the configuration; a configuration value set for the same key
// is recorded as overridden.
func codeWins(cfg *config.Config, runner, rel, value, call, cfgValue string) setting {
	s := setting{key: rel, value: value, source: "code: " + call}
	if key, src := cfg.RunnerSource(runner, rel); src != "" {
		s.overrides = &override{key: key, value: cfgValue, source: describeSource(src)}
	}
	return s
}

func (r *Runner[M]) settings(cfg *config.Config) runnerSettings {
	rc := cfg.Runner(r.name)
	rs := runnerSettings{name: r.name}
	n := r.opts.workers
	if rc.Workers > 0 {
		n = rc.Workers
	}
	workers := configSetting(cfg, r.name, "workers", strconv.Itoa(n))
	if rc.Workers == 0 && r.opts.workersSet {
		workers.source = fmt.Sprintf("code: Workers(%d)", r.opts.workers)
	} else if rc.Workers > 0 && r.opts.workersSet {
		workers.source += fmt.Sprintf(" (the configuration wins over Workers(%d) in code)", r.opts.workers)
	}
	maxConc := "null"
	if rc.Traffic.MaxConcurrency != nil {
		maxConc = strconv.Itoa(*rc.Traffic.MaxConcurrency)
	}
	rs.settings = []setting{
		workers,
		configSetting(cfg, r.name, "batching.enabled", strconv.FormatBool(rc.Batching.Enabled)),
		configSetting(cfg, r.name, "traffic.timeout", strconv.FormatFloat(rc.Traffic.Timeout, 'g', -1, 64)),
		configSetting(cfg, r.name, "traffic.max_concurrency", maxConc),
	}
	for _, m := range r.methods {
		rs.methods = append(rs.methods, methodSettings{name: m.methodName(), settings: m.settings(cfg, r.name, rc)})
	}
	return rs
}

func (p *plainMethod[M, In, Out]) settings(*config.Config, string, config.RunnerConfig) []setting {
	return []setting{{key: "batchable", value: "false", source: "code: Method"}}
}

func (b *batchMethod[M, In, Out]) settings(cfg *config.Config, runner string, rc config.RunnerConfig) []setting {
	size := configSetting(cfg, runner, "batching.max_batch_size", strconv.Itoa(rc.Batching.MaxBatchSize))
	if n := b.opts.maxBatchSize; n > 0 {
		size = codeWins(cfg, runner, "batching.max_batch_size", strconv.Itoa(n),
			fmt.Sprintf("MaxBatchSize(%d)", n), strconv.Itoa(rc.Batching.MaxBatchSize))
	}
	latency := configSetting(cfg, runner, "batching.max_latency_ms", strconv.Itoa(rc.Batching.MaxLatencyMs))
	if d := b.opts.maxLatency; d > 0 {
		latency = codeWins(cfg, runner, "batching.max_latency_ms", strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'g', -1, 64),
			fmt.Sprintf("MaxLatency(%v)", d), strconv.Itoa(rc.Batching.MaxLatencyMs))
	}
	return []setting{{key: "batchable", value: "true", source: "code: BatchMethod"}, size, latency}
}

// runnerSettings returns the effective settings of every runner of s.
func (s *Service) runnerSettings(cfg *config.Config) []runnerSettings {
	runners := s.runnerDecls()
	out := make([]runnerSettings, len(runners))
	for i, r := range runners {
		out[i] = r.settings(cfg)
	}
	return out
}

// writeRunnerSettings prints the effective runner and method settings as
// YAML comments, so that the config command's output stays a valid
// configuration file.
func writeRunnerSettings(w io.Writer, svcName string, rs []runnerSettings) error {
	type row struct{ left, comment string }
	var rows []row
	add := func(indent string, s setting) {
		src := s.source
		if o := s.overrides; o != nil {
			src += fmt.Sprintf("; overrides %s=%s (%s)", o.key, o.value, o.source)
		}
		rows = append(rows, row{fmt.Sprintf("#%s%s: %s", indent, s.key, s.value), src})
	}
	for _, r := range rs {
		rows = append(rows, row{left: "# runners." + r.name + ":"})
		for _, s := range r.settings {
			add("   ", s)
		}
		for _, m := range r.methods {
			rows = append(rows, row{left: "#   method " + m.name + ":"})
			for _, s := range m.settings {
				add("     ", s)
			}
		}
	}
	width := 0
	for _, r := range rows {
		if r.comment != "" {
			width = max(width, len(r.left))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n# In effect for the runners of %s (code's batching options win over the configuration):\n", svcName)
	if len(rs) == 0 {
		b.WriteString("# (no runners)\n")
	}
	for _, r := range rows {
		if r.comment == "" {
			b.WriteString(r.left + "\n")
			continue
		}
		fmt.Fprintf(&b, "%-*s  # %s\n", width, r.left, r.comment)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// warnOverrides logs one warning for every configuration value that code
// overrides, so a setting that does nothing does not go unnoticed.
func (rt *runtime) warnOverrides() {
	for _, r := range rt.svc.runnerSettings(rt.cfg) {
		for _, m := range r.methods {
			for _, s := range m.settings {
				if o := s.overrides; o != nil {
					rt.log.Warn("configuration value overridden by code", "key", o.key, "value", o.value,
						"set_in", o.source, "runner", r.name, "method", m.name, "in_effect", s.value, "by", strings.TrimPrefix(s.source, "code: "))
				}
			}
		}
	}
}

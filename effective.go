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
	// overrides, when set, is the value given in code that the
	// configuration overrode.
	overrides *override
}

// override is a value given in code (call, e.g. "MaxBatchSize(100)") that
// the configuration key set at source overrode.
type override struct {
	call, key, source string
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

// configWins is a setting given in code (call, e.g. "MaxBatchSize(100)",
// giving value): the default, which a configuration key set for it (in a
// file, BENTOML_CONFIG_OPTIONS or a flag; cfgValue) overrides. That is
// gobento's one precedence rule for every option that has a key: code says
// what the model needs by default, the operator's configuration has the
// last word, and the override is logged.
func configWins(cfg *config.Config, runner, rel, value, call, cfgValue string) setting {
	key, src := cfg.RunnerSource(runner, rel)
	if src == "" {
		return setting{key: rel, value: value, source: "code: " + call}
	}
	return setting{key: rel, value: cfgValue, source: describeSource(src),
		overrides: &override{call: call, key: key, source: describeSource(src)}}
}

func (r *Runner[M]) settings(cfg *config.Config) runnerSettings {
	rc := cfg.Runner(r.name)
	rs := runnerSettings{name: r.name}
	n := r.opts.workers
	if rc.Workers > 0 {
		n = rc.Workers
	}
	workers := configSetting(cfg, r.name, "workers", strconv.Itoa(n))
	if r.opts.workersSet {
		workers = configWins(cfg, r.name, "workers", strconv.Itoa(r.opts.workers), fmt.Sprintf("Workers(%d)", r.opts.workers), strconv.Itoa(rc.Workers))
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
		size = configWins(cfg, runner, "batching.max_batch_size", strconv.Itoa(n),
			fmt.Sprintf("MaxBatchSize(%d)", n), strconv.Itoa(rc.Batching.MaxBatchSize))
	}
	latency := configSetting(cfg, runner, "batching.max_latency_ms", strconv.Itoa(rc.Batching.MaxLatencyMs))
	if d := b.opts.maxLatency; d > 0 {
		latency = configWins(cfg, runner, "batching.max_latency_ms", strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'g', -1, 64),
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
			src += fmt.Sprintf("; overrides %s in code", o.call)
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
	fmt.Fprintf(&b, "\n# In effect for the runners of %s (a configuration key overrides the option given in code):\n", svcName)
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

// warnOverrides logs one warning for every option given in code that the
// configuration overrides, so that a value in code that does nothing does
// not go unnoticed.
func (rt *runtime) warnOverrides() {
	warn := func(runner, method string, s setting) {
		if o := s.overrides; o != nil {
			rt.log.Warn("option given in code overridden by the configuration", "key", o.key, "value", s.value,
				"set_in", o.source, "runner", runner, "method", method, "code", o.call)
		}
	}
	for _, r := range rt.svc.runnerSettings(rt.cfg) {
		for _, s := range r.settings {
			warn(r.name, "", s)
		}
		for _, m := range r.methods {
			for _, s := range m.settings {
				warn(r.name, m.name, s)
			}
		}
	}
}

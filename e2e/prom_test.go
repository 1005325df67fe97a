package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v4"
)

// Scrape and rule evaluation interval of the generated configuration. The
// shipped configs use 5s/15s; the test shortens both so that it needs seconds
// of traffic rather than minutes.
const promInterval = "1s"

// jobs names the two scrape jobs of the generated configuration, as the
// shipped configs call them.
type jobs struct {
	HTTP string // job of prometheus-http.yml (serve-http targets)
	GRPC string // job of prometheus-grpc.yml (serve-grpc metrics targets)
}

// promConfig derives the test's Prometheus configuration from the shipped
// deploy/prometheus/prometheus-http.yml and prometheus-grpc.yml in
// promDir. It keeps their jobs (name, metrics_path and every other setting)
// and rule files, and changes only what a test must change: the scrape and
// evaluation intervals, the static targets (httpTargets for the HTTP job,
// grpcTargets for the gRPC job), and rule file paths, made absolute so the
// generated file can live anywhere.
func promConfig(promDir string, httpTargets, grpcTargets []string) ([]byte, jobs, error) {
	var names jobs
	out := map[string]any{}
	var ruleFiles []any
	var scrapeConfigs []any
	for _, src := range []struct {
		file    string
		targets []string
		job     *string
	}{
		{"prometheus-http.yml", httpTargets, &names.HTTP},
		{"prometheus-grpc.yml", grpcTargets, &names.GRPC},
	} {
		path := filepath.Join(promDir, src.file)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, names, fmt.Errorf("read shipped config: %w", err)
		}
		var cfg map[string]any
		if err := yaml.Load(data, &cfg); err != nil {
			return nil, names, fmt.Errorf("parse %s: %w", path, err)
		}
		if _, ok := out["global"]; !ok {
			global, _ := cfg["global"].(map[string]any)
			if global == nil {
				global = map[string]any{}
			}
			global["scrape_interval"] = promInterval
			global["evaluation_interval"] = promInterval
			out["global"] = global
		}
		files, _ := cfg["rule_files"].([]any)
		if len(files) == 0 {
			return nil, names, fmt.Errorf("%s: no rule_files; the e2e test checks the rules it loads", path)
		}
		for _, f := range files {
			s, ok := f.(string)
			if !ok {
				return nil, names, fmt.Errorf("%s: rule_files entry %v is not a string", path, f)
			}
			if !filepath.IsAbs(s) {
				s = filepath.Join(promDir, s) // Prometheus resolves them relative to the config file
			}
			if !slices.Contains(ruleFiles, any(s)) {
				ruleFiles = append(ruleFiles, s)
			}
		}
		scs, _ := cfg["scrape_configs"].([]any)
		if len(scs) != 1 {
			return nil, names, fmt.Errorf("%s: %d scrape_configs, the e2e test expects exactly one job", path, len(scs))
		}
		job, _ := scs[0].(map[string]any)
		name, _ := job["job_name"].(string)
		if name == "" {
			return nil, names, fmt.Errorf("%s: scrape config without job_name", path)
		}
		if _, ok := job["static_configs"]; !ok {
			return nil, names, fmt.Errorf("%s: job %s has no static_configs to retarget", path, name)
		}
		job["static_configs"] = []any{map[string]any{"targets": src.targets}}
		*src.job = name
		scrapeConfigs = append(scrapeConfigs, job)
	}
	if names.HTTP == names.GRPC {
		return nil, names, fmt.Errorf("both shipped configs name their job %q; the test needs them apart", names.HTTP)
	}
	out["rule_files"] = ruleFiles
	out["scrape_configs"] = scrapeConfigs
	data, err := yaml.Dump(out)
	if err != nil {
		return nil, names, fmt.Errorf("encode generated config: %w", err)
	}
	return data, names, nil
}

// promSample is one element of an instant-vector query result.
type promSample struct {
	Labels map[string]string
	Time   time.Time
	Value  float64
}

// String formats the sample as labels => value, for failure messages.
func (s promSample) String() string {
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, s.Labels[k])
	}
	return fmt.Sprintf("{%s} => %g", strings.Join(parts, ", "), s.Value)
}

// promClient is a minimal client of Prometheus' HTTP API (v1).
type promClient struct {
	base string // e.g. http://127.0.0.1:9090
	hc   *http.Client
}

// apiResponse is the envelope of every /api/v1 answer.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

// get calls an API path and decodes the data field into v.
func (c *promClient) get(ctx context.Context, path string, params url.Values, v any) error {
	u := c.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("prometheus %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("prometheus %s: read body: %w", path, err)
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("prometheus %s: HTTP %d, undecodable body %.200q: %w", path, resp.StatusCode, body, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("prometheus %s: %s: %s", path, r.ErrorType, r.Error)
	}
	return json.Unmarshal(r.Data, v)
}

// query evaluates expr as an instant query at time at and returns the
// samples of the resulting vector (a scalar result becomes one sample
// without labels).
func (c *promClient) query(ctx context.Context, expr string, at time.Time) ([]promSample, error) {
	params := url.Values{"query": {expr}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := c.get(ctx, "/api/v1/query", params, &data); err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	switch data.ResultType {
	case "vector":
		var raw []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(data.Result, &raw); err != nil {
			return nil, fmt.Errorf("query %s: decode vector: %w", expr, err)
		}
		out := make([]promSample, 0, len(raw))
		for _, r := range raw {
			s, err := decodePoint(r.Value)
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", expr, err)
			}
			s.Labels = r.Metric
			out = append(out, s)
		}
		return out, nil
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(data.Result, &v); err != nil {
			return nil, fmt.Errorf("query %s: decode scalar: %w", expr, err)
		}
		s, err := decodePoint(v)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		return []promSample{s}, nil
	default:
		return nil, fmt.Errorf("query %s: unexpected result type %q", expr, data.ResultType)
	}
}

// decodePoint decodes a [unix seconds, "value"] pair.
func decodePoint(p [2]any) (promSample, error) {
	ts, ok1 := p[0].(float64)
	vs, ok2 := p[1].(string)
	if !ok1 || !ok2 {
		return promSample{}, fmt.Errorf("malformed point %v", p)
	}
	v, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		return promSample{}, fmt.Errorf("malformed value %q: %w", vs, err)
	}
	sec, frac := math.Modf(ts)
	return promSample{Time: time.Unix(int64(sec), int64(frac*1e9)), Value: v}, nil
}

// ruleGroup is one group of /api/v1/rules.
type ruleGroup struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	LastEvaluation time.Time `json:"lastEvaluation"`
	Rules          []struct {
		Name      string `json:"name"`
		Type      string `json:"type"` // "recording" or "alerting"
		Health    string `json:"health"`
		LastError string `json:"lastError"`
		State     string `json:"state"` // alerting rules: inactive, pending, firing
	} `json:"rules"`
}

// rules returns the rule groups Prometheus has loaded.
func (c *promClient) rules(ctx context.Context) ([]ruleGroup, error) {
	var data struct {
		Groups []ruleGroup `json:"groups"`
	}
	if err := c.get(ctx, "/api/v1/rules", nil, &data); err != nil {
		return nil, err
	}
	return data.Groups, nil
}

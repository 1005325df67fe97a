package config_test

import (
	"reflect"
	"testing"

	"github.com/gobento/bento/config"
)

func TestApplyOptions(t *testing.T) {
	tests := []struct {
		name    string
		options string
		check   func(t *testing.T, c *config.Config)
	}{
		{"empty", "  \t\n ", func(t *testing.T, c *config.Config) {
			if !reflect.DeepEqual(c.APIServer, config.Default().APIServer) {
				t.Error("blank options changed the config")
			}
		}},
		{"scalars", "api_server.http.port=5000 runners.batching.enabled=false api_server.traffic.timeout=1.5", func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 5000 || c.Runners.Batching.Enabled || c.APIServer.Traffic.Timeout != 1.5 {
				t.Errorf("got port %d, batching %v, timeout %v", c.APIServer.HTTP.Port, c.Runners.Batching.Enabled, c.APIServer.Traffic.Timeout)
			}
		}},
		{"list value", "api_server.metrics.duration.buckets=[0.1,0.5,1]", func(t *testing.T, c *config.Config) {
			if got := fmtList(c.APIServer.Metrics.Duration.Buckets); got != "0.1,0.5,1" {
				t.Errorf("buckets = %s", got)
			}
		}},
		{"list with spaces", "api_server.metrics.duration.buckets=[0.1, 0.5, 1] api_server.http.port=1", func(t *testing.T, c *config.Config) {
			if got := fmtList(c.APIServer.Metrics.Duration.Buckets); got != "0.1,0.5,1" || c.APIServer.HTTP.Port != 1 {
				t.Errorf("buckets = %s, port %d", got, c.APIServer.HTTP.Port)
			}
		}},
		{"mapping value merges", "api_server.http={port: 4000}", func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 4000 || c.APIServer.HTTP.Host != "0.0.0.0" {
				t.Errorf("http = %+v", c.APIServer.HTTP)
			}
		}},
		{"later entries win", "api_server.http.port=1 api_server.http.port=2", func(t *testing.T, c *config.Config) {
			if c.APIServer.HTTP.Port != 2 {
				t.Errorf("port = %d", c.APIServer.HTTP.Port)
			}
		}},
		{"per-runner", "runners.iris_clf.batching.max_batch_size=10", func(t *testing.T, c *config.Config) {
			r := c.Runner("iris_clf")
			if r.Batching != (config.Batching{Enabled: true, MaxBatchSize: 10, MaxLatencyMs: 60000}) {
				t.Errorf("batching = %+v", r.Batching)
			}
		}},
		{"quoted runner name", `runners."my.runner".workers=2`, func(t *testing.T, c *config.Config) {
			if c.Runner("my.runner").Workers != 2 {
				t.Errorf("PerRunner = %+v", c.Runners.PerRunner)
			}
		}},
		{"null value", "api_server.traffic.max_concurrency=4 api_server.traffic.max_concurrency=", func(t *testing.T, c *config.Config) {
			if c.APIServer.Traffic.MaxConcurrency != nil {
				t.Errorf("max_concurrency = %v", *c.APIServer.Traffic.MaxConcurrency)
			}
		}},
		{"quoted string value", `api_server.metrics.namespace="my_ns"`, func(t *testing.T, c *config.Config) {
			if c.APIServer.Metrics.Namespace != "my_ns" {
				t.Errorf("namespace = %q", c.APIServer.Metrics.Namespace)
			}
		}},
		{"value containing =", `api_server.metrics.namespace='a=b'`, func(t *testing.T, c *config.Config) {
			if c.APIServer.Metrics.Namespace != "a=b" {
				t.Errorf("namespace = %q", c.APIServer.Metrics.Namespace)
			}
		}},
		{"min/max/factor replace the default list", "runners.metrics.duration.min=1 runners.metrics.duration.max=8 runners.metrics.duration.factor=2", func(t *testing.T, c *config.Config) {
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := fmtList(mustBuckets(t, c.Runners.Metrics)); got != "1,2,4,8" {
				t.Errorf("buckets = %s", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			if err := config.ApplyOptions(c, tt.options); err != nil {
				t.Fatalf("ApplyOptions(%q): %v", tt.options, err)
			}
			tt.check(t, c)
		})
	}
}

func TestApplyOptionsErrors(t *testing.T) {
	tests := []struct {
		name    string
		options string
		want    []wantErr
	}{
		{"no equals sign", "api_server.http.port", []wantErr{{"", 0, `malformed entry "api_server.http.port": want dotted.key=value`}}},
		{"empty key", "=5", []wantErr{{"", 0, `malformed entry "=5": empty key`}}},
		{"empty segment", "api_server..port=5", []wantErr{{"", 0, "empty key segment"}}},
		{"trailing dot", "api_server.=5", []wantErr{{"", 0, "ends with '.'"}}},
		{"unterminated quoted segment", `runners."x.workers=2`, []wantErr{{"", 0, "unbalanced quotes"}}},
		{"misplaced quote", `runners.a"b".workers=2`, []wantErr{{"", 0, "misplaced"}}},
		{"quoted segment then junk", `runners."a"b.workers=2`, []wantErr{{"", 0, "must be followed by"}}},
		{"unbalanced bracket", "api_server.metrics.duration.buckets=[1,2", []wantErr{{"", 0, "unbalanced"}}},
		{"unknown key", "api_server.http.prot=5", []wantErr{{"api_server.http.prot", 0, "config: api_server.http.prot (BENTOML_CONFIG_OPTIONS): unknown key"}}},
		{"wrong type", "runners.batching.enabled=maybe", []wantErr{{"runners.batching.enabled", 0, `expected a boolean, got string "maybe"`}}},
		{"invalid YAML value", "api_server.http.port={", []wantErr{{"", 0, "unbalanced"}}},
		{"invalid YAML value balanced", "api_server.http.port=[}", []wantErr{{"api_server.http.port", 0, "invalid YAML value"}}},
		{"bad runner name", "runners.Iris.workers=1", []wantErr{{"runners.Iris", 0, "not a valid runner name"}}},
		{"every bad entry reported", "a=1 b c.d=2", []wantErr{{"a", 0, "unknown key"}, {"", 0, `malformed entry "b"`}, {"c", 0, "unknown key"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			before, err := c.YAML()
			if err != nil {
				t.Fatal(err)
			}
			err = config.ApplyOptions(c, "api_server.http.port=4444 "+tt.options)
			checkErrors(t, err, tt.want...)
			after, _ := c.YAML()
			if string(before) != string(after) {
				t.Error("a failed ApplyOptions changed the config")
			}
		})
	}
}

// TestApplyOptionsOverZeroConfig checks ApplyOptions on a Config built
// without Default.
func TestApplyOptionsOverZeroConfig(t *testing.T) {
	var c config.Config
	if err := config.ApplyOptions(&c, "runners.x.workers=2 version=1"); err != nil {
		t.Fatal(err)
	}
	if c.Version != 1 || c.Runner("x").Workers != 2 {
		t.Errorf("got %+v", c)
	}
}

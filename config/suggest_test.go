package config_test

import (
	"testing"

	"github.com/gobento/bento/config"
)

// TestDidYouMeanAndSyntaxLines checks the hints for misspelled keys and the
// line reported for YAML syntax errors (where the mistake is, not where the
// parser gave up).
func TestDidYouMeanAndSyntaxLines(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want wantErr
	}{
		{"swapped letters", "api_server:\n  metrics:\n    namepsace: x\n",
			wantErr{"api_server.metrics.namepsace", 3, "unknown key (did you mean api_server.metrics.namespace?)"}},
		{"top level", "versoin: 1\n", wantErr{"versoin", 1, "(did you mean version?)"}},
		{"one letter off", "api_server:\n  http:\n    prot: 1\n", wantErr{"api_server.http.prot", 3, "(did you mean api_server.http.port?)"}},
		{"global runner key", "runners:\n  batching:\n    max_batch_sise: 3\n",
			wantErr{"runners.batching.max_batch_sise", 3, "(did you mean runners.batching.max_batch_size?)"}},
		{"per-runner key", "runners:\n  iris:\n    traffic:\n      timout: 3\n",
			wantErr{"runners.iris.traffic.timout", 4, "(did you mean runners.iris.traffic.timeout?)"}},
		{"misspelled runner setting read as a runner", "runners:\n  batchng:\n    enabled: false\n",
			wantErr{"runners.batchng.enabled", 3, `runners.batchng is read as the block of a runner named "batchng": did you mean runners.batching?`}},
		{"nothing close", "api_server:\n  http:\n    zzzzzzzz: 1\n", wantErr{"api_server.http.zzzzzzzz", 3, "unknown key"}},
		{"unclosed flow list", "version: 1\napi_server:\n  http:\n    port: [3000\n  traffic:\n    timeout: 5\n", wantErr{"", 4, "invalid YAML"}},
		{"unclosed flow mapping", "version: 1\napi_server: {http: {port: 1}\n", wantErr{"", 2, "invalid YAML"}},
		{"unclosed quote", "version: 1\napi_server:\n  http:\n    host: \"abc\n", wantErr{"", 4, "invalid YAML"}},
		{"bad indentation", "version: 1\napi_server:\n  http:\n    port: 3000\n   host: x\n", wantErr{"", 5, "invalid YAML"}},
		{"tab", "version: 1\napi_server:\n\thttp: 1\n", wantErr{"", 3, "invalid YAML"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.yaml), "test.yaml")
			checkErrors(t, err, tc.want)
		})
	}
}

// TestCheckRunners checks that runners.<name> blocks naming no runner of
// the service are reported, with where they were set and a suggestion.
func TestCheckRunners(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		options string
		runners []string
		want    []wantErr // none: no error
	}{
		{"known runner", "runners:\n  iris_clf:\n    workers: 2\n", "", []string{"iris_clf"}, nil},
		{"no per-runner block", "runners:\n  workers: 2\n", "", nil, nil},
		{"misspelled runner", "version: 1\nrunners:\n  iris_clff:\n    batching:\n      max_batch_size: 3\n", "", []string{"iris_clf", "other"},
			[]wantErr{{"runners.iris_clff", 3, `config: runners.iris_clff (test.yaml line 3): the service has no runner "iris_clff" (did you mean runners.iris_clf?); its runners: iris_clf, other`}}},
		{"misspelled setting", "runners:\n  batchng:\n    workers: 1\n", "", []string{"iris_clf"},
			[]wantErr{{"runners.batchng", 2, "(did you mean runners.batching, a setting for every runner?)"}}},
		{"from BENTOML_CONFIG_OPTIONS", "", "runners.iris_clff.workers=2", []string{"iris_clf"},
			[]wantErr{{"runners.iris_clff", 0, "runners.iris_clff (BENTOML_CONFIG_OPTIONS): the service has no runner"}}},
		{"service without runners", "runners:\n  iris:\n    workers: 2\n", "", nil,
			[]wantErr{{"runners.iris", 2, "it declares no runners"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tc.yaml), "test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := config.ApplyOptions(c, tc.options); err != nil {
				t.Fatal(err)
			}
			err = c.CheckRunners(tc.runners)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			checkErrors(t, err, tc.want...)
		})
	}
}

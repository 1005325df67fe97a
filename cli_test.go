package bento_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
)

// serveCLI runs args (a serving command) through bento.Execute until the
// start-up line is logged, then stops it and returns the log.
func serveCLI(t *testing.T, svc *bento.Service, args ...string) string {
	t.Helper()
	var out, logs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- bento.Execute(ctx, svc, args, &out, &logs) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "Starting production") {
		select {
		case err := <-done:
			t.Fatalf("%v: exited early: %v\n%s", args, err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: no start-up line:\n%s", args, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("%v: exit: %v", args, err)
	}
	return logs.String()
}

// TestCLIStartupLine checks the start-up log: the bound address, a
// clickable localhost URL, and no empty metrics attribute.
func TestCLIStartupLine(t *testing.T) {
	tests := []struct {
		name    string
		options string // BENTOML_CONFIG_OPTIONS
		args    func(port, metricsPort int) []string
		want    func(port, metricsPort int) []string
		notWant []string
	}{
		{"http",
			"",
			func(p, _ int) []string { return []string{"serve-http", "--host", "127.0.0.1", "--port", fmt.Sprint(p)} },
			func(p, _ int) []string {
				return []string{fmt.Sprintf(`listening on 127.0.0.1:%d (Press CTRL+C to quit)"`, p),
					fmt.Sprintf("url=http://127.0.0.1:%d/ metrics=http://127.0.0.1:%d/metrics", p, p)}
			},
			nil},
		{"http, metrics off",
			"api_server.metrics.enabled=false",
			func(p, _ int) []string { return []string{"serve-http", "--host", "127.0.0.1", "--port", fmt.Sprint(p)} },
			func(p, _ int) []string { return []string{fmt.Sprintf("listening on 127.0.0.1:%d ", p)} },
			[]string{"metrics="}},
		{"grpc",
			"api_server.grpc.metrics.host=127.0.0.1",
			func(p, m int) []string {
				return []string{"serve-grpc", "--host", "127.0.0.1", "--port", fmt.Sprint(p)}
			},
			func(p, m int) []string {
				return []string{fmt.Sprintf("listening on 127.0.0.1:%d ", p), fmt.Sprintf("metrics=http://127.0.0.1:%d/ ", m)}
			},
			nil},
		{"grpc, metrics off",
			"api_server.metrics.enabled=false",
			func(p, _ int) []string { return []string{"serve-grpc", "--host", "127.0.0.1", "--port", fmt.Sprint(p)} },
			func(p, _ int) []string {
				return []string{fmt.Sprintf("listening on 127.0.0.1:%d ", p), "reflection=false"}
			},
			[]string{"metrics="}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port, mport := freePort(t), freePort(t)
			t.Setenv("BENTOML_CONFIG_OPTIONS", strings.TrimSpace(tc.options+fmt.Sprintf(" api_server.grpc.metrics.port=%d", mport)))
			logs := serveCLI(t, kitchenSink(t), tc.args(port, mport)...)
			for _, w := range tc.want(port, mport) {
				if !strings.Contains(logs, w) {
					t.Errorf("log lacks %q:\n%s", w, logs)
				}
			}
			for _, nw := range tc.notWant {
				if strings.Contains(logs, nw) {
					t.Errorf("log has %q:\n%s", nw, logs)
				}
			}
		})
	}
}

// TestCLIErrors checks that command-line mistakes are reported in the
// user's words: the flag typed, the valid values, what collided.
func TestCLIErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	port := freePort(t)
	tests := []struct {
		name    string
		options string
		args    []string
		want    []string
	}{
		{"log level", "", []string{"serve-http", "--log-level", "verbose"},
			[]string{`--log-level "verbose"`, "debug, info, warn or error"}},
		{"negative timeout", "", []string{"serve-http", "--timeout", "-1"},
			[]string{"--timeout -1", "> 0"}},
		{"zero timeout", "", []string{"serve-http", "--timeout=0"},
			[]string{"--timeout 0"}},
		{"port out of range", "", []string{"serve-http", "--port", "70000"},
			[]string{"--port 70000", "65535"}},
		{"grpc port is the metrics port", "api_server.grpc.metrics.host=127.0.0.1",
			[]string{"serve-grpc", "--host", "127.0.0.1", "--port", "3001"},
			[]string{"api_server.grpc.port and api_server.grpc.metrics.port are both 3001", "--port"}},
		{"grpc metrics port taken", fmt.Sprintf("api_server.grpc.metrics.host=127.0.0.1 api_server.grpc.metrics.port=%d", busyPort),
			[]string{"serve-grpc", "--host", "127.0.0.1", "--port", fmt.Sprint(port)},
			[]string{"address already in use", "the metrics listener, api_server.grpc.metrics.port"}},
		{"misspelled runner name", "runners.uper.workers=2",
			[]string{"serve-http", "--host", "127.0.0.1", "--port", fmt.Sprint(port)},
			[]string{`runners.uper (BENTOML_CONFIG_OPTIONS): the service has no runner "uper" (did you mean runners.upper?)`}},
		{"misspelled runner name, grpc", "runners.uper.workers=2",
			[]string{"serve-grpc", "--host", "127.0.0.1", "--port", fmt.Sprint(port)},
			[]string{`the service has no runner "uper"`}},
		{"http metrics port taken", fmt.Sprintf("api_server.metrics.port=%d", busyPort),
			[]string{"serve-http", "--host", "127.0.0.1", "--port", fmt.Sprint(port)},
			[]string{"address already in use", "the metrics listener, api_server.metrics.port"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BENTOML_CONFIG_OPTIONS", tc.options)
			var out, logs lockedBuffer
			err := bento.Execute(context.Background(), kitchenSink(t), tc.args, &out, &logs)
			if err == nil {
				t.Fatalf("no error; log:\n%s", logs.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

// TestCLIUsageNamesProgram checks that usage lines name the program, not a
// generic "service".
func TestCLIUsageNamesProgram(t *testing.T) {
	var out, logs lockedBuffer
	if err := bento.Execute(context.Background(), kitchenSink(t), []string{"--help"}, &out, &logs); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "service [command]") || !strings.Contains(out.String(), filepath.Base(os.Args[0])+" [command]") {
		t.Errorf("usage:\n%s", out.String())
	}
}

// TestOpenAPICommandMatchesDocsJSON checks that `openapi` prints the
// document serve-http serves at /docs.json, /metrics included or not.
func TestOpenAPICommandMatchesDocsJSON(t *testing.T) {
	tests := []struct {
		name    string
		options string
	}{
		{"metrics on the API port", ""},
		{"metrics off", "api_server.metrics.enabled=false"},
		{"metrics on their own port", fmt.Sprintf("api_server.metrics.port=%d", freePort(t))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BENTOML_CONFIG_OPTIONS", tc.options)
			var out, logs strings.Builder
			if err := bento.Execute(context.Background(), kitchenSink(t), []string{"openapi"}, &out, &logs); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(config.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cfg.APIServer.HTTP.Host, cfg.APIServer.HTTP.Port = "127.0.0.1", 0
			srv := startHTTP(t, kitchenSink(t), cfg)
			r := do(t, "GET", srv.URL()+"/docs.json", "", nil)
			if got, want := strings.TrimSpace(out.String()), strings.TrimSpace(string(r.body)); got != want {
				t.Errorf("openapi output differs from /docs.json:\n--- openapi\n%.600s\n--- /docs.json\n%.600s", got, want)
			}
		})
	}
}

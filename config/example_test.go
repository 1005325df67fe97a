package config_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gobento/bento/config"
)

func ExampleParse() {
	c, err := config.Parse([]byte(`
api_server:
  metrics:
    duration:
      min: 0.1
      max: 5.0
      factor: 2.0
runners:
  batching:
    max_batch_size: 32
  iris_clf:
    batching:
      max_latency_ms: 500
`), "bentoml.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := c.APIServer.Metrics.Buckets()
	fmt.Println("buckets:", b)
	fmt.Printf("iris_clf batching: %+v\n", c.Runner("iris_clf").Batching)
	// Output:
	// buckets: [0.1 0.2 0.4 0.8 1.6 3.2 5]
	// iris_clf batching: {Enabled:true MaxBatchSize:32 MaxLatencyMs:500}
}

func ExampleParse_errors() {
	_, err := config.Parse([]byte(`
api_server:
  http:
    port: 70000
  metrics:
    namepsace: my_service
`), "bentoml.yaml")
	fmt.Println(err)
	// Output:
	// config: api_server.metrics.namepsace (bentoml.yaml line 6): unknown key (did you mean api_server.metrics.namespace?)
	// config: api_server.http.port (bentoml.yaml line 4): must be between 0 and 65535, got 70000
}

func ExampleLoad() {
	dir, err := os.MkdirTemp("", "gobento-config")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "bentoml.yaml")
	if err := os.WriteFile(file, []byte("api_server:\n  http:\n    port: 5000\n"), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	env := map[string]string{
		"BENTOML_CONFIG":         file,
		"BENTOML_CONFIG_OPTIONS": "api_server.traffic.timeout=5 runners.iris_clf.batching.max_batch_size=10",
	}
	c, err := config.Load(config.LoadOptions{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.APIServer.HTTP.Port, c.APIServer.Traffic.Timeout, c.Runner("iris_clf").Batching.MaxBatchSize)
	// Output:
	// 5000 5 10
}

func ExampleApplyOptions() {
	c := config.Default()
	err := config.ApplyOptions(c, `api_server.http.port=8080 runners."my.runner".workers=4`)
	fmt.Println(err, c.APIServer.HTTP.Port, c.Runner("my.runner").Workers)
	// Output:
	// <nil> 8080 4
}

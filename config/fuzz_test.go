package config_test

import (
	"errors"
	"testing"

	"github.com/gobento/bento/config"
)

// checkValidConfig asserts the fuzz property for a config a function
// accepted: it validates, and its YAML parses back to the same values.
func checkValidConfig(t *testing.T, c *config.Config) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("accepted config does not validate: %v", err)
	}
	out, err := c.YAML()
	if err != nil {
		t.Fatalf("YAML: %v", err)
	}
	c2, err := config.Parse(out, "roundtrip.yaml")
	if err != nil {
		t.Fatalf("Parse(YAML()) = %v\n%s", err, out)
	}
	assertSameConfig(t, c, c2)
	for name := range c.Runners.PerRunner {
		r := c.Runner(name)
		if _, err := r.Metrics.Buckets(); err != nil {
			t.Fatalf("runner %q buckets: %v", name, err)
		}
	}
	if _, err := c.APIServer.Metrics.Buckets(); err != nil {
		t.Fatalf("api_server buckets: %v", err)
	}
}

// checkConfigErrors asserts that every joined error is a *config.Error.
func checkConfigErrors(t *testing.T, err error) {
	t.Helper()
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *config.Error
		if !errors.As(e, &ce) {
			t.Fatalf("error %v (%T) is not a *config.Error", e, e)
		}
		_ = ce.Error()
	}
	walk(err)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"version: 1\n",
		"api_server:\n  metrics:\n    duration: {min: 0.1, max: 5.0, factor: 2.0}\n",
		"runners:\n  batching: {max_batch_size: 10}\n  iris_clf:\n    batching: {enabled: false}\n",
		"api_server:\n  http: {port: 70000}\n  metrics:\n    namepsace: x\n",
		"a: &x {b: *x}\n",
		"runners:\n  r:\n    metrics:\n      duration: {buckets: [1, 2, .inf]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, "fuzz.yaml")
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned both a config and an error")
			}
			checkConfigErrors(t, err)
			return
		}
		checkValidConfig(t, c)
	})
}

func FuzzApplyOptions(f *testing.F) {
	for _, s := range []string{
		"",
		"api_server.http.port=5000 runners.batching.enabled=false",
		"api_server.metrics.duration.buckets=[0.1,0.5,1]",
		`runners."my.runner".workers=2 runners.iris_clf.batching.max_batch_size=10`,
		"api_server.metrics.duration.min=0.1 api_server.metrics.duration.max=5 api_server.metrics.duration.factor=2",
		"=x a.b \"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, options string) {
		c := config.Default()
		err := config.ApplyOptions(c, options)
		if err != nil {
			checkConfigErrors(t, err)
			return
		}
		if err := c.Validate(); err != nil {
			checkConfigErrors(t, err)
			return
		}
		checkValidConfig(t, c)
	})
}

package config

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

// YAML renders c as a complete YAML configuration: every key of the
// top-level blocks with its current value (null for unset optional keys),
// and each runners.<name> block as written, i.e. only the keys it sets.
// [Parse] of the output yields a configuration with the same values and
// the same effective runner configs.
func (c *Config) YAML() ([]byte, error) {
	var e encoder
	root := mapNode()
	addPair(root, "version", e.scalarNode(reflect.ValueOf(c.Version)))
	addPair(root, "api_server", e.structNode(reflect.ValueOf(c.APIServer), "", nil))

	runners := e.structNode(reflect.ValueOf(c.Runners.RunnerConfig), "", omitRunnerMetricsAddr)
	for _, name := range slices.Sorted(maps.Keys(c.Runners.PerRunner)) {
		set := c.runnerSet(name)
		keep := func(p string, v reflect.Value) bool {
			if set[p] {
				return true
			}
			for s := range set {
				if strings.HasPrefix(s, p+".") {
					return true
				}
			}
			return false
		}
		addPair(runners, name, e.structNode(reflect.ValueOf(c.Runners.PerRunner[name]), "", keep))
	}
	addPair(root, "runners", runners)
	addPair(root, "tracing", e.structNode(reflect.ValueOf(c.Tracing), "", nil))
	if e.err != nil {
		return nil, e.err
	}
	return yaml.Dump(root, yaml.WithLineWidth(-1))
}

// omitRunnerMetricsAddr leaves out the api_server-only keys of
// runners.metrics (host, port, native_histograms, otlp) when unset.
func omitRunnerMetricsAddr(p string, v reflect.Value) bool {
	switch p {
	case "metrics.host", "metrics.port":
		return !v.IsNil()
	case "metrics.native_histograms", "metrics.otlp":
		return !v.IsZero()
	}
	return true
}

// structNode renders the fields of a struct for which keep (nil: all)
// returns true; p is the dotted path of v relative to where keep applies.
func (e *encoder) structNode(v reflect.Value, p string, keep func(p string, v reflect.Value) bool) *yaml.Node {
	n := mapNode()
	t := v.Type()
	for i := range t.NumField() {
		name, _ := yamlName(t.Field(i))
		if name == "" {
			continue
		}
		fp := name
		if p != "" {
			fp = p + "." + name
		}
		f := v.Field(i)
		if keep != nil && !keep(fp, f) {
			continue
		}
		if f.Kind() == reflect.Struct {
			addPair(n, name, e.structNode(f, fp, keep))
		} else {
			addPair(n, name, e.scalarNode(f))
		}
	}
	return n
}

func mapNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

func addPair(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// scalarNode renders a leaf: scalar, pointer to scalar (nil: null) or list
// of numbers (nil: null, in flow style).
func (e *encoder) scalarNode(v reflect.Value) *yaml.Node {
	null := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return null
		}
		return e.scalarNode(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return null
		}
		s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for i := range v.Len() {
			s.Content = append(s.Content, e.scalarNode(v.Index(i)))
		}
		return s
	}
	var n yaml.Node
	if err := n.Encode(v.Interface()); err != nil && e.err == nil {
		e.err = err
	}
	return &n
}

// encoder builds the YAML tree and keeps the first encoding error.
type encoder struct{ err error }

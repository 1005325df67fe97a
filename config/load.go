package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/gobento/bento/internal/buckets"
)

// LoadOptions says where [Load] reads the configuration from.
type LoadOptions struct {
	// File is the configuration file (the --config flag). If empty, the
	// BENTOML_CONFIG environment variable names it; if that is empty too,
	// only defaults and BENTOML_CONFIG_OPTIONS apply.
	File string
	// Getenv looks up environment variables: BENTOML_CONFIG,
	// BENTOML_CONFIG_OPTIONS, the variables in the file path, and ${VAR}
	// references in values. Nil means [os.Getenv].
	Getenv func(string) string
}

// Load builds the configuration: defaults, then the file (if any), then
// BENTOML_CONFIG_OPTIONS, then [Config.Validate]. The file name must end in
// .yml or .yaml; "~" and $VARS in it are expanded. A missing file gives an
// error wrapping [fs.ErrNotExist]. All problems found are returned together
// (see [Error]).
func Load(opts LoadOptions) (*Config, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Default()
	file := opts.File
	if file == "" {
		file = getenv(FileEnv)
	}
	var errs []error
	if file != "" {
		data, path, err := readFile(file, getenv)
		if err != nil {
			return nil, err
		}
		d := &decoder{c: c, source: path, lines: true, getenv: getenv}
		d.document(data)
		errs = append(errs, d.errs...)
		c.finalize()
	}
	if err := applyOptions(c, getenv(OptionsEnv), getenv); err != nil {
		errs = append(errs, err)
	}
	return c.check(errs)
}

// check validates c and returns it, or every problem: the decoding errors
// given, then the validation errors. Keys that failed to decode kept their
// previous values, so validation does not report them again.
func (c *Config) check(errs []error) (*Config, error) {
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// readFile expands and checks the path, then reads the file.
func readFile(file string, getenv func(string) string) ([]byte, string, error) {
	path := os.Expand(file, getenv)
	if path == "~" || strings.HasPrefix(path, "~/") || strings.HasPrefix(path, `~\`) {
		home := getenv("HOME")
		if home == "" {
			var err error
			if home, err = os.UserHomeDir(); err != nil {
				return nil, path, &Error{Source: path, Msg: "cannot expand ~", Err: err}
			}
		}
		path = filepath.Join(home, path[1:])
	}
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".yml" && ext != ".yaml" {
		return nil, path, &Error{Source: path, Msg: "the configuration file name must end in .yml or .yaml"}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		// The path is already in Source; keep the cause (which still
		// matches fs.ErrNotExist and the like).
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, path, &Error{Source: path, Msg: "cannot read the configuration file", Err: err}
	}
	return data, path, nil
}

// Parse builds a configuration from YAML data laid over the defaults and
// validates it. source names the data in errors (a file name, say). ${VAR}
// references are expanded from the process environment.
func Parse(data []byte, source string) (*Config, error) {
	c := Default()
	d := &decoder{c: c, source: source, lines: true, getenv: os.Getenv}
	d.document(data)
	c.finalize()
	return c.check(d.errs)
}

// ApplyOptions lays BENTOML_CONFIG_OPTIONS-style overrides over c. options
// holds whitespace-separated dotted.key=value entries; each value is YAML:
//
//	api_server.http.port=5000 runners.batching.enabled=false
//	api_server.metrics.duration.buckets=[0.1,0.5,1]
//	runners.iris_clf.batching.max_batch_size=10 runners."my.runner".workers=2
//
// A key segment may be double-quoted to hold dots. Whitespace inside quotes
// or brackets does not split entries. Later entries win; mappings merge
// deeply while scalars and lists replace. Unknown keys and wrongly typed
// values are errors, as in a file, and on any error c is left unchanged.
// ApplyOptions does not run [Config.Validate] ([Load] does); ${VAR} values
// are expanded from the process environment.
func ApplyOptions(c *Config, options string) error {
	return applyOptions(c, options, os.Getenv)
}

func applyOptions(c *Config, options string, getenv func(string) string) error {
	entries, err := splitOptions(options)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	n := c.clone()
	if n.meta == nil {
		n.meta = newMeta()
	}
	if n.Runners.PerRunner == nil {
		n.Runners.PerRunner = map[string]RunnerConfig{}
	}
	d := &decoder{c: n, source: OptionsEnv, getenv: getenv}
	for _, entry := range entries {
		keyText, valText, ok := strings.Cut(entry, "=")
		if !ok {
			d.errs = append(d.errs, &Error{Source: OptionsEnv, Msg: fmt.Sprintf("malformed entry %q: want dotted.key=value", entry)})
			continue
		}
		path, err := parseKey(keyText)
		if err != nil {
			d.errs = append(d.errs, &Error{Source: OptionsEnv, Msg: fmt.Sprintf("malformed entry %q", entry), Err: err})
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(valText), &doc); err != nil {
			d.errs = append(d.errs, &Error{Key: keyString(path), Source: OptionsEnv, Msg: fmt.Sprintf("invalid YAML value %q", valText), Err: err})
			continue
		}
		node := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
		if len(doc.Content) > 0 {
			node = doc.Content[0]
		}
		for i := len(path) - 1; i >= 0; i-- {
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: path[i]}
			node = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{key, node}}
		}
		d.value(reflect.ValueOf(n).Elem(), node, nil, 0)
	}
	if len(d.errs) > 0 {
		return errors.Join(d.errs...)
	}
	n.finalize()
	*c = *n
	return nil
}

// splitOptions splits on whitespace outside quotes and brackets.
func splitOptions(s string) ([]string, error) {
	var (
		out   []string
		cur   strings.Builder
		quote rune
		depth int
	)
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '[' || r == '{':
			depth++
		case (r == ']' || r == '}') && depth > 0:
			depth--
		case depth == 0 && (r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'):
			flush()
			continue
		}
		cur.WriteRune(r)
	}
	if quote != 0 || depth != 0 {
		return nil, &Error{Source: OptionsEnv, Msg: fmt.Sprintf("unbalanced quotes or brackets in entry %q", cur.String())}
	}
	flush()
	return out, nil
}

// parseKey splits a dotted key into segments; a segment may be
// double-quoted to contain dots.
func parseKey(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty key")
	}
	var path []string
	for {
		var seg string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, errors.New("unterminated quoted key segment")
			}
			seg, s = s[1:1+end], s[2+end:]
			if s != "" && s[0] != '.' {
				return nil, fmt.Errorf("a quoted key segment must be followed by '.' or '=' (at %q)", s)
			}
		} else {
			i := strings.IndexByte(s, '.')
			if i < 0 {
				i = len(s)
			}
			seg, s = s[:i], s[i:]
			if strings.ContainsRune(seg, '"') {
				return nil, fmt.Errorf("misplaced '\"' in key segment %q", seg)
			}
		}
		if seg == "" {
			return nil, errors.New("empty key segment")
		}
		path = append(path, seg)
		if s == "" {
			return path, nil
		}
		s = s[1:] // the '.'
		if s == "" {
			return nil, errors.New("key ends with '.'")
		}
	}
}

// finalize drops the default bucket list from duration blocks that set
// min/max/factor: the default list does not count as set.
func (c *Config) finalize() {
	for _, b := range []struct {
		key string
		d   *Duration
	}{
		{"api_server.metrics.duration.buckets", &c.APIServer.Metrics.Duration},
		{"runners.metrics.duration.buckets", &c.Runners.Metrics.Duration},
	} {
		if b.d.Min == nil && b.d.Max == nil && b.d.Factor == nil {
			continue
		}
		if !c.explicit(b.key) && isDefaultBuckets(b.d.Buckets) {
			b.d.Buckets = nil
		}
	}
}

func isDefaultBuckets(b []float64) bool { return slices.Equal(b, buckets.Default()) }

// explicit reports whether key was set by a configuration source.
func (c *Config) explicit(key string) bool {
	if c.meta == nil {
		return false
	}
	_, ok := c.meta.pos[key]
	return ok
}

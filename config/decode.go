package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/gobento/bento/internal/runnername"
)

// decoder lays one YAML tree (a file, or one BENTOML_CONFIG_OPTIONS entry)
// over a Config. Only the keys present are written, so applying layers in
// turn deep-merges mappings while scalars and lists replace. Every problem
// is collected; a key that fails to decode keeps its previous value.
type decoder struct {
	c      *Config
	source string
	lines  bool // node line numbers refer to Source (false for options)
	getenv func(string) string
	errs   []error

	// runner and runnerDepth are set while decoding runners.<name>:
	// path[runnerDepth:] is the key relative to the runner block.
	runner      string
	runnerDepth int
}

var runnersType = reflect.TypeFor[Runners]()

// quotedStyles are the scalar styles that make a value a string for sure.
const quotedStyles = yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle

// unsupported maps keys gobento rejects with a more helpful message than
// "unknown key": renamed BentoML keys and BentoML features gobento does not
// implement. Keys under runners.<name> are looked up as runners.<key>.
var unsupported = map[string]string{
	"api_server.port":                   "did you mean api_server.http.port?",
	"api_server.host":                   "did you mean api_server.http.host?",
	"api_server.timeout":                "did you mean api_server.traffic.timeout?",
	"api_server.max_request_size":       "did you mean api_server.http.max_request_size?",
	"api_server.cors":                   "did you mean api_server.http.cors?",
	"api_server.backlog":                "a BentoML key that gobento does not support",
	"api_server.max_runner_connections": "a BentoML key that gobento does not support",
	"api_server.runner_probe":           "a BentoML key that gobento does not support",
	"api_server.grpc.channelz":          "a BentoML key that gobento does not support",
	"runners.timeout":                   "did you mean runners.traffic.timeout?",
	"monitoring":                        "a BentoML key that gobento does not support",
	"logging":                           "a BentoML key that gobento does not support",
}

// document decodes a whole YAML stream holding at most one document.
func (d *decoder) document(data []byte) {
	ld, err := yaml.NewLoader(bytes.NewReader(data))
	if err != nil {
		d.errs = append(d.errs, &Error{Source: d.source, Msg: "invalid YAML", Err: err})
		return
	}
	var doc yaml.Node
	if err := ld.Load(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.syntaxError(err)
		}
		return
	}
	var extra yaml.Node
	if err := ld.Load(&extra); err == nil {
		d.errs = append(d.errs, &Error{Source: d.source, Line: extra.Line, Msg: "multiple YAML documents; a configuration file holds one"})
		return
	} else if !errors.Is(err, io.EOF) {
		d.syntaxError(err)
		return
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return
		}
		root = doc.Content[0]
	}
	d.value(reflect.ValueOf(d.c).Elem(), root, nil, 0)
}

func (d *decoder) syntaxError(err error) {
	e := &Error{Source: d.source, Msg: "invalid YAML", Err: err}
	var le *yaml.LoadError
	if errors.As(err, &le) {
		e.Line = le.Mark.Line
		// An unclosed bracket or quote is noticed where the parser gives
		// up, often the next line; the mistake is where it was opened.
		if le.ContextMark.Line > 0 && (strings.Contains(le.ContextMsg, "flow") || strings.Contains(le.ContextMsg, "quoted")) {
			e.Line = le.ContextMark.Line
		}
	}
	d.errs = append(d.errs, e)
}

// fail records a problem with key (a rendered key string) at line.
func (d *decoder) fail(key string, line int, format string, args ...any) {
	if !d.lines {
		line = 0
	}
	d.errs = append(d.errs, &Error{Key: key, Line: line, Source: d.source, Msg: fmt.Sprintf(format, args...)})
}

// mark records that the key at path was set.
func (d *decoder) mark(path []string, line int) {
	if !d.lines {
		line = 0
	}
	m := d.c.meta
	m.pos[keyString(path)] = position{source: d.source, line: line}
	if d.runner != "" {
		m.runnerSet[d.runner][strings.Join(path[d.runnerDepth:], ".")] = true
	}
}

// resolve follows aliases. The walk is driven by the Go types, which have
// bounded depth, so alias cycles cannot make it loop.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// value decodes n into v; path is v's key and line the line of that key.
func (d *decoder) value(v reflect.Value, n *yaml.Node, path []string, line int) {
	n = resolve(n)
	if v.Type() == runnersType {
		d.runners(v.Addr().Interface().(*Runners), n, path, line)
		return
	}
	if d.special(v, n, path, line) {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, path, line, func(key string, kn, vn *yaml.Node) bool {
			f := structField(v, key)
			if !f.IsValid() || !f.CanSet() {
				return false
			}
			d.value(f, vn, append(path[:len(path):len(path)], key), kn.Line)
			return true
		})
	case reflect.Pointer:
		if isNull(n) {
			v.SetZero()
			d.mark(path, line)
			return
		}
		p := reflect.New(v.Type().Elem())
		if d.leaf(p.Elem(), n, keyString(path), line) {
			v.Set(p)
			d.mark(path, line)
		}
	case reflect.Slice:
		d.list(v, n, path, line)
	default:
		if d.leaf(v, n, keyString(path), line) {
			d.mark(path, line)
		}
	}
}

// mapping iterates the pairs of a mapping node, calling field for each key;
// field reports false for an unknown key. A null node is an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path []string, line int, field func(key string, kn, vn *yaml.Node) bool) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		key := keyString(path)
		if key == "" {
			d.fail("", n.Line, "the configuration must be a mapping, got %s", describe(n))
			return
		}
		d.fail(key, line, "expected a mapping, got %s", describe(n))
		return
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			d.fail(keyString(path), kn.Line, "keys must be strings, got %s", describe(kn))
			continue
		}
		key := kn.Value
		full := keyString(append(path[:len(path):len(path)], key))
		if kn.ShortTag() == "!!merge" {
			d.fail(full, kn.Line, "YAML merge keys (<<) are not supported")
			continue
		}
		if seen[key] {
			d.fail(full, kn.Line, "duplicate key")
			continue
		}
		seen[key] = true
		if !field(key, kn, vn) {
			d.unknown(path, key, kn.Line)
		}
	}
}

func (d *decoder) unknown(path []string, key string, line int) {
	full := append(path[:len(path):len(path)], key)
	generic := keyString(full)
	if d.runner != "" {
		generic = "runners." + strings.Join(full[d.runnerDepth:], ".")
	}
	if hint, ok := unsupported[generic]; ok {
		d.fail(keyString(full), line, "unknown key (%s)", hint)
		return
	}
	var t reflect.Type
	if d.runner != "" {
		t = typeAt(reflect.TypeFor[RunnerConfig](), path[d.runnerDepth:])
	} else {
		t = typeAt(reflect.TypeFor[Config](), path)
	}
	hint := didYouMean(t, path, key)
	if c := closest(d.runner, keyNames(reflect.TypeFor[RunnerConfig]())); hint == "" && d.runner != "" && c != "" {
		hint = fmt.Sprintf(" (%s is read as the block of a runner named %q: did you mean runners.%s?)",
			keyString(path[:d.runnerDepth]), d.runner, c)
	}
	d.fail(keyString(full), line, "unknown key%s", hint)
}

// runners decodes the runners block: RunnerConfig keys are the global
// defaults; any other key names a runner.
func (d *decoder) runners(r *Runners, n *yaml.Node, path []string, line int) {
	global := reflect.ValueOf(&r.RunnerConfig).Elem()
	d.mapping(n, path, line, func(key string, kn, vn *yaml.Node) bool {
		sub := append(path[:len(path):len(path)], key)
		if f := structField(global, key); f.IsValid() {
			d.value(f, vn, sub, kn.Line)
			return true
		}
		if _, ok := unsupported["runners."+key]; ok {
			return false
		}
		if err := checkRunnerName(key); err != nil {
			d.fail(keyString(sub), kn.Line, "unknown key: not a runner setting, and %v", err)
			return true
		}
		if r.PerRunner == nil {
			r.PerRunner = map[string]RunnerConfig{}
		}
		rc := cloneRunner(r.PerRunner[key])
		if d.c.meta.runnerSet[key] == nil {
			d.c.meta.runnerSet[key] = map[string]bool{}
		}
		if _, ok := d.c.meta.runnerPos[key]; !ok {
			p := position{source: d.source}
			if d.lines {
				p.line = kn.Line
			}
			d.c.meta.runnerPos[key] = p
		}
		d.runner, d.runnerDepth = key, len(sub)
		d.value(reflect.ValueOf(&rc).Elem(), vn, sub, kn.Line)
		d.runner, d.runnerDepth = "", 0
		r.PerRunner[key] = rc
		return true
	})
}

// list decodes a list of numbers; the whole list replaces the old one.
func (d *decoder) list(v reflect.Value, n *yaml.Node, path []string, line int) {
	key := keyString(path)
	if isNull(n) {
		v.SetZero()
		d.mark(path, line)
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(key, line, "expected a list of numbers, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	ok := true
	for i, e := range n.Content {
		e = resolve(e)
		el := line
		if e.Line > 0 {
			el = e.Line
		}
		if !d.leaf(s.Index(i), e, fmt.Sprintf("%s[%d]", key, i), el) {
			ok = false
		}
	}
	if ok {
		v.Set(s)
		d.mark(path, line)
	}
}

// leaf decodes a scalar into v (string, bool, integer or float kinds).
func (d *decoder) leaf(v reflect.Value, n *yaml.Node, key string, line int) bool {
	want := describeType(v.Type())
	if n.Kind != yaml.ScalarNode {
		d.fail(key, line, "expected %s, got %s", want, describe(n))
		return false
	}
	tag, text := n.ShortTag(), n.Value
	if tag == "!!str" && strings.Contains(text, "${") {
		text = expandVars(text, d.getenv)
		if n.Style&quotedStyles == 0 && v.Kind() != reflect.String {
			tag, text = resolveScalar(text)
		}
	}
	if tag == "!!null" {
		d.fail(key, line, "must not be null (expected %s)", want)
		return false
	}
	bad := func() bool {
		d.fail(key, line, "expected %s, got %s", want, describeScalar(tag, text))
		return false
	}
	switch v.Kind() {
	case reflect.String:
		if tag != "!!str" {
			return bad()
		}
		v.SetString(text)
	case reflect.Bool:
		b, ok := parseBool(tag, text, n.Style)
		if !ok {
			return bad()
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Uint32:
		if tag == "!!float" && isDecimalDigits(text) {
			// The resolver types integers too large for int64 as floats.
			d.fail(key, line, "integer %s is out of range", text)
			return false
		}
		if tag != "!!int" {
			return bad()
		}
		i, err := parseInt(text)
		if err != nil {
			d.fail(key, line, "integer %s is out of range", text)
			return false
		}
		if v.Kind() == reflect.Uint32 {
			if i < 0 || v.OverflowUint(uint64(i)) {
				d.fail(key, line, "must be between 0 and %d, got %d", uint64(1<<32-1), i)
				return false
			}
			v.SetUint(uint64(i))
			return true
		}
		if v.OverflowInt(i) {
			d.fail(key, line, "integer %s is out of range", text)
			return false
		}
		v.SetInt(i)
	case reflect.Float64:
		f, ok := parseFloat(tag, text)
		if !ok {
			return bad()
		}
		v.SetFloat(f)
	default:
		d.fail(key, line, "internal error: unsupported field type %s", v.Type())
		return false
	}
	return true
}

func parseInt(text string) (int64, error) {
	var i int64
	err := (&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: text}).Decode(&i)
	return i, err
}

func parseFloat(tag, text string) (float64, bool) {
	switch tag {
	case "!!int":
		if i, err := parseInt(text); err == nil {
			return float64(i), true
		}
		// Too large for int64: plain decimal digits still make a float.
		f, err := strconv.ParseFloat(strings.ReplaceAll(text, "_", ""), 64)
		return f, err == nil
	case "!!float":
		var f float64
		err := (&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: text}).Decode(&f)
		return f, err == nil
	}
	return 0, false
}

// parseBool accepts YAML booleans and, as PyYAML (and so BentoML) does, the
// YAML 1.1 words yes/no/on/off when unquoted.
func parseBool(tag, text string, style yaml.Style) (bool, bool) {
	switch tag {
	case "!!bool":
		b, err := strconv.ParseBool(strings.ToLower(text))
		return b, err == nil
	case "!!str":
		if style&quotedStyles != 0 {
			return false, false
		}
		switch strings.ToLower(text) {
		case "yes", "on":
			return true, true
		case "no", "off":
			return false, true
		}
	}
	return false, false
}

// resolveScalar gives the YAML type of an unquoted scalar text, so that
// "port: ${PORT}" with PORT=5000 is an integer.
func resolveScalar(text string) (tag, value string) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err == nil {
		if len(doc.Content) == 0 {
			return "!!null", ""
		}
		if n := doc.Content[0]; n.Kind == yaml.ScalarNode {
			return n.ShortTag(), n.Value
		}
	}
	return "!!str", text
}

// expandVars replaces ${NAME} and ${NAME:-default} (default used when NAME
// is unset or empty). Anything else, including a lone $, is kept as is.
func expandVars(s string, getenv func(string) string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		name, def, hasDef := strings.Cut(s[i+2:i+j], ":-")
		if !isVarName(name) {
			b.WriteString(s[:i+2])
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		val := getenv(name)
		if val == "" && hasDef {
			val = def
		}
		b.WriteString(val)
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

func isDecimalDigits(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return s != "" && strings.Trim(s, "0123456789_") == ""
}

func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Uint32:
		return "an integer"
	case reflect.Float64:
		return "a number"
	}
	return t.String()
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return describeScalar(n.ShortTag(), n.Value)
	}
	return "an unsupported YAML node"
}

func describeScalar(tag, text string) string {
	if len(text) > 40 {
		text = text[:37] + "..."
	}
	switch tag {
	case "!!str":
		return "string " + strconv.Quote(text)
	case "!!int":
		return "integer " + text
	case "!!float":
		return "number " + text
	case "!!bool":
		return "boolean " + text
	case "!!null":
		return "null"
	}
	return fmt.Sprintf("%s %q", tag, text)
}

// checkRunnerName applies the runner-name rule NewRunner also applies.
func checkRunnerName(s string) error { return runnername.Check(s) }

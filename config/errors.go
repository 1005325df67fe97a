package config

import (
	"maps"
	"strconv"
	"strings"
)

// OptionsEnv is the environment variable holding configuration overrides,
// as in BentoML: whitespace-separated dotted.key=value entries.
const OptionsEnv = "BENTOML_CONFIG_OPTIONS"

// FileEnv is the environment variable naming the configuration file when
// [LoadOptions.File] is empty.
const FileEnv = "BENTOML_CONFIG"

// Error is one configuration problem. Functions of this package return
// either a single *Error or several joined with [errors.Join]; use
// [errors.As] to reach them.
type Error struct {
	Key    string // full dotted key, e.g. "api_server.metrics.duration.min"; "" if the problem is not about one key
	Line   int    // 1-based line in Source, 0 if unknown or not a file
	Source string // file path, BENTOML_CONFIG_OPTIONS, or the source given to Parse
	Msg    string // what is wrong
	Err    error  // underlying error, if any
}

// Error formats the problem as
// `config: api_server.metrics.duration.min (file.yaml line 7): must be > 0`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	loc := position{e.Source, e.Line}.String()
	switch {
	case e.Key != "" && loc != "":
		b.WriteString(e.Key + " (" + loc + ")")
	case e.Key != "":
		b.WriteString(e.Key)
	case loc != "":
		b.WriteString(loc)
	}
	if e.Key != "" || loc != "" {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		if e.Msg != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// position is where a key was last set.
type position struct {
	source string
	line   int
}

// String renders "file.yaml line 7", "file.yaml", "line 7" or "".
func (p position) String() string {
	switch {
	case p.line <= 0:
		return p.source
	case p.source == "":
		return "line " + strconv.Itoa(p.line)
	}
	return p.source + " line " + strconv.Itoa(p.line)
}

// meta is the bookkeeping that the exported fields cannot carry.
type meta struct {
	pos       map[string]position        // full key -> where it was last set
	runnerSet map[string]map[string]bool // runner name -> relative keys set in runners.<name>
	runnerPos map[string]position        // runner name -> where its runners.<name> block was first written
}

func newMeta() *meta {
	return &meta{pos: map[string]position{}, runnerSet: map[string]map[string]bool{}, runnerPos: map[string]position{}}
}

func (m *meta) clone() *meta {
	n := &meta{pos: maps.Clone(m.pos), runnerSet: make(map[string]map[string]bool, len(m.runnerSet)),
		runnerPos: maps.Clone(m.runnerPos)}
	if n.runnerPos == nil {
		n.runnerPos = map[string]position{}
	}
	for k, v := range m.runnerSet {
		n.runnerSet[k] = maps.Clone(v)
	}
	return n
}

// keyString renders a key path, double-quoting segments that are not plain
// identifiers: runners."my.runner".workers.
func keyString(path []string) string {
	var b strings.Builder
	for i, s := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(quoteSegment(s))
	}
	return b.String()
}

func quoteSegment(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return strconv.Quote(s)
		}
	}
	return s
}

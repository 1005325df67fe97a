package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/gobento/bento/internal/suggest"
)

// closest returns the candidate nearest to s when it is near enough to be a
// likely typo, or "" (see [suggest.Closest]).
func closest(s string, candidates []string) string { return suggest.Closest(s, candidates) }

// keyNames returns the YAML keys of struct type t, inlined fields' keys
// included.
func keyNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, inline := yamlName(f)
		switch {
		case inline:
			names = append(names, keyNames(f.Type)...)
		case name != "":
			names = append(names, name)
		}
	}
	return names
}

// typeAt returns the struct type holding the keys under rel, a path of YAML
// keys from the struct type t, or nil when rel does not lead to a struct.
func typeAt(t reflect.Type, rel []string) reflect.Type {
	for _, seg := range rel {
		if t.Kind() != reflect.Struct {
			return nil
		}
		f, ok := fieldType(t, seg)
		if !ok {
			return nil
		}
		t = f
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	return t
}

func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, inline := yamlName(f)
		if inline {
			if ft, ok := fieldType(f.Type, key); ok {
				return ft, true
			}
			continue
		}
		if name == key {
			return f.Type, true
		}
	}
	return nil, false
}

// didYouMean returns " (did you mean <prefix><key>?)" naming the key of t
// closest to key, or "" when none is close.
func didYouMean(t reflect.Type, prefix []string, key string) string {
	if t == nil {
		return ""
	}
	c := closest(key, keyNames(t))
	if c == "" {
		return ""
	}
	return " (did you mean " + keyString(append(slices.Clip(prefix), c)) + "?)"
}

// CheckRunners reports every runners.<name> block that names none of the
// given runners, the runners the service declares: a misspelled runner name
// would otherwise configure nothing, silently. Each problem is an [*Error]
// naming the key, where it was set, and the closest runner name (or runner
// setting, for runners.batchng) when one is close. Servers call it at start.
func (c *Config) CheckRunners(runners []string) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c.Runners.PerRunner)) {
		if slices.Contains(runners, name) {
			continue
		}
		e := &Error{Key: keyString([]string{"runners", name})}
		if c.meta != nil {
			if p, ok := c.meta.runnerPos[name]; ok {
				e.Source, e.Line = p.source, p.line
			}
		}
		msg := fmt.Sprintf("the service has no runner %q", name)
		switch {
		case closest(name, runners) != "":
			msg += fmt.Sprintf(" (did you mean %s?)", keyString([]string{"runners", closest(name, runners)}))
		case closest(name, keyNames(reflect.TypeFor[RunnerConfig]())) != "":
			msg += fmt.Sprintf(" (did you mean runners.%s, a setting for every runner?)", closest(name, keyNames(reflect.TypeFor[RunnerConfig]())))
		}
		if len(runners) == 0 {
			msg += "; it declares no runners"
		} else {
			msg += "; its runners: " + strings.Join(runners, ", ")
		}
		e.Msg = msg
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// Package runnername owns the rule for runner names, which both the bento
// package (NewRunner) and the config package (runners.<name> blocks) apply.
package runnername

import (
	"fmt"

	"github.com/gobento/bento/internal/errs"
)

// MaxLen is the longest valid runner name, in bytes.
const MaxLen = 63

// Check reports whether s can name a runner: 1 to 63 characters from
// lower-case a-z, 0-9, '_', '.' and '-', starting and ending with a letter or
// digit (so that "-x" cannot be read as a flag or "x." as a key path). The
// error says which part of the rule s breaks; callers add the key or call
// site.
func Check(s string) error {
	if s == "" || len(s) > MaxLen {
		return fmt.Errorf("runner names have 1 to %d characters (got %d)", MaxLen, len(s))
	}
	for _, r := range s {
		if !(alnum(r) || r == '_' || r == '.' || r == '-') {
			return fmt.Errorf("%q is not a valid runner name (lowercase a-z, 0-9, '_', '.', '-')", errs.Clip(s, MaxLen+1))
		}
	}
	if !alnum(rune(s[0])) || !alnum(rune(s[len(s)-1])) {
		return fmt.Errorf("%q is not a valid runner name (it must start and end with a-z or 0-9)", errs.Clip(s, MaxLen+1))
	}
	return nil
}

func alnum(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }

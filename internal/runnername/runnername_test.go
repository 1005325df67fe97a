package runnername

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"iris_clf", true},
		{"0", true},
		{"my.runner-1", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{strings.Repeat("a", 64), false},
		{"-x", false},
		{"x-", false},
		{"_x", false},
		{".x", false},
		{"x.", false},
		{"IrisClf", false},
		{"Bad Name", false},
		{"é", false},
	} {
		if err := Check(tc.name); (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

package promname

import (
	"regexp"
	"testing"
)

func TestMatchesPatterns(t *testing.T) {
	metricRE := regexp.MustCompile("^" + MetricPattern + "$")
	labelRE := regexp.MustCompile("^" + LabelPattern + "$")
	for _, s := range []string{"", "a", "_", ":", "a:b", "a_1", "1a", "a-b", "__x", "é", "polarity_total", "x:", "A9", ":9", "a b"} {
		if got, want := ValidMetric(s), metricRE.MatchString(s); got != want {
			t.Errorf("ValidMetric(%q) = %v, want %v", s, got, want)
		}
		if got, want := ValidLabel(s), labelRE.MatchString(s); got != want {
			t.Errorf("ValidLabel(%q) = %v, want %v", s, got, want)
		}
	}
}

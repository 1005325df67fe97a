// Package promname owns the Prometheus name rules gobento checks: metric
// names (custom metrics, configured namespaces) and label names.
package promname

// MetricPattern is the rule a metric name (or a namespace prefixing one)
// must match, as error messages quote it.
const MetricPattern = "[a-zA-Z_:][a-zA-Z0-9_:]*"

// LabelPattern is the rule a label name must match.
const LabelPattern = "[a-zA-Z_][a-zA-Z0-9_]*"

// ValidMetric reports whether s matches [MetricPattern].
func ValidMetric(s string) bool { return valid(s, true) }

// ValidLabel reports whether s matches [LabelPattern].
func ValidLabel(s string) bool { return valid(s, false) }

func valid(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			colon && c == ':' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

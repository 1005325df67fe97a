package deploy_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gobento/bento/internal/customreg"
	"github.com/gobento/bento/internal/instrument"
	"github.com/gobento/bento/internal/tracing"
)

// familyCell matches a metric name in backquotes.
var familyCell = regexp.MustCompile("`((?:bentoml|gobento)_[a-z_]+)`")

// tableFamilies returns the metric names in the first column of the first
// table under heading (a line such as "## Metrics") in the markdown file.
func tableFamilies(t *testing.T, file, heading string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s: no %q heading", file, heading)
	}
	var names []string
	inTable := false
	for line := range strings.SplitSeq(after, "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(line, "|")
		for _, m := range familyCell.FindAllStringSubmatch(cells[1], -1) {
			names = append(names, m[1])
		}
	}
	return names
}

// TestMetricTablesListEveryFamily checks that the metric tables of the
// README and the monitoring guide list exactly the families /metrics
// serves: the default ones and the self-metrics of custom metrics.
func TestMetricTablesListEveryFamily(t *testing.T) {
	want := slices.Concat(instrument.FamilyNames("", ""), customreg.SelfMetricNames, []string{tracing.SpansFamily})
	slices.Sort(want)
	for _, tc := range []struct{ file, heading string }{
		{"../README.md", "## Metrics"},
		{monitoringDoc, "## Metrics"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := tableFamilies(t, tc.file, tc.heading)
			slices.Sort(got)
			for _, w := range want {
				if _, found := slices.BinarySearch(got, w); !found {
					t.Errorf("the table under %q does not list %s", tc.heading, w)
				}
			}
			for _, g := range slices.Compact(got) {
				if _, found := slices.BinarySearch(want, g); !found {
					t.Errorf("the table under %q lists %s, which /metrics does not serve", tc.heading, g)
				}
			}
		})
	}
}

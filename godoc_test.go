package bento

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestGoDocShowsNoInternalTypes checks that the root package's public API
// (go doc -all) names no type of an internal package: IO descriptors are
// described with root types (IOSpec) whatever codecs implement them.
func TestGoDocShowsNoInternalTypes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go doc")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goBin, "doc", "-all", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go doc: %v\n%s", err, out)
	}
	// Identifiers of the internal packages a signature could name.
	internalRef := regexp.MustCompile(`\b(codec|iospec|tensor|text|jsoncodec|ndarray|imagecodec|file|multipart|multipartcodec|pb|errs)\.[A-Z]\w*`)
	for _, line := range strings.Split(string(out), "\n") {
		// bento.Error aliases errs.Error; that alias belongs to the error
		// model (errors.go), outside the IO descriptors.
		if strings.TrimSpace(line) == "type Error = errs.Error" {
			continue
		}
		if m := internalRef.FindString(line); m != "" {
			t.Errorf("go doc names internal type %s: %q", m, line)
		}
	}
}

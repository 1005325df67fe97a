package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ownModuleSection is the README section that TestOwnModule follows.
const ownModuleSection = "## Use gobento from your own module"

// TestOwnModule follows the README's "Use gobento from your own module": a
// new module, the documented go mod edit pointing at this repository, the
// documented main.go, go mod tidy, a build, and go doc for the packages. It
// never uses the network (GOPROXY=off): when the module cache lacks a module
// gobento depends on, it skips, saying so.
func TestOwnModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a separate module; skipped with -short")
	}
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n"+ownModuleSection+"\n")
	if !ok {
		t.Fatalf("README.md has no %q section", ownModuleSection)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	mainGo := regexp.MustCompile("(?s)```go\n(.*?)```").FindStringSubmatch(section)
	edit := regexp.MustCompile(`(?m)^go mod edit (.*)$`).FindStringSubmatch(section)
	if mainGo == nil || edit == nil {
		t.Fatalf("the %q section lacks its go block or its go mod edit line", ownModuleSection)
	}

	dir := filepath.Join(t.TempDir(), "myservice")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(mainGo[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off", "GOSUMDB=off")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	must("go", "mod", "init", "example.com/myservice")
	// The documented edit, with the clone at this repository's path.
	editArgs := strings.Fields(strings.ReplaceAll(edit[1], "=../gobento", "="+root))
	must(append([]string{"go", "mod", "edit"}, editArgs...)...)
	if out, err := run("go", "mod", "tidy"); err != nil {
		if strings.Contains(out, "GOPROXY=off") {
			t.Skipf("go mod tidy needs modules that are not in the module cache, and this test does not use the network:\n%s", out)
		}
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	must("go", "build", "-o", "shouter", ".")
	if out := must(filepath.Join(dir, "shouter"), "--help"); !strings.Contains(out, "shouter [command]") {
		t.Errorf("shouter --help:\n%s", out)
	}
	for _, tc := range []struct{ pkg, want string }{
		{"github.com/gobento/bento API", "func API["},
		{"github.com/gobento/bento/config", `package config // import "github.com/gobento/bento/config"`},
		{"github.com/gobento/bento/metrics", `package metrics // import "github.com/gobento/bento/metrics"`},
	} {
		if out := must(append([]string{"go", "doc"}, strings.Fields(tc.pkg)...)...); !strings.Contains(out, tc.want) {
			t.Errorf("go doc %s lacks %q:\n%.400s", tc.pkg, tc.want, out)
		}
	}
}

package k8s_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gobento/bento/internal/k8s"
)

// stage is one FROM ... [AS name] of a Dockerfile with its instructions.
type stage struct {
	from, name string
	instrs     [][2]string // instruction (upper case), arguments
}

// parseDockerfile reads the stages of a Dockerfile, joining continued
// lines and dropping comments; global ARGs before the first FROM go to
// stage 0's from = "".
func parseDockerfile(t *testing.T, path string) (globals map[string]string, stages []stage) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	globals = map[string]string{}
	var lines []string
	cur := ""
	for _, l := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur == "") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		lines = append(lines, cur+trimmed)
		cur = ""
	}
	for _, l := range lines {
		if l == "" {
			continue
		}
		instr, args, _ := strings.Cut(l, " ")
		instr = strings.ToUpper(instr)
		switch {
		case instr == "FROM":
			f := strings.Fields(args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
		case len(stages) == 0 && instr == "ARG":
			k, v, _ := strings.Cut(args, "=")
			globals[k] = v
		case len(stages) == 0:
			t.Fatalf("%s before the first FROM", instr)
		default:
			s := &stages[len(stages)-1]
			s.instrs = append(s.instrs, [2]string{instr, args})
		}
	}
	return globals, stages
}

// TestDockerfile checks the Dockerfile the manifests' images are built
// with: its default example exists, stages refer to earlier stages, both
// final images run the binary they copy as the non-root user the generated
// pods require, the default image is static, and the ONNX Runtime image
// points the onnx package at the library it copies.
func TestDockerfile(t *testing.T) {
	root := moduleRoot(t)
	globals, stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	ex := globals["EXAMPLE"]
	if _, err := os.Stat(filepath.Join(root, "examples", ex, "main.go")); ex == "" || err != nil {
		t.Errorf("ARG EXAMPLE=%q names no example: %v", ex, err)
	}
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod); m == nil || !strings.HasPrefix(globals["GO_VERSION"], string(m[1])) {
		t.Errorf("ARG GO_VERSION=%q, go.mod wants go %s", globals["GO_VERSION"], m[1])
	}

	// The user the pods run as.
	out, err := k8s.Render(iris, k8s.Options{Image: "img"})
	if err != nil {
		t.Fatal(err)
	}
	sc := decodeManifests(t, out).deployments[0].Spec.Template.Spec.SecurityContext
	wantUser := fmt.Sprintf("%d:%d", *sc.RunAsUser, *sc.RunAsGroup)
	if *sc.RunAsUser == 0 {
		t.Fatalf("the pods run as root")
	}

	byName := map[string]int{}
	built := map[string]string{} // stage -> its go build command
	for i, s := range stages {
		if s.name != "" {
			byName[s.name] = i
		}
		if j, ok := byName[s.from]; ok {
			built[s.name] = built[stages[j].name]
		}
		for _, in := range s.instrs {
			if in[0] == "RUN" && strings.Contains(in[1], "go build") {
				built[s.name] = in[1]
			}
			if in[0] == "COPY" {
				if m := regexp.MustCompile(`--from=(\S+)`).FindStringSubmatch(in[1]); m != nil {
					if j, ok := byName[m[1]]; !ok || j >= i {
						t.Errorf("stage %d: COPY --from=%s names no earlier stage", i, m[1])
					}
				}
			}
		}
	}

	libEnv := onnxLibraryEnv(t, root)
	finals := []int{len(stages) - 1}
	if i, ok := byName["onnxruntime"]; ok {
		finals = append(finals, i)
	} else {
		t.Error("no onnxruntime stage for the ONNX Runtime examples")
	}
	for _, i := range finals {
		s := stages[i]
		t.Run(fmt.Sprintf("stage %d %s", i, s.name), func(t *testing.T) {
			var user, entry string
			copied := map[string]string{} // destination -> source stage
			env := map[string]string{}
			for _, in := range s.instrs {
				switch in[0] {
				case "USER":
					user = in[1]
				case "ENTRYPOINT":
					var argv []string
					if err := json.Unmarshal([]byte(in[1]), &argv); err != nil || len(argv) != 1 {
						t.Errorf("ENTRYPOINT %s: want the exec form naming the program alone", in[1])
					} else {
						entry = argv[0]
					}
				case "COPY":
					f := strings.Fields(in[1])
					from := ""
					if m := regexp.MustCompile(`--from=(\S+)`).FindStringSubmatch(in[1]); m != nil {
						from = m[1]
					}
					copied[f[len(f)-1]] = from
				case "ENV":
					k, v, _ := strings.Cut(in[1], "=")
					env[k] = v
				}
			}
			if user != wantUser {
				t.Errorf("USER %q; the generated pods run as %s (runAsNonRoot needs a numeric user)", user, wantUser)
			}
			binFrom, ok := copied[entry]
			if entry == "" || !ok || binFrom == "" {
				t.Fatalf("ENTRYPOINT %q is not a file copied from a build stage (%v)", entry, copied)
			}
			cmd := built[binFrom]
			if cmd == "" {
				t.Fatalf("stage %s runs no go build", binFrom)
			}
			if !strings.Contains(cmd, "./examples/${EXAMPLE}") {
				t.Errorf("stage %s does not build ./examples/${EXAMPLE}: %s", binFrom, cmd)
			}
			static := strings.Contains(cmd, "CGO_ENABLED=0")
			if s.name == "onnxruntime" {
				if static || !strings.Contains(cmd, "CGO_ENABLED=1") {
					t.Errorf("the onnxruntime image needs a cgo build: %s", cmd)
				}
				lib := env[libEnv]
				if _, ok := copied[lib]; lib == "" || !ok {
					t.Errorf("ENV %s=%q is not the library the stage copies (%v)", libEnv, lib, copied)
				}
				if !strings.Contains(s.from, "distroless/cc") {
					t.Errorf("the onnxruntime image runs on %s; a cgo binary and libonnxruntime need glibc and libstdc++", s.from)
				}
			} else if !static || !strings.Contains(s.from, "static") {
				t.Errorf("the default image (FROM %s) runs a binary built with %q; want CGO_ENABLED=0 on a static base", s.from, cmd)
			}
		})
	}

	// The build context keeps what the build needs.
	ign, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(ign), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	for _, p := range []string{"go.mod", "go.sum", "bento.go", "examples/iris_classifier/main.go", ".cache/onnxruntime/libonnxruntime.so"} {
		if ignored(patterns, p) {
			t.Errorf(".dockerignore leaves %s out of the build context", p)
		}
	}
	if !ignored(patterns, ".git/HEAD") && !ignored(patterns, ".git") {
		t.Error(".dockerignore sends .git")
	}
}

// ignored applies .dockerignore patterns (the last match wins, "!" keeps) to
// path and each of its parent directories.
func ignored(patterns []string, path string) bool {
	out := false
	parts := strings.Split(path, "/")
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		pat := strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/")
		for i := 1; i <= len(parts); i++ {
			if ok, _ := filepath.Match(pat, strings.Join(parts[:i], "/")); ok {
				out = !neg
				break
			}
		}
	}
	return out
}

// onnxLibraryEnv reads the name of the onnx package's library variable from
// its source (importing the package would link cgo into this test).
func onnxLibraryEnv(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "onnx", "library.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`const LibraryEnv = ("[^"]+")`).FindSubmatch(b)
	if m == nil {
		t.Fatal("onnx/library.go: no const LibraryEnv")
	}
	s, err := strconv.Unquote(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

package pb_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// generatedFiles are the files tools/proto.sh writes; nothing else may appear.
var generatedFiles = []string{"service.pb.go", "service_grpc.pb.go"}

// protocHeader matches the protoc version line protoc-gen-go writes.
var protocHeader = regexp.MustCompile(`(?m)^// \tprotoc +v(\S+)$`)

// TestGeneratedCodeUpToDate regenerates the code with tools/proto.sh into a
// temporary directory and requires it to equal the committed files byte for
// byte. The first run installs the pinned protoc plugins into ./.bin, which
// needs the Go module proxy or a warm module cache.
func TestGeneratedCodeUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping code regeneration in -short mode")
	}
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skip("protoc not on PATH (apt-get install protobuf-compiler libprotobuf-dev); cannot check that internal/pb is up to date")
	}
	for _, tool := range []string{"bash", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH; cannot run tools/proto.sh", tool)
		}
	}

	committed, err := os.ReadFile("service.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	m := protocHeader.FindSubmatch(committed)
	if m == nil {
		t.Fatal("service.pb.go has no protoc version header")
	}
	want := string(m[1])
	out, err := exec.Command("protoc", "--version").Output()
	if err != nil {
		t.Fatalf("protoc --version: %v", err)
	}
	have := strings.TrimPrefix(strings.TrimSpace(string(out)), "libprotoc ")
	if have != want {
		t.Skipf("protoc on PATH is %s but the committed code was generated with %s; the header would differ", have, want)
	}

	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "tools", "proto.sh"), dir)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tools/proto.sh: %v\n%s", err, stderr.String())
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != strings.Join(generatedFiles, ",") {
		t.Errorf("tools/proto.sh wrote %v, want %v", names, generatedFiles)
	}

	for _, name := range generatedFiles {
		t.Run(name, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			have, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, have) {
				t.Errorf("internal/pb/%s is out of date with proto/ (run `make proto`); first difference at line %d",
					name, firstDiffLine(have, got))
			}
		})
	}
}

// firstDiffLine returns the 1-based number of the first line where a and b differ.
func firstDiffLine(a, b []byte) int {
	sa := bufio.NewScanner(bytes.NewReader(a))
	sb := bufio.NewScanner(bytes.NewReader(b))
	sa.Buffer(nil, 1<<20)
	sb.Buffer(nil, 1<<20)
	for line := 1; ; line++ {
		okA, okB := sa.Scan(), sb.Scan()
		if !okA || !okB || sa.Text() != sb.Text() {
			return line
		}
	}
}

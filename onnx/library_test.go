package onnx

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLibraryCandidates(t *testing.T) {
	root := t.TempDir()
	cached := filepath.Join(root, cacheDir, libraryName)
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cached, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	tests := []struct {
		name                          string
		explicit, fromEnv, wd, srcDir string
		want                          string
		wantErr                       bool
	}{
		{"explicit first", cached, "/nope/env.so", elsewhere, "", cached, false},
		{"env next", "", cached, elsewhere, "", cached, false},
		{"env missing is an error", "", filepath.Join(elsewhere, "missing.so"), deep, "", "", true},
		{"cache from working dir", "", "", deep, "", cached, false},
		{"cache from source dir", "", "", elsewhere, deep, cached, false},
		{"system path last", "", "", elsewhere, "", libraryName, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, tried, err := candidates(tt.explicit, tt.fromEnv, tt.wd, tt.srcDir)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("candidates = %q, %v (tried %q); want %q, error %v", got, err, tried, tt.want, tt.wantErr)
			}
			if err != nil && (!errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), InstallCommand)) {
				t.Errorf("error %q does not wrap ErrLibraryNotFound or name %q", err, InstallCommand)
			}
		})
	}
}

// TestMissingLibrary runs this test binary again with a library path that
// does not exist: loading a model must fail with the install command.
func TestMissingLibrary(t *testing.T) {
	if os.Getenv("GOBENTO_TEST_MISSING_LIB") == "1" {
		_, err := Load(filepath.Join("testdata", "fixed_batch.onnx"), nil)
		if err == nil {
			os.Exit(3)
		}
		os.Stderr.WriteString(err.Error())
		if errors.Is(err, ErrLibraryNotFound) {
			os.Exit(2)
		}
		os.Exit(4)
	}
	for name, lib := range map[string]string{
		"no such file":  filepath.Join(t.TempDir(), "libonnxruntime.so"),
		"not a library": filepath.Join("testdata", "corrupt.onnx"),
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMissingLibrary$")
			cmd.Env = append(os.Environ(), "GOBENTO_TEST_MISSING_LIB=1", LibraryEnv+"="+lib)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("child: %v, output %s", err, out)
			}
			for _, want := range []string{InstallCommand, LibraryEnv, lib} {
				if !strings.Contains(string(out), want) {
					t.Errorf("error %q does not mention %q", out, want)
				}
			}
		})
	}
}

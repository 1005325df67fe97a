package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv is the environment variable that names the ONNX Runtime shared
// library (libonnxruntime.so) to load. It takes precedence over the
// repository cache folder and the system's library path.
const LibraryEnv = "GOBENTO_ONNXRUNTIME_LIB"

// InstallCommand is the command that fetches the ONNX Runtime library into
// the repository's cache folder; errors about a missing library name it.
const InstallCommand = "make onnxruntime"

// cacheDir is where `make onnxruntime` puts the library, relative to the
// repository root.
var cacheDir = filepath.Join(".cache", "onnxruntime")

// libraryName is the file name in cacheDir and the name dlopen looks up on
// the system's library path.
const libraryName = "libonnxruntime.so"

// ErrLibraryNotFound is wrapped by the error of every function that needs
// ONNX Runtime when its shared library cannot be found or loaded. The
// message names [InstallCommand] and [LibraryEnv].
var ErrLibraryNotFound = errors.New("onnx: ONNX Runtime library not found")

// LibraryError reports a library that could not be found or loaded. It
// wraps [ErrLibraryNotFound].
type LibraryError struct {
	// Tried lists the places searched, in order.
	Tried []string
	// Err is the loader's error for the last candidate, if any.
	Err error
}

// Error names the places searched and the command that installs the library.
func (e *LibraryError) Error() string {
	msg := fmt.Sprintf("%v (searched %q); run `%s` in the gobento repository, or set %s to the path of libonnxruntime.so",
		ErrLibraryNotFound, e.Tried, InstallCommand, LibraryEnv)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrLibraryNotFound and the loader's error.
func (e *LibraryError) Unwrap() []error { return []error{ErrLibraryNotFound, e.Err} }

var env struct {
	mu      sync.Mutex
	done    bool
	path    string
	version string
	err     error
}

// libraryPath is the path given with [SetLibraryPath]; it comes first.
var libraryPath string

// SetLibraryPath sets the ONNX Runtime library to load, ahead of
// [LibraryEnv], the cache folder and the system's library path (for example
// from a configuration key). It has an effect only before the first model is
// loaded.
func SetLibraryPath(path string) {
	env.mu.Lock()
	libraryPath = path
	env.mu.Unlock()
}

// candidates lists the libraries to try, in order: the explicit path, the
// environment variable, the cache folder found by walking up from the
// working directory and from this package's source directory, then the bare
// name for the system's library path. Only the first existing explicit or
// cached file is returned; a set explicit path that does not exist is an
// error, not a fallback.
func candidates(explicit, fromEnv, wd, srcDir string) (path string, tried []string, err error) {
	for _, p := range []string{explicit, fromEnv} {
		if p == "" {
			continue
		}
		tried = append(tried, p)
		if _, err := os.Stat(p); err != nil {
			return "", tried, &LibraryError{Tried: tried, Err: err}
		}
		return p, tried, nil
	}
	seen := map[string]bool{}
	for _, start := range []string{wd, srcDir} {
		for dir := start; dir != ""; {
			p := filepath.Join(dir, cacheDir, libraryName)
			if !seen[p] {
				seen[p] = true
				tried = append(tried, p)
				if _, err := os.Stat(p); err == nil {
					return p, tried, nil
				}
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	tried = append(tried, libraryName+" (system library path)")
	return libraryName, tried, nil
}

// sourceDir is the directory of this file at build time; walking up from it
// finds the repository's cache folder for tests and `go run`.
func sourceDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	return filepath.Dir(file)
}

// initRuntime loads the library and creates the process-wide ONNX Runtime
// environment once. A failure is remembered: the library cannot be loaded
// twice in one process.
func initRuntime() error {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.done {
		return env.err
	}
	env.done = true
	wd, _ := os.Getwd()
	path, tried, err := candidates(libraryPath, os.Getenv(LibraryEnv), wd, sourceDir())
	if err != nil {
		env.err = err
		return err
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		env.err = &LibraryError{Tried: tried, Err: err}
		return env.err
	}
	env.path = path
	env.version = ort.GetVersion()
	return nil
}

// RuntimeVersion loads ONNX Runtime if needed and returns its version, such
// as "1.30.0".
func RuntimeVersion() (string, error) {
	if err := initRuntime(); err != nil {
		return "", err
	}
	return env.version, nil
}

// LibraryPath loads ONNX Runtime if needed and returns the path of the
// library in use.
func LibraryPath() (string, error) {
	if err := initRuntime(); err != nil {
		return "", err
	}
	return env.path, nil
}

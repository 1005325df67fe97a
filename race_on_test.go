//go:build race

package bento_test

// raceDetector reports whether the tests run under the race detector,
// which slows the test process's own clients several times over.
const raceDetector = true

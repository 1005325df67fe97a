// Package testenv tells tests about the build they run in: whether the race
// detector is on, where wall-clock bounds mean nothing.
package testenv

import "testing"

// Timing marks a test whose assertions are wall-clock bounds (latencies,
// speeds). Under the race detector the code runs several times slower and
// `go test ./...` runs other packages' suites beside it on the same CPUs,
// so such a test is skipped there; `make timing` runs every one of them
// without the race detector, one package at a time.
func Timing(t testing.TB) {
	t.Helper()
	if Race {
		t.Skip("wall-clock bounds: run by `make timing`, without the race detector")
	}
}

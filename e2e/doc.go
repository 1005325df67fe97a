// Package e2e holds gobento's end-to-end test: it builds the example
// services, serves them as real processes, scrapes them with a real
// Prometheus server loading the shipped deploy/prometheus configuration and
// rules, drives known traffic, and checks what Prometheus' HTTP API answers
// to the queries of the BentoML metrics guide and to every recording rule.
//
// The package has no exported API; run it with
//
//	go test ./e2e/ -v
//
// The test is skipped under -short and when no prometheus binary is in PATH.
//
// The package also holds the docs tests, which need neither Prometheus nor
// the network: TestDocsCommands runs the commands of the README's and
// docs/'s "sh checked" code blocks against the examples and compares their
// output with the one shown (the convention is at the top of docs_test.go),
// and TestOwnModule follows the README's "Use gobento from your own module".
package e2e

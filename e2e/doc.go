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
package e2e

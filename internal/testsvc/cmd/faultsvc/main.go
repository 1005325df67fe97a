// Command faultsvc serves the testsvc service with gobento's standard
// command line (serve-http, serve-grpc, ...). When the server stops cleanly
// (SIGINT or SIGTERM) it prints how many slow calls started and finished:
//
//	faultsvc: slow started=N finished=M
package main

import (
	"fmt"
	"os"

	"github.com/gobento/bento"
	"github.com/gobento/bento/internal/testsvc"
)

func main() {
	var c testsvc.Counters
	bento.Main(testsvc.New(&c))
	fmt.Fprintf(os.Stderr, "faultsvc: slow started=%d finished=%d\n", c.Started.Load(), c.Finished.Load())
}

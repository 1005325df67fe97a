// Package testsvc is a small gobento service with slow and faulty APIs for
// gobento's own reliability tests. The root package's tests build
// cmd/faultsvc from it to test shutdown on a real SIGTERM in a separate
// process; it is not meant for use outside this module's tests.
package testsvc

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gobento/bento"
)

// Counters counts the calls of the slow API that started and that
// finished, so that a test can compare them with what its clients received.
type Counters struct {
	Started  atomic.Int64
	Finished atomic.Int64
}

// New returns the service "faultsvc" with three APIs, all Text in and out:
//
//   - echo returns its input;
//   - slow sleeps for the duration its input names (for example "200ms"),
//     returning early with the context's error, then returns its input;
//     c counts its calls;
//   - fault runs its input through runner "faulty" (one worker): "panic"
//     panics, "error" fails with a plain error, anything else is
//     upper-cased.
func New(c *Counters) *bento.Service {
	svc := bento.NewService("faultsvc", bento.Version("test"))
	r := bento.NewRunner(svc, "faulty", func() (struct{}, error) { return struct{}{}, nil })
	fault := bento.Method(r, "fault", func(_ struct{}, _ context.Context, s string) (string, error) {
		switch s {
		case "panic":
			panic("faultsvc: requested panic")
		case "error":
			return "", errors.New("faultsvc: requested error")
		}
		return strings.ToUpper(s), nil
	})
	bento.API(svc, "echo", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) { return s, nil })
	bento.API(svc, "slow", bento.Text(), bento.Text(), func(ctx context.Context, s string) (string, error) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return "", bento.BadInput(err)
		}
		c.Started.Add(1)
		defer c.Finished.Add(1)
		select {
		case <-time.After(d):
			return s, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	bento.API(svc, "fault", bento.Text(), bento.Text(), fault.Run)
	return svc
}

package bento_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/gobento/bento"
)

// closer is a model that counts Close calls.
type closer struct{ closed *atomic.Int32 }

func (c closer) Close() error { c.closed.Add(1); return nil }

func TestRunnerClosesModels(t *testing.T) {
	t.Run("on stop", func(t *testing.T) {
		var closed atomic.Int32
		svc := bento.NewService("close_test")
		bento.NewRunner(svc, "m", func() (closer, error) { return closer{&closed}, nil }, bento.Workers(3))
		srv, err := bento.StartHTTP(context.Background(), svc, testConfig(t), bento.Logger(quietLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		if n := closed.Load(); n != 0 {
			t.Fatalf("%d models closed while serving", n)
		}
		shutdown(t, srv)
		if n := closed.Load(); n != 3 {
			t.Errorf("%d models closed after stop, want 3", n)
		}
	})
	t.Run("when start-up fails", func(t *testing.T) {
		var closed, built atomic.Int32
		svc := bento.NewService("close_fail_test")
		bento.NewRunner(svc, "m", func() (closer, error) {
			if built.Add(1) == 3 {
				return closer{}, errors.New("third model fails")
			}
			return closer{&closed}, nil
		}, bento.Workers(3))
		if srv, err := bento.StartHTTP(context.Background(), svc, testConfig(t), bento.Logger(quietLogger(t))); err == nil {
			shutdown(t, srv)
			t.Fatal("service started")
		}
		if n := closed.Load(); n != 2 {
			t.Errorf("%d models closed, want the 2 built before the failure", n)
		}
	})
	t.Run("when a later runner fails to start", func(t *testing.T) {
		var closed atomic.Int32
		svc := bento.NewService("close_later_fail_test")
		bento.NewRunner(svc, "first", func() (closer, error) { return closer{&closed}, nil }, bento.Workers(2))
		bento.NewRunner(svc, "second", func() (closer, error) { return closer{}, errors.New("cannot load") })
		if srv, err := bento.StartHTTP(context.Background(), svc, testConfig(t), bento.Logger(quietLogger(t))); err == nil {
			shutdown(t, srv)
			t.Fatal("service started")
		}
		if n := closed.Load(); n != 2 {
			t.Errorf("%d models of the started runner closed, want 2", n)
		}
	})
}

package bento

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobento/bento/config"
)

// closingModel counts Close calls.
type closingModel struct{ closed *atomic.Int32 }

func (c closingModel) Close() error { c.closed.Add(1); return nil }

func (closingModel) batch(_ context.Context, items []int) ([]int, error) { return items, nil }

// TestFailedMethodStartCloses fails the second method's start: the first
// method's dispatcher is stopped, the models built are closed, and the
// service can start again once the fault is gone.
func TestFailedMethodStartCloses(t *testing.T) {
	var closed atomic.Int32
	svc := NewService("fail_method_start")
	r := NewRunner(svc, "m", func() (closingModel, error) { return closingModel{&closed}, nil }, Workers(2))
	first := BatchMethod(r, "first", closingModel.batch)
	BatchMethod(r, "second", closingModel.batch)
	r.failStart = func(method string) error {
		if method == "second" {
			return errors.New("second cannot start")
		}
		return nil
	}
	cfg := config.Default()
	cfg.APIServer.HTTP.Host, cfg.APIServer.HTTP.Port = "127.0.0.1", 0
	_, err := StartHTTP(context.Background(), svc, cfg, Logger(slog.New(slog.DiscardHandler)))
	if err == nil || !strings.Contains(err.Error(), `runner "m": second cannot start`) {
		t.Fatalf("StartHTTP: %v, want the second method's start error", err)
	}
	if n := closed.Load(); n != 2 {
		t.Errorf("%d models closed after the failed start, want 2", n)
	}
	if _, err := first.Run(context.Background(), 1); !errors.Is(err, ErrRunnerStopped) {
		t.Errorf("the first method after the failed start: %v, want ErrRunnerStopped", err)
	}
	r.failStart = nil
	srv, err := StartHTTP(context.Background(), svc, cfg, Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("StartHTTP after the fault is gone: %v", err)
	}
	if out, err := first.Run(context.Background(), 7); err != nil || out != 7 {
		t.Errorf("first.Run: %v, %v", out, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := closed.Load(); n != 4 {
		t.Errorf("%d models closed in all, want 4", n)
	}
}

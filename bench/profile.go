package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
)

// echoService is examples/echo's service, for the profiled server (a main
// package cannot be imported).
func echoService() *bento.Service {
	svc := bento.NewService("echo")
	bento.API(svc, "echo", bento.Text(), bento.Text(),
		func(_ context.Context, s string) (string, error) { return s, nil })
	bento.API(svc, "echo_json", bento.JSON[Doc](), bento.JSON[Doc](),
		func(_ context.Context, d Doc) (Doc, error) { return d, nil })
	return svc
}

// startCPUProfile starts profiling into path (nothing for "") and returns
// the function that stops it.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// serveProfiled is the hidden serve-gobento subcommand: examples/echo
// served in-process with the default configuration, writing a CPU profile
// of the server alone until SIGTERM.
func serveProfiled(args []string) int {
	fs := flag.NewFlagSet("serve-gobento", flag.ContinueOnError)
	port := fs.Int("port", 3000, "port")
	prof := fs.String("cpuprofile", "", "write a CPU profile here")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	stopProf, err := startCPUProfile(*prof)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stopProf()
	cfg := config.Default()
	if err := config.ApplyOptions(cfg, os.Getenv("BENTOML_CONFIG_OPTIONS")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg.APIServer.HTTP.Host, cfg.APIServer.HTTP.Port = "127.0.0.1", *port
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := bento.StartHTTP(ctx, echoService(), cfg, bento.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// profilePair loads a profiled gobento echo server and a profiled bare
// server, one after the other, and leaves their CPU profiles in dir.
func (b *bench) profilePair(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	path, ct, body := "/echo", "text/plain", []byte(textPayload(b.o.payload))
	if b.o.profileAPI == "echo_json" {
		var err error
		if body, err = json.Marshal(jsonPayload()); err != nil {
			return err
		}
		path, ct = "/echo_json", "application/json"
	}
	api := strings.TrimPrefix(path, "/")
	for _, v := range []struct{ name, mode string }{{"gobento-" + api, "serve-gobento"}, {"bare-" + api, "serve-bare"}} {
		port, err := freePort()
		if err != nil {
			return err
		}
		prof := filepath.Join(dir, v.name+".pprof")
		s, err := b.startServer(ctx, "profiled-"+v.name, self,
			[]string{v.mode, "--port", strconv.Itoa(port), "--cpuprofile", prof}, nil, port, httpReady("/readyz"))
		if err != nil {
			return err
		}
		f, cl := b.httpFactory(httpTarget{name: v.name, url: s.url + path, addr: s.addr, path: path,
			contentType: ct, body: body, want: body}, b.o.conns)
		st, err := closedLoop(ctx, b.o.conns, b.o.warmup, b.o.duration, s, f)
		cl()
		stopErr := s.stop()
		b.servers = b.servers[:len(b.servers)-1]
		if err := errors.Join(err, stopErr); err != nil {
			return err
		}
		b.logf("profiled %s: %.0f req/s, server CPU %.4f s/1k; profile %s", v.name, st.RPS, st.CPUPer1k, prof)
	}
	return nil
}

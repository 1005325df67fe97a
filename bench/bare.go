package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento/internal/pb"
)

// Doc is the document of examples/echo's echo_json API (the same type, so
// the bare handler does the same encoding/json work).
type Doc struct {
	Text   string            `json:"text"`
	Values []float64         `json:"values"`
	Meta   map[string]string `json:"meta,omitempty"`
}

// bareMaxBody matches gobento's default api_server.http.max_request_size.
const bareMaxBody = 20 << 20

// bareMux is the physical baseline: what a hand-written net/http service
// does for the same APIs, with no framework.
func bareMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bareMaxBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(body)
	})
	mux.HandleFunc("POST /echo_json", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bareMaxBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var d Doc
		if err := json.Unmarshal(body, &d); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := json.Marshal(d)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "\n") })
	return mux
}

// serveBareHTTP is the hidden serve-bare subcommand: the net/http baseline,
// with the same server timeouts as gobento's defaults.
func serveBareHTTP(args []string) int {
	fs := flag.NewFlagSet("serve-bare", flag.ContinueOnError)
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
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hs := &http.Server{
		Handler:           bareMux(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// bareGRPC answers Call with the request's text: the least a
// bentoml.grpc.v1 server can do.
type bareGRPC struct {
	pb.UnimplementedBentoServiceServer
}

func (bareGRPC) Call(_ context.Context, req *pb.Request) (*pb.Response, error) {
	return &pb.Response{Content: &pb.Response_Text{Text: wrapperspb.String(req.GetText().GetValue())}}, nil
}

// serveBareGRPC is the hidden serve-bare-grpc subcommand: a grpc-go server
// with default options and one trivial unary handler.
func serveBareGRPC(args []string) int {
	fs := flag.NewFlagSet("serve-bare-grpc", flag.ContinueOnError)
	port := fs.Int("port", 3000, "port")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s := grpc.NewServer()
	pb.RegisterBentoServiceServer(s, bareGRPC{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		s.GracefulStop()
	}()
	if err := s.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

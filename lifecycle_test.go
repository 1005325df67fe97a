package bento_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobento/bento"
)

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestReadinessFollowsRunners(t *testing.T) {
	release := make(chan struct{})
	svc := bento.NewService("slow_start")
	r := bento.NewRunner(svc, "loader", func() (string, error) { <-release; return "model", nil })
	m := bento.Method(r, "get", func(s string, _ context.Context, _ string) (string, error) { return s, nil })
	bento.API(svc, "get", bento.Text(), bento.Text(), m.Run)
	cfg := testConfig(t)
	cfg.APIServer.HTTP.Port = freePort(t)
	u := fmt.Sprintf("http://127.0.0.1:%d", cfg.APIServer.HTTP.Port)
	type started struct {
		srv *bento.Server
		err error
	}
	ch := make(chan started, 1)
	go func() {
		srv, err := bento.StartHTTP(context.Background(), svc, cfg, bento.Logger(quietLogger(t)))
		ch <- started{srv, err}
	}()
	// while the model loads: live, not ready
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.APIServer.HTTP.Port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("listener never came up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if resp := do(t, "GET", u+"/livez", "", nil); resp.status != 200 {
		t.Errorf("livez while loading: %d", resp.status)
	}
	if resp := do(t, "GET", u+"/readyz", "", nil); resp.status != 503 {
		t.Errorf("readyz while loading: %d", resp.status)
	}
	if resp := post(t, u+"/get", "", ""); resp.status != 503 {
		t.Errorf("API while loading: %d %s", resp.status, resp.body)
	}
	if got, _ := sample(scrape(t, u+"/metrics"), "gobento_serving_state", map[string]string{"state": "starting"}); got != 1 {
		t.Errorf("serving_state{starting} while loading = %v", got)
	}
	close(release)
	st := <-ch
	if st.err != nil {
		t.Fatal(st.err)
	}
	if resp := do(t, "GET", u+"/readyz", "", nil); resp.status != 200 {
		t.Errorf("readyz after start: %d", resp.status)
	}
	if resp := post(t, u+"/get", "", ""); resp.status != 200 || string(resp.body) != "model" {
		t.Errorf("API after start: %d %s", resp.status, resp.body)
	}
	st.srv.Shutdown(context.Background())
}

func TestGracefulShutdownLosesNoRequest(t *testing.T) {
	svc := kitchenSink(t)
	srv, err := bento.StartHTTP(context.Background(), svc, testConfig(t), bento.Logger(quietLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	u := srv.URL()
	const n = 30
	var wg sync.WaitGroup
	results := make(chan response, n)
	for range n {
		wg.Go(func() { results <- post(t, u+"/slow", "", "400ms") })
	}
	time.Sleep(150 * time.Millisecond) // all requests are in flight
	shutdownDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdownDone <- srv.Shutdown(ctx)
	}()
	time.Sleep(50 * time.Millisecond)
	if srv.Ready() {
		t.Error("still ready while draining")
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.status != 200 || string(r.body) != "400ms" {
			t.Errorf("in-flight request: %d %s", r.status, r.body)
		}
	}
	if err := <-shutdownDone; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", srv.Addr().String(), time.Second); err == nil {
		t.Error("new connections still accepted after shutdown")
	}
	if err := <-srv.Done(); err != nil {
		t.Errorf("Done: %v", err)
	}
}

func TestExecuteCommands(t *testing.T) {
	var out, errOut strings.Builder
	if err := bento.Execute(context.Background(), kitchenSink(t), []string{"openapi"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"/v1/shout"`) {
		t.Errorf("openapi output: %.200s", out.String())
	}
	out.Reset()
	t.Setenv("BENTOML_CONFIG_OPTIONS", "api_server.http.port=5005 runners.batching.max_batch_size=7")
	if err := bento.Execute(context.Background(), kitchenSink(t), []string{"config"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"port: 5005", "max_batch_size: 7"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("config output lacks %q:\n%s", want, out.String())
		}
	}
	t.Setenv("BENTOML_CONFIG_OPTIONS", "api_server.http.prot=5005")
	err := bento.Execute(context.Background(), kitchenSink(t), []string{"serve-http"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "api_server.http.prot") {
		t.Errorf("unknown key: err = %v", err)
	}
	t.Setenv("BENTOML_CONFIG_OPTIONS", "")
	// serve-http runs until the context ends, then exits cleanly
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	port := freePort(t)
	go func() {
		done <- bento.Execute(ctx, kitchenSink(t), []string{"serve-http", "--host", "127.0.0.1", "--port", fmt.Sprint(port)}, &out, &errOut)
	}()
	u := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			if r := do(t, "GET", u+"/readyz", "", nil); r.status == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve-http did not come up: %s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := post(t, u+"/echo", "", "cli"); r.status != 200 {
		t.Errorf("echo via CLI server: %d", r.status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve-http exit: %v", err)
	}
}

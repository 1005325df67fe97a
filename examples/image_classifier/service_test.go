package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
)

func startService(t *testing.T) *bento.Server {
	t.Helper()
	cfg := config.Default()
	cfg.APIServer.HTTP.Host = "127.0.0.1"
	cfg.APIServer.HTTP.Port = 0
	srv, err := bento.StartHTTP(context.Background(), newService(), cfg, bento.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("StartHTTP (%s build): %v", runtimeName, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

// uploadDigit posts testdata/digit_<d>.png as a multipart form, like
// curl -F image=@..., and returns the predicted digit.
func uploadDigit(t *testing.T, url string, d int) int {
	t.Helper()
	png, err := os.ReadFile(samplePath(d))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("image", "digit.png")
	part.Write(png)
	w.Close()
	resp, err := http.Post(url+"/predict", w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var p Prediction
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return p.Digit
}

// TestServicePredict is the README's curl example, sequentially and from
// concurrent clients (whose requests the runner batches).
func TestServicePredict(t *testing.T) {
	srv := startService(t)
	for _, d := range sampleDigits {
		if got := uploadDigit(t, srv.URL(), d); got != d {
			t.Errorf("digit_%d.png predicted as %d", d, got)
		}
	}
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			d := sampleDigits[i%len(sampleDigits)]
			if got := uploadDigit(t, srv.URL(), d); got != d {
				t.Errorf("concurrent digit_%d.png predicted as %d", d, got)
			}
		})
	}
	wg.Wait()
}

package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
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
		t.Fatalf("StartHTTP: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

func classifyHTTP(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"/classify", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// expected reads expected.csv: the 150 Iris rows and scikit-learn's label for each.
func expected(t *testing.T) ([][]float64, []int) {
	t.Helper()
	f, err := os.Open("expected.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]float64
	var labels []int
	for _, rec := range recs[1:] {
		row := make([]float64, NumFeatures)
		for i := range row {
			if row[i], err = strconv.ParseFloat(rec[i], 64); err != nil {
				t.Fatal(err)
			}
		}
		l, err := strconv.Atoi(rec[NumFeatures])
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
		labels = append(labels, l)
	}
	if len(rows) != 150 {
		t.Fatalf("expected.csv has %d rows, want 150", len(rows))
	}
	return rows, labels
}

func TestClassify(t *testing.T) {
	srv := startService(t)
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"README example", `[[5.9,3.0,5.1,1.8]]`, 200, `[2]`},
		{"three species", `[[5.1,3.5,1.4,0.2],[6.4,3.2,4.5,1.5],[6.3,3.3,6.0,2.5]]`, 200, `[0,1,2]`},
		{"empty", `[]`, 200, `[]`},
		{"wrong width", `[[5.9,3.0,5.1]]`, 400, `shape`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := classifyHTTP(t, srv.URL(), tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("status %d body %s; want %d with %s", status, body, tt.status, tt.want)
			}
		})
	}
}

// TestMatchesScikitLearn checks ONNX Runtime's labels against scikit-learn's for all 150
// rows: in one request, and one row per request from concurrent clients (batched).
func TestMatchesScikitLearn(t *testing.T) {
	rows, want := expected(t)
	srv := startService(t)
	body, _ := json.Marshal(rows)
	status, got := classifyHTTP(t, srv.URL(), string(body))
	wantJSON, _ := json.Marshal(want)
	if status != 200 || got != string(wantJSON) {
		t.Fatalf("all rows: status %d\n got %s\nwant %s", status, got, wantJSON)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16) // 16 concurrent clients
	for i, row := range rows {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			b, _ := json.Marshal([][]float64{row})
			status, got := classifyHTTP(t, srv.URL(), string(b))
			// A 503 is the batcher shedding a call it cannot finish within
			// max_latency (20 ms) on a loaded machine: by design; try again.
			for try := 0; status == http.StatusServiceUnavailable && try < 50; try++ {
				time.Sleep(10 * time.Millisecond)
				status, got = classifyHTTP(t, srv.URL(), string(b))
			}
			if w := fmt.Sprintf("[%d]", want[i]); status != 200 || got != w {
				t.Errorf("row %d %v: %d %s, want %s", i, row, status, got, w)
			}
		})
	}
	wg.Wait()
}

package accesslog_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gobento/bento/internal/accesslog"
)

// TestAccessLog serves through the middleware on loopback and checks the
// fields of the one line each request writes.
func TestAccessLog(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-BentoML-Request-ID", "12345")
		if r.URL.Path == "/missing" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"msg":"nope","type":"NotFound"}`)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.Copy(w, r.Body)
	})
	all := accesslog.Options{RequestIDHeader: "X-BentoML-Request-ID", RequestContentLength: true, RequestContentType: true, ResponseContentLength: true, ResponseContentType: true}
	none := accesslog.Options{RequestIDHeader: "X-BentoML-Request-ID"}
	skipMetrics := all
	skipMetrics.Skip = func(r *http.Request) bool { return r.URL.Path == "/metrics" }
	tests := []struct {
		name   string
		opts   accesslog.Options
		level  slog.Level
		path   string
		want   map[string]any // nil: no line at all
		absent []string
	}{
		{"every field", all, slog.LevelInfo, "/echo", map[string]any{
			"msg": "access", "method": "POST", "path": "/echo", "scheme": "http", "status": 200.0, "request_id": "12345",
			"request_content_length": 5.0, "request_content_type": "text/plain", "response_content_length": 5.0, "response_content_type": "text/plain; charset=utf-8"}, nil},
		{"error status and its length", all, slog.LevelInfo, "/missing", map[string]any{"status": 404.0, "response_content_length": 32.0, "response_content_type": "application/json"}, nil},
		{"optional fields off", none, slog.LevelInfo, "/echo", map[string]any{"status": 200.0, "request_id": "12345"},
			[]string{"request_content_length", "request_content_type", "response_content_length", "response_content_type"}},
		{"skipped path", skipMetrics, slog.LevelInfo, "/metrics", nil, nil},
		{"logger above info", all, slog.LevelWarn, "/echo", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			o := tt.opts
			o.Log = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tt.level}))
			srv := httptest.NewServer(accesslog.New(api, o))
			defer srv.Close()
			resp, err := http.Post(srv.URL+tt.path, "text/plain", strings.NewReader("hello"))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if tt.want == nil {
				if buf.Len() != 0 {
					t.Fatalf("want no log line, got %s", buf.String())
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("want one line, got %d: %s", len(lines), buf.String())
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if rec[k] != v {
					t.Errorf("%s = %#v, want %#v (line %s)", k, rec[k], v, lines[0])
				}
			}
			for _, k := range tt.absent {
				if _, ok := rec[k]; ok {
					t.Errorf("%s present, want absent", k)
				}
			}
			if d, ok := rec["duration_ms"].(float64); !ok || d < 0 {
				t.Errorf("duration_ms = %v", rec["duration_ms"])
			}
			if r, _ := rec["remote"].(string); !strings.HasPrefix(r, "127.0.0.1:") {
				t.Errorf("remote = %v", rec["remote"])
			}
		})
	}
}

// BenchmarkAccessLog is the middleware's own cost per request, with a
// JSON handler writing to io.Discard.
func BenchmarkAccessLog(b *testing.B) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	h := accesslog.New(api, accesslog.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), RequestIDHeader: "X-BentoML-Request-ID",
		RequestContentLength: true, RequestContentType: true, ResponseContentLength: true, ResponseContentType: true})
	req := httptest.NewRequest("POST", "/echo", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

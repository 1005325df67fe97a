package traceid_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gobento/bento/internal/traceid"
)

func TestTraceIDHeader(t *testing.T) {
	srv := httptest.NewServer(traceid.New(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer srv.Close()
	tests := []struct {
		name, traceparent, want string
	}{
		// 0x4bf92f3577b34da6a3ce929d0e0e4736 in decimal
		{"from traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "100985939111033328018442752961257817910"},
		{"all-zero id is replaced", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"none", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL, nil)
			if tt.traceparent != "" {
				req.Header.Set("traceparent", tt.traceparent)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get(traceid.Header)
			if tt.want != "" && got != tt.want || got == "" || got == "0" {
				t.Errorf("%s = %q, want %q", traceid.Header, got, tt.want)
			}
		})
	}
}

package cors_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gobento/bento/internal/cors"
)

func ptr[T any](v T) *T { return &v }

// TestCORS checks the middleware against Starlette's CORSMiddleware on a
// real loopback server: the status, body and headers of preflights and of
// simple requests, and whether the request reached the API.
func TestCORS(t *testing.T) {
	specific := cors.Options{
		AllowOrigins:     []string{"https://app.example.com"},
		AllowOriginRegex: `https://.*\.example\.org`,
		AllowMethods:     []string{"GET", "POST"},
		AllowHeaders:     []string{"X-Custom"},
		AllowCredentials: true,
		ExposeHeaders:    []string{"X-BentoML-Request-ID", "X-Other"},
		MaxAge:           ptr(1200),
	}
	anyOrigin := cors.Options{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}}
	tests := []struct {
		name    string
		opts    cors.Options
		method  string
		header  map[string]string
		status  int
		body    string
		reached bool              // the API handler ran
		want    map[string]string // "" means absent
	}{
		{"no origin passes with Vary only", specific, "POST", nil, 200, "api", true,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Vary": "Origin"}},
		{"simple request, allowed origin", specific, "POST", map[string]string{"Origin": "https://app.example.com"}, 200, "api", true,
			map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true",
				"Access-Control-Expose-Headers": "X-BentoML-Request-ID, X-Other", "Vary": "Origin"}},
		{"simple request, origin by regex", specific, "POST", map[string]string{"Origin": "https://a.b.example.org"}, 200, "api", true,
			map[string]string{"Access-Control-Allow-Origin": "https://a.b.example.org"}},
		{"regex matches in full only", specific, "POST", map[string]string{"Origin": "https://a.example.org.evil.com"}, 200, "api", true,
			map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin", "Access-Control-Allow-Credentials": "true"}},
		{"simple request, other origin: no allow-origin", specific, "POST", map[string]string{"Origin": "https://evil.com"}, 200, "api", true,
			map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"}},
		{"preflight allowed", specific, "OPTIONS", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-custom"},
			200, "OK", false,
			map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Methods": "GET, POST",
				"Access-Control-Allow-Headers": "Accept, Accept-Language, Content-Language, Content-Type, X-Custom", "Access-Control-Max-Age": "1200",
				"Access-Control-Allow-Credentials": "true",
				"Vary":                             "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"}},
		{"preflight bad origin, method and header", specific, "OPTIONS", map[string]string{"Origin": "https://evil.com", "Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "x-other"},
			400, "Disallowed CORS origin, method, headers", false, map[string]string{"Access-Control-Allow-Origin": ""}},
		{"preflight private network is refused", specific, "OPTIONS", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET", "Access-Control-Request-Private-Network": "true"},
			400, "Disallowed CORS private-network", false, nil},
		{"OPTIONS without request method is not a preflight", specific, "OPTIONS", map[string]string{"Origin": "https://app.example.com"}, 200, "api", true,
			map[string]string{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{"defaults: GET only, max age 600", cors.Options{AllowOrigins: []string{"https://a.com"}}, "OPTIONS", map[string]string{"Origin": "https://a.com", "Access-Control-Request-Method": "POST"},
			400, "Disallowed CORS method", false, map[string]string{"Access-Control-Allow-Methods": "GET", "Access-Control-Max-Age": "600"}},
		{"any origin: star", anyOrigin, "POST", map[string]string{"Origin": "https://x.com"}, 200, "api", true,
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""}},
		{"any origin preflight echoes headers", anyOrigin, "OPTIONS", map[string]string{"Origin": "https://x.com", "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "X-Anything"},
			200, "OK", false, map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "X-Anything",
				"Access-Control-Allow-Methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY"}},
		{"any origin with credentials mirrors the origin", cors.Options{AllowOrigins: []string{"*"}, AllowCredentials: true}, "GET", map[string]string{"Origin": "https://x.com"}, 200, "api", true,
			map[string]string{"Access-Control-Allow-Origin": "https://x.com", "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached := false
			api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				_, _ = io.WriteString(w, "api")
			})
			h, err := cors.New(api, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, _ := http.NewRequest(tt.method, srv.URL+"/classify", nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || string(body) != tt.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if reached != tt.reached {
				t.Errorf("API reached = %v, want %v", reached, tt.reached)
			}
			for k, v := range tt.want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestBadRegex(t *testing.T) {
	if _, err := cors.New(http.NotFoundHandler(), cors.Options{AllowOriginRegex: "("}); err == nil {
		t.Fatal("want an error for an invalid regex")
	}
}

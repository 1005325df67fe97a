package swaggerui

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		method, path string
		status       int
		ctype        string
		contains     string
	}{
		{"GET", "/swagger-ui/swagger-ui-bundle.js", 200, "text/javascript", `PACKAGE_VERSION:"` + Version + `"`},
		{"GET", "/swagger-ui/swagger-ui.css", 200, "text/css", ".swagger-ui"},
		{"GET", "/swagger-ui/init.js", 200, "text/javascript", `url: "docs.json"`},
		{"GET", "/swagger-ui/favicon-32x32.png", 200, "image/png", ""},
		{"HEAD", "/swagger-ui/init.js", 200, "text/javascript", ""},
		{"GET", "/swagger-ui/swagger-initializer.js", 404, "", ""}, // petstore URL: not served
		{"GET", "/swagger-ui/index.html", 404, "", ""},
		{"GET", "/swagger-ui/", 404, "", ""},
		{"POST", "/swagger-ui/init.js", 405, "", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			if Owns(tc.path) != (tc.status != 404) {
				t.Errorf("Owns(%q) = %v", tc.path, Owns(tc.path))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			body, _ := io.ReadAll(rec.Result().Body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tc.ctype)
			}
			if !strings.Contains(string(body), tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
		})
	}
	if strings.Contains(CSP, "http") || strings.Contains(CSP, "*") {
		t.Errorf("CSP allows another origin: %s", CSP)
	}
}

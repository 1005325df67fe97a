package httpserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gobento/bento/internal/iospec"
)

// TestDocsPageCurlURL checks that the docs page's curl lines name the
// address the page was fetched from, not a fixed localhost:3000.
func TestDocsPageCurlURL(t *testing.T) {
	h, err := New(Options{ServiceName: "svc", Endpoints: []Endpoint{{
		Name: "classify", Route: "/classify",
		Input:  iospec.Spec{ID: "bentoml.io.JSON", MediaTypes: []string{"application/json"}, Example: "[1]"},
		Output: iospec.Spec{ID: "bentoml.io.JSON", ResponseType: "application/json"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	tests := []struct {
		name, host, want string
	}{
		{"as dialled", "", srv.URL + "/classify"},
		{"another port", "localhost:5000", "http://localhost:5000/classify"},
		{"a name", "models.example:8080", "http://models.example:8080/classify"},
		{"shell characters", "x;rm -rf $HOME", "http://localhost/classify"},
		{"markup", "<b>:1", "http://localhost/classify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page := string(body)
			if !strings.Contains(page, "-d &#39;[1]&#39; "+tc.want+"</pre>") {
				t.Errorf("docs page lacks curl URL %q:\n%s", tc.want, page)
			}
			if strings.Contains(page, baseURLMark) || tc.host != "" && strings.Contains(page, "localhost:3000") {
				t.Errorf("docs page still has a fixed URL:\n%s", page)
			}
		})
	}
}

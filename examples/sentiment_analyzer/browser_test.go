package main

import (
	"slices"
	"testing"

	"github.com/gobento/bento/internal/browsertest"
)

// TestDocsPageInBrowser opens the docs page in headless Chromium: Swagger UI
// lists the API, and "Try it out" then "Execute" with the example text
// answers that it is positive, with no console error and no request to
// another origin.
func TestDocsPageInBrowser(t *testing.T) {
	srv := browsertest.Serve(t, newService(), nil)
	p := browsertest.New(t).Open(srv.URL()+"/", false)
	if routes := p.SwaggerRoutes(1); !slices.Contains(routes, "/analysis") {
		t.Fatalf("Swagger UI lists %v, want /analysis", routes)
	}
	status, body := p.SwaggerTry("/analysis", "", "")
	if status != "200" || !browsertest.SameJSON(body, `{"is_positive": true}`) {
		t.Errorf("Try it out /analysis: status %q, body %q; want 200 {\"is_positive\": true}", status, body)
	}
	p.CheckClean(srv.URL())
}

package main

import (
	"slices"
	"testing"

	"github.com/gobento/bento/internal/browsertest"
)

// TestDocsPageInBrowser opens the docs page in headless Chromium: Swagger UI
// lists the API, and "Try it out" then "Execute" with the example rows (a
// setosa, a versicolor and a virginica, set with bento.Example) answers
// [0, 1, 2], with no console error and no request to another origin.
func TestDocsPageInBrowser(t *testing.T) {
	srv := browsertest.Serve(t, newService(), nil)
	p := browsertest.New(t).Open(srv.URL()+"/", false)
	if routes := p.SwaggerRoutes(1); !slices.Contains(routes, "/classify") {
		t.Fatalf("Swagger UI lists %v, want /classify", routes)
	}
	status, body := p.SwaggerTry("/classify", "", "")
	if status != "200" || !browsertest.SameJSON(body, `[0, 1, 2]`) {
		t.Errorf("Try it out /classify: status %q, body %q; want 200 [0, 1, 2]", status, body)
	}
	p.CheckClean(srv.URL())
}

package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gobento/bento/internal/browsertest"
)

// TestDocsPageInBrowser opens the docs page in headless Chromium: Swagger UI
// lists the API, and "Try it out", a digit image set on the file input, then
// "Execute" answers the digit, with no console error and no request to
// another origin.
func TestDocsPageInBrowser(t *testing.T) {
	srv := browsertest.Serve(t, newService(), nil)
	b := browsertest.New(t)
	for _, tc := range []struct {
		mediaType, file string
		digit           int
	}{
		{"multipart/form-data", "digit_7.png", 7}, // a file upload form
		{"image/png", "digit_3.png", 3},           // the raw image as the body
	} {
		t.Run(tc.mediaType, func(t *testing.T) {
			p := b.Open(srv.URL()+"/", false)
			if routes := p.SwaggerRoutes(1); !slices.Contains(routes, "/predict") {
				t.Fatalf("Swagger UI lists %v, want /predict", routes)
			}
			file, err := filepath.Abs(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			status, body := p.SwaggerTry("/predict", tc.mediaType, file)
			var pred Prediction
			if status != "200" || json.Unmarshal([]byte(body), &pred) != nil || pred.Digit != tc.digit {
				t.Errorf("Try it out /predict with %s as %s: status %q, body %.200q; want 200 and digit %d", tc.file, tc.mediaType, status, body, tc.digit)
			}
			p.CheckClean(srv.URL())
		})
	}
}

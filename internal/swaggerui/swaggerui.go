// Package swaggerui serves Swagger UI from the binary for the docs page at
// "/": the distribution embedded by the Go module github.com/swaggo/files/v2
// (v2.0.2 carries Swagger UI 5.18.2), never copied into this repository,
// and a small script of ours that points it at /docs.json.
//
// Nothing is fetched from another origin: the page's Content-Security-Policy
// ([CSP]) allows only its own, and Swagger UI's online validator is turned
// off.
package swaggerui

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	swaggerfiles "github.com/swaggo/files/v2"
)

// Prefix is the path under which the assets are served.
const Prefix = "/swagger-ui/"

// Version is the Swagger UI release that github.com/swaggo/files/v2 v2.0.2
// embeds (its bundle's PACKAGE_VERSION).
const Version = "5.18.2"

// CSP is the Content-Security-Policy of the docs page: its own origin only.
// Styles may be inline because Swagger UI's React components and the docs
// page set them; scripts may not.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

//go:embed init.js
var own embed.FS

type asset struct {
	fsys fs.FS
	name string
	ct   string
}

// read returns the asset's bytes, read once.
func (a asset) read() ([]byte, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if b, ok := cache[a.name]; ok {
		return b, nil
	}
	b, err := fs.ReadFile(a.fsys, a.name)
	if err == nil {
		cache[a.name] = b
	}
	return b, err
}

var (
	cacheMu sync.Mutex
	cache   = map[string][]byte{}
)

// files are the assets served, by name under Prefix.
var files = map[string]asset{
	"swagger-ui-bundle.js": {swaggerfiles.FS, "swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
	"swagger-ui.css":       {swaggerfiles.FS, "swagger-ui.css", "text/css; charset=utf-8"},
	"favicon-32x32.png":    {swaggerfiles.FS, "favicon-32x32.png", "image/png"},
	"init.js":              {own, "init.js", "text/javascript; charset=utf-8"},
}

// Owns reports whether path is one of the assets.
func Owns(path string) bool {
	_, ok := files[strings.TrimPrefix(path, Prefix)]
	return ok && strings.HasPrefix(path, Prefix)
}

// Handler serves the assets under Prefix (GET and HEAD), cacheable for an
// hour; anything else under Prefix is 404.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[strings.TrimPrefix(r.URL.Path, Prefix)]
		if !ok || !strings.HasPrefix(r.URL.Path, Prefix) {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method Not Allowed: use GET", http.StatusMethodNotAllowed)
			return
		}
		b, err := f.read()
		if err != nil {
			http.Error(w, "asset unavailable", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ct)
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write(b)
	})
}

package httpserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"strings"
)

// errorSchema is the JSON error object every failure carries.
var errorSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"msg":  map[string]any{"type": "string"},
		"type": map[string]any{"type": "string"},
	},
	"required": []string{"msg", "type"},
}

// errorResponses documents the statuses gobento itself may answer an API
// request with.
var errorResponses = []struct {
	code string
	desc string
}{
	{"400", "Bad input: the body could not be decoded or failed validation"},
	{"404", "Not found (raised by the API)"},
	{"413", "Request body larger than api_server.http.max_request_size"},
	{"415", "Unsupported content type"},
	{"429", "Too many requests in flight (api_server.traffic.max_concurrency)"},
	{"500", "Error in user code; details are in the server log"},
	{"503", "Runner overloaded (shed to meet max latency) or not ready"},
	{"504", "Not answered within api_server.traffic.timeout"},
}

// buildOpenAPI returns the OpenAPI 3.0 document of the service. Like
// BentoML 1.1's, each API operation carries x-bentoml-name, and its
// requestBody and 200 response carry x-bentoml-io-descriptor (the
// descriptor's to_spec()): BentoML's HTTP clients build their descriptors
// from them (Client.from_url fails with "Malformed BentoML spec" without).
// Extensions are allowed on these three objects by OpenAPI 3.0.
func buildOpenAPI(o Options) ([]byte, error) {
	paths := map[string]any{}
	infra := func(summary string) map[string]any {
		return map[string]any{"get": map[string]any{
			"tags": []string{"Infrastructure"}, "summary": summary,
			"responses": map[string]any{"200": map[string]any{"description": "OK"}},
		}}
	}
	paths["/healthz"] = infra("Liveness probe (alias of /livez)")
	paths["/livez"] = infra("Liveness probe: 200 while the process is up")
	paths["/readyz"] = infra("Readiness probe: 503 until runners are started and while draining")
	if o.Gatherer != nil {
		paths["/metrics"] = infra("Prometheus metrics")
	}
	for _, ep := range o.Endpoints {
		content := map[string]any{}
		for _, mt := range ep.Input.MediaTypes {
			content[mt] = mediaTypeObject(mt, ep.Input)
		}
		responses := map[string]any{
			"200": map[string]any{
				"description":             "Successful Response",
				"content":                 map[string]any{ep.Output.ResponseType: map[string]any{"schema": ep.Output.Schema}},
				"x-bentoml-io-descriptor": ep.Output.BentoSpec(),
			},
		}
		for _, er := range errorResponses {
			responses[er.code] = map[string]any{
				"description": er.desc,
				"content": map[string]any{"application/json": map[string]any{
					"schema": map[string]any{"$ref": "#/components/schemas/Error"}}},
			}
		}
		desc := ep.Doc
		if desc == "" {
			desc = fmt.Sprintf("%s → %s", ep.Input.ID, ep.Output.ID)
		}
		paths[ep.Route] = map[string]any{"post": map[string]any{
			"tags":           []string{"Service APIs"},
			"operationId":    o.ServiceName + "__" + ep.Name,
			"summary":        fmt.Sprintf("%s → %s", shortID(ep.Input.ID), shortID(ep.Output.ID)),
			"description":    desc,
			"x-bentoml-name": ep.Name,
			"requestBody": map[string]any{
				"required": true, "content": content,
				"x-bentoml-io-descriptor": ep.Input.BentoSpec(),
			},
			"responses": responses,
		}}
	}
	version := o.ServiceVersion
	if version == "" {
		version = "not available"
	}
	doc := map[string]any{
		"openapi": "3.0.2",
		"info": map[string]any{
			"title":       o.ServiceName,
			"description": o.ServiceDoc,
			"version":     version,
		},
		"servers": []any{map[string]any{"url": "."}},
		"tags": []any{
			map[string]any{"name": "Service APIs", "description": "The service's inference APIs"},
			map[string]any{"name": "Infrastructure", "description": "Probes and metrics"},
		},
		"paths":      paths,
		"components": map[string]any{"schemas": map[string]any{"Error": errorSchema}},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("httpserver: building OpenAPI document: %w", err)
	}
	return b, nil
}

func shortID(id string) string {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == '.' {
			return id[i+1:]
		}
	}
	return id
}

var docsTmpl = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Name}} · gobento</title>
<link rel="stylesheet" href="swagger-ui/swagger-ui.css">
<link rel="icon" type="image/png" href="swagger-ui/favicon-32x32.png">
<style>
body{font-family:system-ui,-apple-system,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font-family:ui-monospace,monospace;background:#f4f4f6;border-radius:4px}
pre{padding:.75rem;overflow-x:auto}h2{border-bottom:1px solid #ddd;padding-bottom:.25rem}
.route{font-weight:bold}.meta{color:#666}
#swagger-ui .information-container{display:none}
</style></head><body>
<h1>{{.Name}}</h1>
<p class="meta">version {{.Version}} · served by gobento · <a href="docs.json">OpenAPI document</a>{{if .Metrics}} · <a href="metrics">metrics</a>{{end}}{{if .Dashboard}} · <a href="dashboard">dashboard</a>{{end}} · <a href="readyz">readyz</a></p>
{{if .Doc}}<p>{{.Doc}}</p>{{end}}
<div id="swagger-ui"></div>
<h2 id="curl">With curl</h2>
{{range .APIs}}<h2><span class="route">POST {{.Route}}</span></h2>
<p>{{.Summary}}{{if .Doc}} — {{.Doc}}{{end}}</p>
<pre>{{.Curl}}</pre>
{{end}}
<script src="swagger-ui/swagger-ui-bundle.js"></script>
<script src="swagger-ui/init.js"></script>
</body></html>
`))

type docsAPI struct {
	Route, Summary, Doc, Curl string
}

// baseURLMark stands for the server's base URL in a rendered docs page; it
// is replaced per request by [docsPageFor], so the curl lines name the
// address the page was fetched from ("http://localhost:5000" after
// serve-http --port 5000). html/template leaves it as is.
const baseURLMark = "@@GOBENTO_BASE_URL@@"

// buildDocsPage renders the docs page: every API with a curl example whose
// URL is baseURLMark.
func buildDocsPage(o Options) []byte {
	data := struct {
		Name, Version, Doc string
		Metrics, Dashboard bool
		APIs               []docsAPI
	}{Name: o.ServiceName, Version: o.ServiceVersion, Doc: o.ServiceDoc, Metrics: o.Gatherer != nil,
		Dashboard: o.Dashboard != nil}
	if data.Version == "" {
		data.Version = "not available"
	}
	for _, ep := range o.Endpoints {
		data.APIs = append(data.APIs, docsAPI{
			Route:   ep.Route,
			Summary: fmt.Sprintf("%s → %s", shortID(ep.Input.ID), shortID(ep.Output.ID)),
			Doc:     ep.Doc,
			Curl:    curlExample(ep),
		})
	}
	var b bytes.Buffer
	if err := docsTmpl.Execute(&b, data); err != nil {
		return []byte("docs page unavailable: " + err.Error())
	}
	return b.Bytes()
}

func curlExample(ep Endpoint) string {
	mt := "application/octet-stream"
	if len(ep.Input.MediaTypes) > 0 {
		mt = ep.Input.MediaTypes[0]
	}
	url := baseURLMark + ep.Route
	switch mt {
	case "multipart/form-data":
		return fmt.Sprintf("curl -X POST -F 'file=@input' %s", url)
	case "image/png", "image/jpeg", "image/*":
		return fmt.Sprintf("curl -X POST -H 'Content-Type: %s' --data-binary @image.png %s", mt, url)
	}
	ex := ep.Input.Example
	if ex == "" {
		ex = "..."
	}
	return fmt.Sprintf("curl -X POST -H 'Content-Type: %s' -d '%s' %s", mt, ex, url)
}

// docsPageFor returns page with its curl lines pointed at the server r
// reached: the request's scheme and Host, so a copy-paste after
// serve-http --port 5000 goes to port 5000.
func docsPageFor(page []byte, r *http.Request) []byte {
	return bytes.ReplaceAll(page, []byte(baseURLMark), []byte(html.EscapeString(baseURL(r))))
}

// baseURL is the URL the client used to reach the server, without a path.
// A Host header that is not a plain host[:port] (empty, or with characters
// a shell or curl would interpret) falls back to localhost, so the page
// never shows a command that does something else than it says.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if !plainHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host + mountPrefix(r)
}

// mountPrefix is the path under which the handler is mounted in an
// application's mux ("/models" for http.StripPrefix("/models", h)): the
// part of the request-target that r.URL.Path no longer has. Only a plain
// path (letters, digits, '/', '-', '_', '.') is used.
func mountPrefix(r *http.Request) string {
	target := r.RequestURI
	if i := strings.IndexAny(target, "?#"); i >= 0 {
		target = target[:i]
	}
	prefix, ok := strings.CutSuffix(target, r.URL.Path)
	if !ok || prefix == "" || prefix[0] != '/' || len(prefix) > 255 {
		return ""
	}
	for _, c := range prefix {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return prefix
}

// plainHost reports whether h holds only letters, digits, '.', '-' and
// ':' (a name or IPv4 address with an optional port). IPv6 literals are
// left out: curl needs -g for their brackets.
func plainHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// OpenAPI returns the OpenAPI 3.0 document a handler built from o serves at
// /docs.json.
func OpenAPI(o Options) ([]byte, error) { return buildOpenAPI(o) }

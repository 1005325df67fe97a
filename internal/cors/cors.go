// Package cors is gobento's CORS middleware, with the semantics of
// Starlette's CORSMiddleware, which BentoML 1.1 uses for its
// api_server.http.cors keys.
//
// # Behaviour
//
// A request without an Origin header passes through with only Vary: Origin
// added. A preflight
// (OPTIONS with Origin and Access-Control-Request-Method) is answered by the
// middleware itself and never reaches the wrapped handler, so it is not
// counted as API traffic (as in BentoML, where the CORS middleware sits
// outside the metrics middleware): 200 "OK" when the origin, method and
// requested headers are allowed, else 400 "Disallowed CORS origin, method,
// headers" (the failing parts). Any other request with an Origin goes to
// the wrapped handler, and its response gets the CORS headers: the origin
// itself (or "*") in Access-Control-Allow-Origin when allowed, with
// credentials and exposed headers as configured, and Vary: Origin.
//
// # Defaults
//
// The zero [Options] allows no origin, methods GET only, no headers beyond
// the CORS-safelisted ones, no credentials, and a max age of 600 seconds,
// as Starlette does.
package cors

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// allMethods is what "*" in AllowMethods stands for: Starlette's list (the
// version `pip install bentoml==1.1.11` brings today, which has QUERY).
var allMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY"}

// safelisted are the request headers every preflight allows.
var safelisted = []string{"Accept", "Accept-Language", "Content-Language", "Content-Type"}

// Options configures [New]. Each field has Starlette's meaning and default.
type Options struct {
	// AllowOrigins lists the allowed origins; "*" allows any.
	AllowOrigins []string
	// AllowOriginRegex also allows origins it matches in full (RE2 syntax).
	AllowOriginRegex string
	// AllowMethods lists the methods a preflight may ask for; nil means
	// GET only, "*" every method.
	AllowMethods []string
	// AllowHeaders lists the request headers a preflight may ask for beyond
	// the safelisted ones; "*" allows any (and echoes what was asked).
	AllowHeaders []string
	// AllowCredentials sends Access-Control-Allow-Credentials: true, and the
	// origin itself instead of "*".
	AllowCredentials bool
	// ExposeHeaders are sent in Access-Control-Expose-Headers.
	ExposeHeaders []string
	// MaxAge is the preflight's Access-Control-Max-Age in seconds; nil
	// means 600.
	MaxAge *int
}

type policy struct {
	next              http.Handler
	origins           map[string]bool
	allOrigins        bool
	regex             *regexp.Regexp
	methods           []string
	allHeaders        bool
	headers           map[string]bool // lower-case
	credentials       bool
	explicitPreflight bool // answer the preflight with the origin, not "*"
	simple            [][2]string
	preflight         [][2]string
}

// New returns next wrapped in the CORS policy o. It fails only if
// o.AllowOriginRegex does not compile.
func New(next http.Handler, o Options) (http.Handler, error) {
	p := &policy{next: next, origins: map[string]bool{}, headers: map[string]bool{}, credentials: o.AllowCredentials}
	for _, s := range o.AllowOrigins {
		p.origins[s] = true
	}
	p.allOrigins = p.origins["*"]
	if o.AllowOriginRegex != "" {
		re, err := regexp.Compile(`^(?:` + o.AllowOriginRegex + `)$`)
		if err != nil {
			return nil, fmt.Errorf("cors: AllowOriginRegex: %w", err)
		}
		p.regex = re
	}
	p.methods = o.AllowMethods
	if p.methods == nil {
		p.methods = []string{"GET"}
	}
	if slices.Contains(p.methods, "*") {
		p.methods = allMethods
	}
	p.allHeaders = slices.Contains(o.AllowHeaders, "*")
	maxAge := 600
	if o.MaxAge != nil {
		maxAge = *o.MaxAge
	}
	p.explicitPreflight = !p.allOrigins || o.AllowCredentials

	if p.allOrigins {
		p.simple = append(p.simple, [2]string{"Access-Control-Allow-Origin", "*"})
	}
	if o.AllowCredentials {
		p.simple = append(p.simple, [2]string{"Access-Control-Allow-Credentials", "true"})
	}
	if len(o.ExposeHeaders) > 0 {
		p.simple = append(p.simple, [2]string{"Access-Control-Expose-Headers", strings.Join(o.ExposeHeaders, ", ")})
	}

	p.preflight = append(p.preflight, [2]string{"Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"})
	if !p.explicitPreflight {
		p.preflight = append(p.preflight, [2]string{"Access-Control-Allow-Origin", "*"})
	}
	p.preflight = append(p.preflight,
		[2]string{"Access-Control-Allow-Methods", strings.Join(p.methods, ", ")},
		[2]string{"Access-Control-Max-Age", strconv.Itoa(maxAge)})
	allowed := slices.Clone(safelisted)
	for _, h := range o.AllowHeaders {
		if !slices.Contains(allowed, h) {
			allowed = append(allowed, h)
		}
	}
	slices.Sort(allowed)
	if !p.allHeaders {
		p.preflight = append(p.preflight, [2]string{"Access-Control-Allow-Headers", strings.Join(allowed, ", ")})
	}
	for _, h := range allowed {
		p.headers[strings.ToLower(h)] = true
	}
	if o.AllowCredentials {
		p.preflight = append(p.preflight, [2]string{"Access-Control-Allow-Credentials", "true"})
	}
	return p, nil
}

func (p *policy) allowedOrigin(origin string) bool {
	return p.allOrigins || p.regex != nil && p.regex.MatchString(origin) || p.origins[origin]
}

func (p *policy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		// The response still depends on Origin: Starlette says so too.
		w.Header().Add("Vary", "Origin")
		p.next.ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		p.answerPreflight(w, r, origin)
		return
	}
	h := w.Header()
	for _, kv := range p.simple {
		h.Set(kv[0], kv[1])
	}
	switch {
	case p.allOrigins && p.credentials:
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	case !p.allOrigins && p.allowedOrigin(origin):
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	default:
		h.Add("Vary", "Origin")
	}
	p.next.ServeHTTP(w, r)
}

func (p *policy) answerPreflight(w http.ResponseWriter, r *http.Request, origin string) {
	h := w.Header()
	for _, kv := range p.preflight {
		h.Set(kv[0], kv[1])
	}
	var failures []string
	if p.allowedOrigin(origin) {
		if p.explicitPreflight {
			h.Set("Access-Control-Allow-Origin", origin)
		}
	} else {
		failures = append(failures, "origin")
	}
	if !slices.Contains(p.methods, r.Header.Get("Access-Control-Request-Method")) {
		failures = append(failures, "method")
	}
	if reqHeaders, ok := r.Header["Access-Control-Request-Headers"]; ok {
		if p.allHeaders {
			h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ","))
		} else {
			for _, line := range reqHeaders {
				if !p.headersAllowed(line) {
					failures = append(failures, "headers")
					break
				}
			}
		}
	}
	if _, ok := r.Header["Access-Control-Request-Private-Network"]; ok {
		failures = append(failures, "private-network") // BentoML cannot allow it
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if len(failures) > 0 {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("Disallowed CORS " + strings.Join(failures, ", ")))
		return
	}
	_, _ = w.Write([]byte("OK"))
}

func (p *policy) headersAllowed(list string) bool {
	for h := range strings.SplitSeq(list, ",") {
		if !p.headers[strings.ToLower(strings.TrimSpace(h))] {
			return false
		}
	}
	return true
}

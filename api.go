package bento

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gobento/bento/internal/codec"
	"github.com/gobento/bento/internal/iospec"
	"github.com/gobento/bento/internal/tracing"
)

// apiEntry is one API with its types erased: the servers call it with raw
// payloads.
type apiEntry struct {
	name  string
	route string
	doc   string
	in    iospec.Spec
	out   iospec.Spec
	// callHTTP decodes, runs the user's function and encodes.
	callHTTP func(ctx context.Context, p iospec.Payload) (iospec.Payload, error)
	// proto is the gRPC side (see grpc.go).
	proto protoCaller
}

// APIOption configures an API: [Route], [Doc], [Example], [MaxItems].
type APIOption interface{ applyAPI(*apiOptions) }

type apiOption func(*apiOptions)

func (f apiOption) applyAPI(o *apiOptions) { f(o) }

// DocOption is the description set by [Doc]: an option of a service and of
// an API alike.
type DocOption string

func (d DocOption) applyService(s *Service) { s.doc = string(d) }
func (d DocOption) applyAPI(o *apiOptions)  { o.doc = string(d) }

type apiOptions struct {
	route    string
	doc      string
	maxItems int
	example  string
}

// Route serves the API at path instead of "/<name>". A missing leading slash
// is added. The path must not contain '?' or '#', start with "//", or clash
// with the built-in routes.
func Route(path string) APIOption { return apiOption(func(o *apiOptions) { o.route = path }) }

// Doc describes a service (an option of [NewService]) or an API (of [API]),
// for the OpenAPI document and the docs page.
func Doc(doc string) DocOption { return DocOption(doc) }

// Example sets the example request body of the API, shown in its curl line
// and filled in by the docs page's "Try it out", instead of the one the
// input descriptor derives (a sentence for Text, the zero value for JSON,
// ones for NDArray; none for files and images). For JSON and NDArray inputs
// it must be JSON.
func Example(body string) APIOption { return apiOption(func(o *apiOptions) { o.example = body }) }

// MaxItems caps the items one request may carry: the first dimension of an
// NDArray input. A request with more gets 413; over HTTP the decoder stops
// reading the array right past the limit, so a giant request costs little
// before it is refused. Use it to keep one request from holding the model
// (and the memory of its decoded input) far longer than the others. Only
// NDArray inputs count items; MaxItems on another input is a start-up
// error.
func MaxItems(n int) APIOption { return apiOption(func(o *apiOptions) { o.maxItems = n }) }

var apiNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedNames may not be API names (they are, or could be, built-in routes).
var reservedNames = map[string]bool{
	"index": true, "swagger": true, "docs": true, "metrics": true,
	"healthz": true, "livez": true, "readyz": true, "dashboard": true,
}

// reservedRoutes are served by gobento itself.
var reservedRoutes = map[string]bool{
	"/": true, "/metrics": true, "/healthz": true, "/livez": true, "/readyz": true,
	"/docs.json": true, "/docs": true,
	"/dashboard": true, "/dashboard/app.js": true, "/dashboard/app.css": true, "/dashboard/data": true,
}

// API registers fn as an API of svc called name, served by HTTP at
// POST /<name> (see [Route]) and by gRPC as api_name name.
//
// The input descriptor turns the request into an In, fn computes an Out, and
// the output descriptor writes it back. fn's ctx ends when the client goes
// away, the request times out (api_server.traffic.timeout) or the server
// stops waiting for it. An error returned by fn picks the status: see
// [Error], [BadInput] and friends; any other error is a 500. A panic in fn
// is recovered, logged with its stack, and answered with a 500; the server
// keeps serving.
//
// name must be a valid identifier and not one of index, swagger, docs,
// metrics, healthz, livez, readyz, dashboard. Mistakes are reported when the service
// starts.
func API[In, Out any](svc *Service, name string, in IO[In], out IO[Out],
	fn func(context.Context, In) (Out, error), opts ...APIOption) {
	var o apiOptions
	for _, opt := range opts {
		opt.applyAPI(&o)
	}
	route := o.route
	if route == "" {
		route = "/" + name
	} else if !strings.HasPrefix(route, "/") {
		route = "/" + route
	}
	switch {
	case !apiNameRE.MatchString(name):
		svc.addErr(fmt.Errorf("bento: API name %q is not a valid identifier", name))
		return
	case reservedNames[name]:
		svc.addErr(fmt.Errorf("bento: API name %q is reserved", name))
		return
	case strings.ContainsAny(route, "?# ") || strings.HasPrefix(route, "//") || strings.HasPrefix(route, "/:"):
		svc.addErr(fmt.Errorf("bento: API %q: invalid route %q", name, route))
		return
	case reservedRoutes[route] || strings.HasPrefix(route, "/swagger-ui/"):
		svc.addErr(fmt.Errorf("bento: API %q: route %q is reserved for a built-in endpoint", name, route))
		return
	case in.c == nil || out.c == nil || fn == nil:
		svc.addErr(fmt.Errorf("bento: API %q: input, output and function must not be nil", name))
		return
	}
	counter, counts := in.c.(codec.ItemCounter[In])
	switch {
	case o.maxItems < 0:
		svc.addErr(fmt.Errorf("bento: API %q: MaxItems(%d) must be > 0", name, o.maxItems))
		return
	case o.maxItems > 0 && !counts:
		svc.addErr(fmt.Errorf("bento: API %q: MaxItems needs an NDArray input, whose first dimension it counts", name))
		return
	}
	for _, err := range []error{in.validate(), out.validate()} {
		if err != nil {
			svc.addErr(fmt.Errorf("bento: API %q: %w", name, err))
			return
		}
	}
	inSpec := in.wireSpec()
	if o.example != "" {
		inSpec.Example = o.example
	}
	e := &apiEntry{
		name:  name,
		route: route,
		doc:   o.doc,
		in:    inSpec,
		out:   out.wireSpec(),
		callHTTP: func(ctx context.Context, p iospec.Payload) (iospec.Payload, error) {
			p.MaxItems = o.maxItems
			t0 := time.Now()
			v, err := in.decodeHTTP(p)
			t1 := time.Now()
			if p.Traced {
				tracing.Phase(ctx, "decode "+name, t0, t1)
			}
			if err != nil {
				return iospec.Payload{}, err
			}
			actx, end := ctx, endNothing
			if p.Traced {
				actx, end = tracing.Step(ctx, "api "+name)
			}
			res, err := fn(actx, v)
			end(err)
			if err != nil {
				return iospec.Payload{}, err
			}
			t2 := time.Now()
			r, err := out.encodeHTTP(res)
			t3 := time.Now()
			if p.Traced {
				tracing.Phase(ctx, "encode "+name, t2, t3)
			}
			r.Decode, r.Encode = t1.Sub(t0), t3.Sub(t2)
			return r, err
		},
		proto: newProtoCaller(in, out, name, limitItems(fn, counter, o.maxItems)),
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	for _, a := range svc.apis {
		if a.name == name {
			svc.errs = append(svc.errs, fmt.Errorf("bento: duplicate API name %q", name))
			return
		}
		if a.route == route {
			svc.errs = append(svc.errs, fmt.Errorf("bento: APIs %q and %q share route %q", a.name, name, route))
			return
		}
	}
	svc.apis = append(svc.apis, e)
}

// limitItems refuses, with 413, a gRPC request over max items before fn
// runs (over HTTP the decoder refuses it while parsing).
func limitItems[In, Out any](fn func(context.Context, In) (Out, error), c codec.ItemCounter[In], max int) func(context.Context, In) (Out, error) {
	if max <= 0 {
		return fn
	}
	return func(ctx context.Context, v In) (Out, error) {
		if c.ItemCount(v) > max {
			var zero Out
			return zero, codec.TooManyItems(max)
		}
		return fn(ctx, v)
	}
}

// endNothing ends no span: the step of an untraced call.
func endNothing(error) {}

package bento

import (
	"errors"
	"fmt"
	"regexp"
	"sync"
)

// Service is a named set of APIs and the runners they call. Declare it once in
// main, register APIs with [API] and runners with [NewRunner], then hand it to
// [Main]. Registration is not safe for concurrent use and must finish before
// the service starts; mistakes (duplicate or invalid names) are reported when
// it starts, all at once.
type Service struct {
	name    string
	version string
	doc     string
	metrics []any // custom metrics it owns (WithMetrics); nil: every declared one

	mu      sync.Mutex
	apis    []*apiEntry
	runners []runnerDecl
	errs    []error
}

// ServiceOption configures a [Service]: [Version], [Doc], [Metrics].
//
// Options are named after what they set, with no With prefix, whatever
// they configure (a service, an API, a runner, a method, a descriptor, a
// server); where a configuration key sets the same thing, the key, when
// set, wins over the option (see [BatchOption]).
type ServiceOption interface{ applyService(*Service) }

type serviceOption func(*Service)

func (f serviceOption) applyService(s *Service) { f(s) }

// Version sets the service version, reported in the service_version label
// of every metric. Without it the label is "not available", as in BentoML.
func Version(version string) ServiceOption {
	return serviceOption(func(s *Service) { s.version = version })
}

// WithVersion is [Version].
//
// Deprecated: use Version; options carry no With prefix.
func WithVersion(version string) ServiceOption { return Version(version) }

// WithDoc is [Doc].
//
// Deprecated: use Doc, which describes a service or an API.
func WithDoc(doc string) ServiceOption { return Doc(doc) }

var serviceNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)

// NewService returns an empty service called name. The name is the
// service_name label of every metric; it must be 1–63 characters of letters,
// digits, '_', '.' or '-', starting with a letter or digit.
func NewService(name string, opts ...ServiceOption) *Service {
	s := &Service{name: name}
	for _, o := range opts {
		o.applyService(s)
	}
	if !serviceNameRE.MatchString(name) {
		s.addErr(fmt.Errorf("bento: invalid service name %q: use 1-63 letters, digits, '_', '.' or '-'", name))
	}
	return s
}

// Name returns the service name.
func (s *Service) Name() string { return s.name }

// Version returns the service version, or "not available" when none was set.
func (s *Service) Version() string {
	if s.version == "" {
		return "not available"
	}
	return s.version
}

func (s *Service) addErr(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

// Validate reports every registration mistake at once: invalid or duplicate
// names, invalid options. The servers call it before starting.
func (s *Service) Validate() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.errs...)
}

// APIInfo describes one registered API.
type APIInfo struct {
	// Name is the API name, also its gRPC api_name.
	Name string
	// Route is the HTTP path the API is served at.
	Route string
	// Doc is the API description (see [Doc]).
	Doc string
	// Input and Output describe the API's descriptors.
	Input, Output IOSpec
}

// APIs lists the registered APIs in registration order.
func (s *Service) APIs() []APIInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]APIInfo, len(s.apis))
	for i, a := range s.apis {
		out[i] = APIInfo{Name: a.name, Route: a.route, Doc: a.doc, Input: ioSpec(a.in), Output: ioSpec(a.out)}
	}
	return out
}

// runnerDecls returns a copy of the service's runner declarations.
func (s *Service) runnerDecls() []runnerDecl {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]runnerDecl(nil), s.runners...)
}

// runnerNames returns the names of the service's runners, in declaration
// order.
func (s *Service) runnerNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, len(s.runners))
	for i, r := range s.runners {
		names[i] = r.runnerName()
	}
	return names
}

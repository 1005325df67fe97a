package errs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestStatusTable pins every mapping of the status table, both directions.
func TestStatusTable(t *testing.T) {
	toGRPCCases := []struct {
		status int
		code   codes.Code
		typ    string
	}{
		{200, codes.OK, TypeBadInput},
		{400, codes.InvalidArgument, TypeBadInput},
		{401, codes.Unauthenticated, TypeBadInput},
		{403, codes.PermissionDenied, TypeBadInput},
		{404, codes.NotFound, TypeNotFound},
		{405, codes.Unknown, TypeMethodNotAllowed},
		{408, codes.Unknown, TypeRequestTimeout},
		{409, codes.Unknown, TypeBadInput},
		{413, codes.ResourceExhausted, TypePayloadTooLarge},
		{415, codes.InvalidArgument, TypeUnsupportedMedia},
		{418, codes.Unknown, TypeBadInput},
		{422, codes.FailedPrecondition, TypeUnprocessable},
		{429, codes.ResourceExhausted, TypeTooManyRequests},
		{499, codes.Canceled, TypeClientClosedRequest},
		{500, codes.Internal, TypeInternal},
		{501, codes.Unimplemented, TypeInternal},
		{502, codes.Unavailable, TypeInternal},
		{503, codes.Unavailable, TypeServiceUnavailable},
		{504, codes.DeadlineExceeded, TypeTimeout},
		{507, codes.Internal, TypeInternal},
		{599, codes.Internal, TypeInternal},
		{600, codes.Internal, TypeInternal},
		{-1, codes.Unknown, TypeBadInput},
	}
	for _, tc := range toGRPCCases {
		t.Run(fmt.Sprintf("http_%d", tc.status), func(t *testing.T) {
			if got := GRPCCode(tc.status); got != tc.code {
				t.Errorf("GRPCCode(%d) = %v, want %v", tc.status, got, tc.code)
			}
			if got := TypeFor(tc.status); got != tc.typ {
				t.Errorf("TypeFor(%d) = %q, want %q", tc.status, got, tc.typ)
			}
		})
	}
	toHTTPCases := []struct {
		code   codes.Code
		status int
	}{
		{codes.OK, 200},
		{codes.Canceled, 499},
		{codes.Unknown, 500},
		{codes.InvalidArgument, 400},
		{codes.DeadlineExceeded, 504},
		{codes.NotFound, 404},
		{codes.AlreadyExists, 500},
		{codes.PermissionDenied, 403},
		{codes.ResourceExhausted, 429},
		{codes.FailedPrecondition, 422},
		{codes.Aborted, 500},
		{codes.OutOfRange, 400},
		{codes.Unimplemented, 404},
		{codes.Internal, 500},
		{codes.Unavailable, 503},
		{codes.DataLoss, 500},
		{codes.Unauthenticated, 401},
		{codes.Code(99), 500},
	}
	for _, tc := range toHTTPCases {
		t.Run("grpc_"+tc.code.String(), func(t *testing.T) {
			if got := HTTPStatus(tc.code); got != tc.status {
				t.Errorf("HTTPStatus(%v) = %d, want %d", tc.code, got, tc.status)
			}
		})
	}
	// Every row marked both is its own inverse; a one-way row's target
	// maps back to the row that owns it.
	for _, r := range table {
		switch r.dir {
		case both:
			if HTTPStatus(GRPCCode(r.status)) != r.status || GRPCCode(HTTPStatus(r.code)) != r.code {
				t.Errorf("row %d/%v does not map back to itself", r.status, r.code)
			}
		case toGRPC:
			if GRPCCode(r.status) != r.code {
				t.Errorf("GRPCCode(%d) = %v, want %v", r.status, GRPCCode(r.status), r.code)
			}
		case toHTTP:
			if HTTPStatus(r.code) != r.status {
				t.Errorf("HTTPStatus(%v) = %d, want %d", r.code, HTTPStatus(r.code), r.status)
			}
		}
	}
}

// teapot is a user error type that chooses its status.
type teapot struct{ msg string }

func (e *teapot) Error() string   { return e.msg }
func (e *teapot) HTTPStatus() int { return http.StatusTeapot }

// badStatus chooses a status that is not an error status.
type badStatus struct{}

func (badStatus) Error() string   { return "secret detail" }
func (badStatus) HTTPStatus() int { return http.StatusFound }

// overloaded chooses a 5xx: its text stays in the log.
type overloaded struct{}

func (overloaded) Error() string   { return "pool at 10.0.0.7 is full" }
func (overloaded) HTTPStatus() int { return http.StatusServiceUnavailable }

// described chooses type and message too.
type described struct{}

func (described) Error() string                  { return "internal text" }
func (described) HTTPStatus() int                { return http.StatusServiceUnavailable }
func (described) ClientError() (typ, msg string) { return "Warming", "model is loading" }

// okStatus is an error that claims gRPC status OK: a bug, so a 500.
type okStatus struct{}

func (okStatus) Error() string              { return "ok?" }
func (okStatus) GRPCStatus() *status.Status { return status.New(codes.OK, "") }

// bothStatus has an HTTP and a gRPC status: HTTP takes the first.
type bothStatus struct{}

func (bothStatus) Error() string   { return "both" }
func (bothStatus) HTTPStatus() int { return http.StatusConflict }
func (bothStatus) GRPCStatus() *status.Status {
	return status.New(codes.AlreadyExists, "exists")
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		typ    string
		msg    string
	}{
		{"plain", errors.New("db password wrong"), 500, TypeInternal, GenericInternal},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), 504, TypeTimeout, "Not able to process the request in time"},
		{"canceled", context.Canceled, 499, TypeClientClosedRequest, "Request cancelled"},
		{"custom 4xx", &teapot{"short and stout"}, 418, TypeBadInput, "short and stout"},
		{"custom wrapped", fmt.Errorf("ctx: %w", &teapot{"tea"}), 418, TypeBadInput, "tea"},
		{"custom in join", errors.Join(errors.New("a"), &teapot{"b"}), 418, TypeBadInput, "b"},
		{"status out of range", badStatus{}, 500, TypeInternal, "Internal Server Error"},
		{"custom 5xx", overloaded{}, 503, TypeServiceUnavailable, "Service Unavailable"},
		{"client error", described{}, 503, "Warming", "model is loading"},
		{"grpc status 4xx", status.Error(codes.NotFound, "no such item"), 404, TypeNotFound, "no such item"},
		{"grpc status 5xx", status.Error(codes.DataLoss, "disk 3 failed"), 500, TypeInternal, "Internal Server Error"},
		{"grpc status OK", okStatus{}, 500, TypeInternal, "Internal Server Error"},
		{"http and grpc", bothStatus{}, 409, TypeBadInput, "both"},
		{"status before context", fmt.Errorf("%w: %w", &teapot{"t"}, context.Canceled), 418, TypeBadInput, "t"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, typ, msg := Classify(tc.err)
			if st != tc.status || typ != tc.typ || msg != tc.msg {
				t.Errorf("Classify = %d %q %q, want %d %q %q", st, typ, msg, tc.status, tc.typ, tc.msg)
			}
		})
	}
}

func TestClip(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc..."},
		{"héllo", 2, "h..."}, // é is 2 bytes: never cut inside it
		{strings.Repeat("x", 300), 200, strings.Repeat("x", 200) + "..."},
	}
	for _, tc := range cases {
		if got := Clip(tc.in, tc.n); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

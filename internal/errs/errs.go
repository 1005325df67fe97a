// Package errs defines the one error type that crosses gobento's edges and
// maps errors to HTTP statuses and gRPC codes.
//
// The root package re-exports [Error] as bento.Error, so user code, the HTTP
// server and the gRPC server all agree on what a failure means without an
// import cycle.
package errs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
)

// Error is a failure with the status a client should see.
//
// Status is an HTTP status code; the gRPC server maps it with [GRPCCode].
// Type names the kind of error in the JSON body (`{"msg": ..., "type": ...}`),
// e.g. "BadInput". Msg is shown to the client; Err, if set, is the cause and is
// only logged.
type Error struct {
	Status int
	Type   string
	Msg    string
	Err    error
}

// Error returns Msg, followed by the cause when there is one.
func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Msg != "":
		return e.Msg + ": " + e.Err.Error()
	case e.Err != nil:
		return e.Err.Error()
	default:
		return e.Msg
	}
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error with a formatted message.
func New(status int, typ, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error whose message is err's text, with err as cause.
func Wrap(status int, typ string, err error) *Error {
	return &Error{Status: status, Type: typ, Msg: err.Error(), Err: err}
}

// Error types used in JSON bodies. They follow the exception names of
// BentoML, whose OpenAPI document advertises {msg, type} error objects.
const (
	TypeBadInput            = "BadInput"
	TypeNotFound            = "NotFound"
	TypeMethodNotAllowed    = "MethodNotAllowed"
	TypePayloadTooLarge     = "PayloadTooLarge"
	TypeUnsupportedMedia    = "UnsupportedMediaType"
	TypeUnprocessable       = "UnprocessableEntity"
	TypeTooManyRequests     = "TooManyRequests"
	TypeInternal            = "InternalServerError"
	TypeServiceUnavailable  = "ServiceUnavailable"
	TypeTimeout             = "Timeout"
	TypeClientClosedRequest = "ClientClosedRequest"
	TypeRequestTimeout      = "RequestTimeout"
)

// StatusClientClosed is recorded when the client went away before an answer
// (nginx's convention); nothing can be sent to that client.
const StatusClientClosed = 499

// genericInternal is the message clients see for unexpected errors; details
// go to the log only.
const genericInternal = "An error has occurred in user code when handling this request; see the server logs for details"

// Classify returns the public view of err: status, type and client-safe
// message. An *Error anywhere in the chain decides; context errors map to 504
// and 499; anything else is a 500 with a generic message.
func Classify(err error) (status int, typ, msg string) {
	var e *Error
	if errors.As(err, &e) {
		st, ty := e.Status, e.Type
		if st == 0 {
			st = http.StatusInternalServerError
		}
		if ty == "" {
			ty = typeFor(st)
		}
		if st >= 500 && e.Msg == "" {
			return st, ty, http.StatusText(st)
		}
		return st, ty, e.Msg
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, TypeTimeout, "Not able to process the request in time"
	case errors.Is(err, context.Canceled):
		return StatusClientClosed, TypeClientClosedRequest, "Request cancelled"
	}
	return http.StatusInternalServerError, TypeInternal, genericInternal
}

func typeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return TypeBadInput
	case http.StatusNotFound:
		return TypeNotFound
	case http.StatusMethodNotAllowed:
		return TypeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return TypePayloadTooLarge
	case http.StatusUnsupportedMediaType:
		return TypeUnsupportedMedia
	case http.StatusUnprocessableEntity:
		return TypeUnprocessable
	case http.StatusTooManyRequests:
		return TypeTooManyRequests
	case http.StatusServiceUnavailable:
		return TypeServiceUnavailable
	case http.StatusGatewayTimeout:
		return TypeTimeout
	case http.StatusRequestTimeout:
		return TypeRequestTimeout
	}
	if status >= 500 {
		return TypeInternal
	}
	return TypeBadInput
}

// GRPCCode maps an HTTP status to the gRPC code a gRPC client sees.
// It follows BentoML's servicer table (bentoml-compat §5.4) except that 404 is
// NOT_FOUND and 429 is RESOURCE_EXHAUSTED, so that [HTTPStatus] maps back.
func GRPCCode(status int) codes.Code {
	switch status {
	case http.StatusOK:
		return codes.OK
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusUnprocessableEntity:
		return codes.FailedPrecondition
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case StatusClientClosed:
		return codes.Canceled
	case http.StatusNotImplemented:
		return codes.Unimplemented
	}
	if status >= 500 {
		return codes.Internal
	}
	return codes.Unknown
}

// HTTPStatus maps a final gRPC code to the HTTP status recorded in the
// http_response_code label (bentoml-compat "Decisions").
func HTTPStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.InvalidArgument, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unimplemented, codes.NotFound:
		return http.StatusNotFound
	case codes.FailedPrecondition:
		return http.StatusUnprocessableEntity
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.Canceled:
		return StatusClientClosed
	}
	return http.StatusInternalServerError
}

// Clip shortens s to at most n bytes (cut at a rune boundary) followed by
// "...", for messages and log lines that quote client or user input, so
// that an error never echoes a large value back.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

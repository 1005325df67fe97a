package bento

import (
	"fmt"
	"net/http"

	"github.com/gobento/bento/internal/errs"
)

// Error is a failure with the HTTP status (and, over gRPC, the matching
// status code) a client should see. API and runner functions return one to
// pick the status; the server finds it anywhere in a wrapped error's chain.
// Any error without a status is a 500 with a generic message, and its text
// goes to the server log only.
//
// The HTTP body of every failure is the JSON object {"msg": ..., "type": ...}.
//
// Error is not the only way to choose a status: any error type with a method
// HTTPStatus() int chooses its HTTP status, and its gRPC code through the
// same table (400 → INVALID_ARGUMENT, 404 → NOT_FOUND, 429 →
// RESOURCE_EXHAUSTED, 503 → UNAVAILABLE, 504 → DEADLINE_EXCEEDED, ...); a 4xx
// of such a type shows its Error() text to the client, a 5xx the status
// text. Any error type with a method GRPCStatus() *status.Status (grpc-go's
// status errors) is sent over gRPC unchanged, and over HTTP with the status
// its code maps to.
type Error struct {
	// Status is the HTTP status, 400–599. A status outside that range (0
	// included) is answered as 500: a misuse is never a panic at request
	// time.
	Status int
	// Type names the kind of error in the JSON body, e.g. "BadInput"; ""
	// means the status's default name.
	Type string
	// Msg is the message the client sees, over HTTP and over gRPC. For a
	// 5xx an empty Msg shows the status text.
	Msg string
	// Err is the cause, if any. It is only logged, and errors.Is and
	// errors.As find it through Unwrap.
	Err error
}

// Error returns Msg, followed by the cause when there is one.
func (e *Error) Error() string { return errs.Message(e.Msg, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus returns Status, or 500 when Status is not between 400 and 599.
func (e *Error) HTTPStatus() int { return errs.ValidStatus(e.Status) }

// ClientError returns the "type" and "msg" the client sees: Type and Msg.
// The server fills an empty Type from the status, and an empty Msg of a 5xx
// with the status text.
func (e *Error) ClientError() (typ, msg string) { return e.Type, e.Msg }

var _ errs.ClientErrorer = (*Error)(nil)

// newError returns an *Error with a formatted message.
func newError(status int, typ, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Msg: fmt.Sprintf(format, args...)}
}

// BadInput returns a 400 error: the request could not be used.
// Its message, err's text, is shown to the client.
func BadInput(err error) *Error {
	return &Error{Status: http.StatusBadRequest, Type: errs.TypeBadInput, Msg: err.Error(), Err: err}
}

// BadInputf returns a 400 error with a formatted message.
func BadInputf(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, errs.TypeBadInput, format, args...)
}

// NotFound returns a 404 error, e.g. for an unknown item id.
func NotFound(format string, args ...any) *Error {
	return newError(http.StatusNotFound, errs.TypeNotFound, format, args...)
}

// Unprocessable returns a 422 error: the input is well-formed but cannot be
// processed.
func Unprocessable(format string, args ...any) *Error {
	return newError(http.StatusUnprocessableEntity, errs.TypeUnprocessable, format, args...)
}

// Unavailable returns a 503 error: try again later.
func Unavailable(format string, args ...any) *Error {
	return newError(http.StatusServiceUnavailable, errs.TypeServiceUnavailable, format, args...)
}

// Internal returns a 500 error whose message is shown to the client. Use it
// only for messages that are safe to show; a plain error gives a 500 with a
// generic message instead.
func Internal(format string, args ...any) *Error {
	return newError(http.StatusInternalServerError, errs.TypeInternal, format, args...)
}

// StatusError returns an error with any HTTP status between 400 and 599.
//
// It never panics. A status outside that range is a programming error that
// must not take a request down: the error is then a 500 whose client message
// is the status text, and whose cause (in the server log with every 5xx)
// names the bad status and carries the message.
func StatusError(status int, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if status < 400 || status > 599 {
		return &Error{Status: http.StatusInternalServerError, Type: errs.TypeInternal,
			Err: fmt.Errorf("bento: StatusError(%d, %q): %d is not an error status (400-599)", status, msg, status)}
	}
	return &Error{Status: status, Msg: msg}
}

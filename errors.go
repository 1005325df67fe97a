package bento

import (
	"fmt"
	"net/http"

	"github.com/gobento/bento/internal/errs"
)

// Error is a failure with the HTTP status (and, over gRPC, the matching
// status code) a client should see. API and runner functions return one to
// pick the status; any other error is a 500 with a generic message, and its
// text goes to the server log only.
//
// The HTTP body of every failure is the JSON object {"msg": Msg, "type": Type}.
type Error = errs.Error

// BadInput returns a 400 error: the request could not be used.
// Its message is shown to the client.
func BadInput(err error) *Error { return errs.Wrap(http.StatusBadRequest, errs.TypeBadInput, err) }

// BadInputf returns a 400 error with a formatted message.
func BadInputf(format string, args ...any) *Error {
	return errs.New(http.StatusBadRequest, errs.TypeBadInput, format, args...)
}

// NotFound returns a 404 error, e.g. for an unknown item id.
func NotFound(format string, args ...any) *Error {
	return errs.New(http.StatusNotFound, errs.TypeNotFound, format, args...)
}

// Unprocessable returns a 422 error: the input is well-formed but cannot be
// processed.
func Unprocessable(format string, args ...any) *Error {
	return errs.New(http.StatusUnprocessableEntity, errs.TypeUnprocessable, format, args...)
}

// Unavailable returns a 503 error: try again later.
func Unavailable(format string, args ...any) *Error {
	return errs.New(http.StatusServiceUnavailable, errs.TypeServiceUnavailable, format, args...)
}

// Internal returns a 500 error whose message is shown to the client. Use it
// only for messages that are safe to show; a plain error gives a 500 with a
// generic message instead.
func Internal(format string, args ...any) *Error {
	return errs.New(http.StatusInternalServerError, errs.TypeInternal, format, args...)
}

// StatusError returns an error with any HTTP status between 400 and 599.
func StatusError(status int, format string, args ...any) *Error {
	if status < 400 || status > 599 {
		panic(fmt.Sprintf("bento: StatusError: status %d is not an error status", status))
	}
	return errs.New(status, "", format, args...)
}

package errs

import (
	"fmt"
	"net/http"
)

// Error is the error gobento's own internal packages (the IO codecs) return
// for a request they refuse: the status, the JSON "type" and the message the
// client sees, and the cause, only logged. It is classified like any error
// with a status ([HTTPStatuser], [ClientErrorer]). Users' code returns
// bento.Error, its public twin, which the root package owns.
type Error struct {
	Status int
	Type   string
	Msg    string
	Err    error
}

// Error returns Msg, followed by the cause when there is one.
func (e *Error) Error() string { return Message(e.Msg, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus returns Status, or 500 outside 400–599.
func (e *Error) HTTPStatus() int { return ValidStatus(e.Status) }

// ClientError returns the "type" and "msg" the client sees.
func (e *Error) ClientError() (typ, msg string) { return e.Type, e.Msg }

// New returns an *Error with a formatted message.
func New(status int, typ, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Msg: fmt.Sprintf(format, args...)}
}

// Message is the text of an error with a client message and a cause: the
// message, then the cause, either alone when the other is empty.
func Message(msg string, cause error) string {
	switch {
	case cause != nil && msg != "":
		return msg + ": " + cause.Error()
	case cause != nil:
		return cause.Error()
	default:
		return msg
	}
}

// ValidStatus is status when it is an error status (400–599), else 500: a
// misuse is never a panic at request time.
func ValidStatus(status int) int {
	if status < 400 || status > 599 {
		return http.StatusInternalServerError
	}
	return status
}

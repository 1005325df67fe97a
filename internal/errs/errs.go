// Package errs decides what a client is told about a failure: the HTTP
// status, the gRPC code, the "type" and "msg" of the JSON error body, and
// which of them are server faults to log.
//
// It knows no error type of its own. An error chooses its status by
// implementing [HTTPStatuser] (bento.Error does, and so may any user type),
// or its gRPC status by implementing [GRPCStatuser]; one [table] maps HTTP
// statuses and gRPC codes to each other in both directions.
package errs

import (
	"context"
	"errors"
	"net/http"
	"unicode/utf8"

	"google.golang.org/grpc/status"
)

// HTTPStatuser is implemented by errors that choose the HTTP status a
// client sees (over gRPC, the code [GRPCCode] maps it to). A status outside
// 400–599 is answered as 500.
type HTTPStatuser interface {
	error
	HTTPStatus() int
}

// ClientErrorer is implemented by errors that choose, besides their status,
// the "type" and "msg" of the JSON error body; an empty type means the
// status's default ([TypeFor]), an empty message of a 5xx means the status
// text.
type ClientErrorer interface {
	HTTPStatuser
	ClientError() (typ, msg string)
}

// GRPCStatuser is implemented by errors that carry their own gRPC status,
// as grpc-go's status errors do. The gRPC server sends it unchanged; over
// HTTP its code is mapped with [HTTPStatus].
type GRPCStatuser interface {
	error
	GRPCStatus() *status.Status
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

// GenericInternal is the message clients see for unexpected errors and
// panics; details go to the log only.
const GenericInternal = "An error has occurred in user code when handling this request; see the server logs for details"

// Classify returns the public view of err: status, type and client-safe
// message. The first error in err's tree (in the order of errors.As) that
// implements [HTTPStatuser] or [GRPCStatuser] decides; then context errors
// map to 504 and 499; anything else is a 500 with [GenericInternal].
//
// A 5xx shows only a message its error chose with [ClientErrorer] (as
// bento.Error does), else the status text: the text of an arbitrary error
// may hold internal details.
func Classify(err error) (status int, typ, msg string) {
	switch x := Find(err).(type) {
	case HTTPStatuser:
		return classifyHTTP(x)
	case GRPCStatuser:
		s := x.GRPCStatus()
		st := HTTPStatus(s.Code())
		if s.Code() == 0 { // an error with status OK is a bug: a 500
			st = http.StatusInternalServerError
		}
		msg = http.StatusText(st)
		if st < 500 {
			msg = s.Message()
		}
		return st, TypeFor(st), msg
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, TypeTimeout, "Not able to process the request in time"
	case errors.Is(err, context.Canceled):
		return StatusClientClosed, TypeClientClosedRequest, "Request cancelled"
	}
	return http.StatusInternalServerError, TypeInternal, GenericInternal
}

func classifyHTTP(e HTTPStatuser) (status int, typ, msg string) {
	st := e.HTTPStatus()
	if st < 400 || st > 599 {
		st = http.StatusInternalServerError
	}
	if c, ok := e.(ClientErrorer); ok {
		typ, msg = c.ClientError()
	} else if st < 500 {
		msg = e.Error()
	}
	if typ == "" {
		typ = TypeFor(st)
	}
	if st >= 500 && msg == "" {
		msg = http.StatusText(st)
	}
	return st, typ, msg
}

// Find returns the first error in err's tree, in the order errors.As
// walks it, that implements [HTTPStatuser] or [GRPCStatuser], or nil.
func Find(err error) error {
	for err != nil {
		switch x := err.(type) {
		case HTTPStatuser, GRPCStatuser:
			return err
		case interface{ Unwrap() error }:
			err = x.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				if f := Find(e); f != nil {
					return f
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
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

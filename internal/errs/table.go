package errs

import (
	"net/http"

	"google.golang.org/grpc/codes"
)

// direction says which way a [table] row maps.
type direction uint8

const (
	both   direction = iota
	toGRPC           // HTTP status → gRPC code only: another status is the code's inverse
	toHTTP           // gRPC code → HTTP status only: another code is the status's inverse
)

// row is one line of the status table.
type row struct {
	status int
	code   codes.Code
	typ    string // JSON "type" of the status; "" means the default of TypeFor
	dir    direction
}

// table is the one mapping between HTTP statuses, gRPC codes and JSON error
// types. It follows BentoML's servicer table (bentoml-compat §5.4) except
// that 404 is NOT_FOUND and 429 is RESOURCE_EXHAUSTED, so that every row
// marked both maps back to itself. Statuses not listed map to INTERNAL
// (5xx) or UNKNOWN; codes not listed map to 500.
var table = [...]row{
	{http.StatusOK, codes.OK, "", both},
	{http.StatusBadRequest, codes.InvalidArgument, TypeBadInput, both},
	{http.StatusBadRequest, codes.OutOfRange, "", toHTTP},
	{http.StatusUnauthorized, codes.Unauthenticated, "", both},
	{http.StatusForbidden, codes.PermissionDenied, "", both},
	{http.StatusNotFound, codes.NotFound, TypeNotFound, both},
	{http.StatusNotFound, codes.Unimplemented, "", toHTTP},
	{http.StatusMethodNotAllowed, codes.Unknown, TypeMethodNotAllowed, toGRPC},
	{http.StatusRequestTimeout, codes.Unknown, TypeRequestTimeout, toGRPC},
	{http.StatusRequestEntityTooLarge, codes.ResourceExhausted, TypePayloadTooLarge, toGRPC},
	{http.StatusUnsupportedMediaType, codes.InvalidArgument, TypeUnsupportedMedia, toGRPC},
	{http.StatusUnprocessableEntity, codes.FailedPrecondition, TypeUnprocessable, both},
	{http.StatusTooManyRequests, codes.ResourceExhausted, TypeTooManyRequests, both},
	{StatusClientClosed, codes.Canceled, TypeClientClosedRequest, both},
	{http.StatusInternalServerError, codes.Internal, TypeInternal, both},
	{http.StatusNotImplemented, codes.Unimplemented, "", toGRPC},
	{http.StatusBadGateway, codes.Unavailable, "", toGRPC},
	{http.StatusServiceUnavailable, codes.Unavailable, TypeServiceUnavailable, both},
	{http.StatusGatewayTimeout, codes.DeadlineExceeded, TypeTimeout, both},
}

// Lookup arrays built from table: byStatus[s] and byCode[c] are 1 + the
// index of the row for status s or code c (0: none).
var (
	byStatus [600]uint8
	byCode   [codes.Unauthenticated + 1]uint8
)

func init() {
	for i, r := range table {
		if r.dir != toHTTP {
			byStatus[r.status] = uint8(i + 1)
		}
		if r.dir != toGRPC {
			byCode[r.code] = uint8(i + 1)
		}
	}
}

func statusRow(status int) (row, bool) {
	if status < 0 || status >= len(byStatus) || byStatus[status] == 0 {
		return row{}, false
	}
	return table[byStatus[status]-1], true
}

// GRPCCode maps an HTTP status to the gRPC code a gRPC client sees.
func GRPCCode(status int) codes.Code {
	if r, ok := statusRow(status); ok {
		return r.code
	}
	if status >= 500 {
		return codes.Internal
	}
	return codes.Unknown
}

// HTTPStatus maps a final gRPC code to an HTTP status: the status an error
// carrying its own gRPC status gets over HTTP, and the one recorded in the
// http_response_code label of gRPC traffic (bentoml-compat "Decisions").
func HTTPStatus(c codes.Code) int {
	if int(c) < len(byCode) && byCode[c] != 0 {
		return table[byCode[c]-1].status
	}
	return http.StatusInternalServerError
}

// TypeFor is the JSON error "type" of a status: its name in the table, or
// InternalServerError for another 5xx and BadInput for another status.
func TypeFor(status int) string {
	if r, ok := statusRow(status); ok && r.typ != "" {
		return r.typ
	}
	if status >= 500 {
		return TypeInternal
	}
	return TypeBadInput
}

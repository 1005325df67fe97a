package bento_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento"
	"github.com/gobento/bento/internal/pb"
)

// quotaError is a user's own error type: it chooses its HTTP status, and
// with it its gRPC code, without being wrapped in a bento.Error.
type quotaError struct{ user string }

func (e *quotaError) Error() string   { return "quota exceeded for " + e.user }
func (e *quotaError) HTTPStatus() int { return http.StatusTooManyRequests }

// outageError chooses a 5xx: its text (an internal address) stays in the log.
type outageError struct{}

func (outageError) Error() string   { return "feature store at 10.1.2.3 unreachable" }
func (outageError) HTTPStatus() int { return http.StatusServiceUnavailable }

// grpcNativeError carries its own gRPC status and an HTTP status: gRPC
// takes the first, HTTP the second.
type grpcNativeError struct{}

func (grpcNativeError) Error() string   { return "gone for good" }
func (grpcNativeError) HTTPStatus() int { return http.StatusGone }
func (grpcNativeError) GRPCStatus() *status.Status {
	return status.New(codes.FailedPrecondition, "gone for good (grpc)")
}

// errorService has one API per way of choosing a status.
func errorService(t *testing.T) *bento.Service {
	t.Helper()
	svc := bento.NewService("errors")
	api := func(name string, err error) {
		bento.API(svc, name, bento.Text(), bento.Text(), func(context.Context, string) (string, error) { return "", err })
	}
	api("quota", fmt.Errorf("checking quota: %w", &quotaError{user: "ann"}))
	api("outage", outageError{})
	api("grpc_status", status.Error(codes.NotFound, "no such model"))
	api("grpc_native", grpcNativeError{})
	api("status_302", bento.StatusError(302, "moved"))
	api("status_700", &bento.Error{Status: 700, Msg: "seven hundred"})
	api("not_found", bento.NotFound("no item %d", 7))
	return svc
}

func TestUserErrorStatus(t *testing.T) {
	cases := []struct {
		api      string
		status   int
		typ      string
		msg      string // exact message over HTTP; "" means not checked
		code     codes.Code
		grpcMsg  string
		noDetail string // text that must reach neither client
	}{
		{api: "quota", status: 429, typ: "TooManyRequests", msg: "quota exceeded for ann",
			code: codes.ResourceExhausted, grpcMsg: "quota exceeded for ann"},
		{api: "outage", status: 503, typ: "ServiceUnavailable", msg: "Service Unavailable",
			code: codes.Unavailable, grpcMsg: "Service Unavailable", noDetail: "10.1.2.3"},
		{api: "grpc_status", status: 404, typ: "NotFound", msg: "no such model",
			code: codes.NotFound, grpcMsg: "no such model"},
		{api: "grpc_native", status: 410, typ: "BadInput", msg: "gone for good",
			code: codes.FailedPrecondition, grpcMsg: "gone for good (grpc)"},
		{api: "status_302", status: 500, typ: "InternalServerError", msg: "Internal Server Error",
			code: codes.Internal, grpcMsg: "Internal Server Error", noDetail: "moved"},
		{api: "status_700", status: 500, typ: "InternalServerError", msg: "seven hundred",
			code: codes.Internal, grpcMsg: "seven hundred"},
		{api: "not_found", status: 404, typ: "NotFound", msg: "no item 7",
			code: codes.NotFound, grpcMsg: "no item 7"},
	}
	svc := errorService(t)
	hs := startHTTP(t, svc, nil)
	_, gc, _ := startGRPC(t, errorService(t), nil)
	for _, tc := range cases {
		t.Run(tc.api+"/http", func(t *testing.T) {
			r := post(t, hs.URL()+"/"+tc.api, "text/plain", "x")
			body := r.json(t)
			if r.status != tc.status || body["type"] != tc.typ || body["msg"] != tc.msg {
				t.Fatalf("got %d %s, want %d type %q msg %q", r.status, r.body, tc.status, tc.typ, tc.msg)
			}
			if tc.noDetail != "" && strings.Contains(string(r.body), tc.noDetail) {
				t.Fatalf("body %s shows %q", r.body, tc.noDetail)
			}
		})
		t.Run(tc.api+"/grpc", func(t *testing.T) {
			_, err := gc.Call(context.Background(), &pb.Request{ApiName: tc.api,
				Content: &pb.Request_Text{Text: wrapperspb.String("x")}})
			st, _ := status.FromError(err)
			if st.Code() != tc.code || st.Message() != tc.grpcMsg {
				t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), tc.code, tc.grpcMsg)
			}
			if tc.noDetail != "" && strings.Contains(st.Message(), tc.noDetail) {
				t.Fatalf("message %q shows %q", st.Message(), tc.noDetail)
			}
		})
	}
}

// TestErrorFields: bento.Error is a plain struct, found through wrapping,
// and StatusError never panics.
func TestErrorFields(t *testing.T) {
	err := fmt.Errorf("api: %w", bento.NotFound("no item %d", 7))
	var e *bento.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Type != "NotFound" || e.Msg != "no item 7" || e.HTTPStatus() != 404 {
		t.Fatalf("errors.As: %+v", e)
	}
	cases := []struct {
		status, want int
	}{{400, 400}, {599, 599}, {399, 500}, {0, 500}, {200, 500}, {600, 500}, {-1, 500}}
	for _, tc := range cases {
		e := bento.StatusError(tc.status, "m")
		if e.HTTPStatus() != tc.want {
			t.Errorf("StatusError(%d).HTTPStatus() = %d, want %d", tc.status, e.HTTPStatus(), tc.want)
		}
		if tc.want != tc.status && !strings.Contains(e.Error(), fmt.Sprint(tc.status)) {
			t.Errorf("StatusError(%d): error %q does not name the bad status", tc.status, e.Error())
		}
	}
}

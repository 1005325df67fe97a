package bento_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento"
	"github.com/gobento/bento/internal/pb"
)

// Where an API call's time goes: the request and response body sizes and
// the decode and encode times of every call that answered, per API.
func TestAPIPhaseMetrics(t *testing.T) {
	svc := bento.NewService("phases")
	bento.API(svc, "upper", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) {
		if s == "fail" {
			return "", bento.BadInputf("no")
		}
		return strings.ToUpper(s) + "!", nil
	})
	srv := startHTTPWith(t, svc, nil, quietLogger(t))
	for _, body := range []string{"hello", "hello world"} {
		if st, got, err := relSend(http.DefaultClient, "POST", srv.URL()+"/upper", "text/plain", []byte(body)); err != nil || st != 200 || string(got) != strings.ToUpper(body)+"!" {
			t.Fatalf("upper(%q): %d %q %v", body, st, got, err)
		}
	}
	if st, _, _ := relSend(http.DefaultClient, "POST", srv.URL()+"/upper", "text/plain", []byte("fail")); st != 400 { // not a call that answered
		t.Fatalf("fail: %d, want 400", st)
	}
	fams := relSettledScrape(t, srv.MetricsURL())
	api := map[string]string{"endpoint": "/upper"}
	for _, c := range []struct {
		family     string
		count, sum float64 // sum < 0: only positive
	}{
		{"gobento_api_request_body_bytes", 2, 16},
		{"gobento_api_response_body_bytes", 2, 18},
		{"gobento_api_decode_duration_seconds", 2, -1},
		{"gobento_api_encode_duration_seconds", 2, -1},
	} {
		f, ok := fams[c.family]
		if !ok {
			t.Errorf("no %s family", c.family)
			continue
		}
		found := false
		for _, m := range f.GetMetric() {
			if relLabels(m)["endpoint"] != api["endpoint"] {
				continue
			}
			found = true
			h := m.GetHistogram()
			if float64(h.GetSampleCount()) != c.count || (c.sum >= 0 && h.GetSampleSum() != c.sum) || (c.sum < 0 && h.GetSampleSum() <= 0) {
				t.Errorf("%s{endpoint=/upper}: count %d sum %v, want %v and %v", c.family, h.GetSampleCount(), h.GetSampleSum(), c.count, c.sum)
			}
		}
		if !found {
			t.Errorf("%s has no endpoint=/upper series", c.family)
		}
	}
}

// The same over gRPC: request and response message sizes, decode and
// encode times, per api_name.
func TestAPIPhaseMetricsGRPC(t *testing.T) {
	svc := bento.NewService("phases_grpc")
	bento.API(svc, "upper", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	})
	srv, c := relStartGRPC(t, svc, nil)
	for range 3 {
		resp, err := c.Call(context.Background(), &pb.Request{ApiName: "upper", Content: &pb.Request_Text{Text: wrapperspb.String("hello")}})
		if err != nil || resp.GetText().GetValue() != "HELLO" {
			t.Fatalf("upper: %v %v", resp, err)
		}
	}
	fams := relSettledScrape(t, srv.MetricsURL())
	for _, family := range []string{"gobento_api_request_body_bytes", "gobento_api_response_body_bytes", "gobento_api_decode_duration_seconds", "gobento_api_encode_duration_seconds"} {
		var count uint64
		var sum float64
		for _, m := range fams[family].GetMetric() {
			if relLabels(m)["api_name"] == "upper" {
				count, sum = m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
			}
		}
		if count != 3 || sum <= 0 {
			t.Errorf("%s{api_name=upper}: count %d sum %v, want 3 calls", family, count, sum)
		}
	}
}

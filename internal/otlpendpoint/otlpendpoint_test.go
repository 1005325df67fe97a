package otlpendpoint

import "testing"

func TestGRPC(t *testing.T) {
	for _, c := range []struct {
		in             string
		insecure       bool
		hostport       string
		plain, wantErr bool
	}{
		{"collector:4317", false, "collector:4317", false, false},
		{"collector:4317", true, "collector:4317", true, false},
		{"http://collector:4317", false, "collector:4317", true, false},
		{"https://collector:4317", false, "collector:4317", false, false},
		{"collector", false, "", false, true},
		{"http://", false, "", false, true},
	} {
		hp, plain, err := GRPC(c.in, c.insecure)
		if (err != nil) != c.wantErr || hp != c.hostport || plain != c.plain {
			t.Errorf("GRPC(%q, %v) = %q, %v, %v", c.in, c.insecure, hp, plain, err)
		}
	}
}

func TestHTTP(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://c:4318", "http://c:4318/v1/traces"},
		{"http://c:4318/", "http://c:4318/v1/traces"},
		{"https://c/otlp/v1/traces", "https://c/otlp/v1/traces"},
		{"c:4318", "http://c:4318/v1/traces"},
	} {
		if got, err := HTTP(c.in, "/v1/traces"); err != nil || got != c.want {
			t.Errorf("HTTP(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := HTTP("http://", "/v1/traces"); err == nil {
		t.Error("HTTP(http://) accepted")
	}
}

package bento_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobento/bento"
)

type point struct {
	X int `json:"x"`
	Y int `json:"y"`
}

// kitchenSink is a service with one API per descriptor and one per failure.
func kitchenSink(t testing.TB) *bento.Service {
	t.Helper()
	svc := bento.NewService("kitchen_sink", bento.Version("1.2.3"))
	r := bento.NewRunner(svc, "upper", func() (func(string) string, error) { return strings.ToUpper, nil })
	upper := bento.Method(r, "upper", func(f func(string) string, _ context.Context, s string) (string, error) {
		if s == "model-panic" {
			panic("model exploded")
		}
		if s == "model-bad" {
			return "", bento.BadInputf("the model refuses %q", s)
		}
		return f(s), nil
	})
	bento.API(svc, "echo", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) { return s, nil })
	bento.API(svc, "shout", bento.Text(), bento.Text(), func(ctx context.Context, s string) (string, error) {
		return upper.Run(ctx, s)
	}, bento.Route("/v1/shout"))
	bento.API(svc, "point", bento.JSON[point](), bento.JSON[point](), func(_ context.Context, p point) (point, error) {
		return point{X: p.Y, Y: p.X}, nil
	})
	bento.API(svc, "strict_point", bento.JSON[point](bento.Strict()), bento.JSON[point](), func(_ context.Context, p point) (point, error) {
		return p, nil
	})
	bento.API(svc, "sum", bento.NDArray[[][]float64](bento.Shape(-1, 2)), bento.NDArray[[]float64](),
		func(_ context.Context, rows [][]float64) ([]float64, error) {
			out := make([]float64, len(rows))
			for i, r := range rows {
				out[i] = r[0] + r[1]
			}
			return out, nil
		})
	bento.API(svc, "size", bento.Image(), bento.JSON[map[string]int](), func(_ context.Context, img image.Image) (map[string]int, error) {
		b := img.Bounds()
		return map[string]int{"w": b.Dx(), "h": b.Dy()}, nil
	})
	bento.API(svc, "file_len", bento.File(), bento.JSON[map[string]any](), func(_ context.Context, f bento.FileData) (map[string]any, error) {
		return map[string]any{"name": f.Name, "len": len(f.Data)}, nil
	})
	bento.API(svc, "form", bento.Multipart(bento.Field("note", bento.Text()), bento.Field("pt", bento.JSON[point]())),
		bento.JSON[map[string]any](), func(_ context.Context, p bento.Parts) (map[string]any, error) {
			note, err := bento.PartValue[string](p, "note")
			if err != nil {
				return nil, err
			}
			pt, err := bento.PartValue[point](p, "pt")
			if err != nil {
				return nil, err
			}
			return map[string]any{"note": note, "x": pt.X}, nil
		})
	bento.API(svc, "fail", bento.Text(), bento.Text(), func(_ context.Context, s string) (string, error) {
		switch s {
		case "bad":
			return "", bento.BadInputf("bad input %q", s)
		case "missing":
			return "", bento.NotFound("no item %q", s)
		case "busy":
			return "", bento.Unavailable("try later")
		case "secret":
			return "", errors.New("database password is hunter2")
		case "panic":
			panic("user code panicked")
		}
		return s, nil
	})
	bento.API(svc, "slow", bento.Text(), bento.Text(), func(ctx context.Context, s string) (string, error) {
		ignore := strings.HasPrefix(s, "ignore:")
		d, err := time.ParseDuration(strings.TrimPrefix(s, "ignore:"))
		if err != nil {
			return "", bento.BadInput(err)
		}
		if ignore {
			time.Sleep(d)
			return s, nil
		}
		select {
		case <-time.After(d):
			return s, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	return svc
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	img.Set(1, 1, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func multipartBody(t testing.TB, parts map[string]string, files map[string][]byte) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range parts {
		mw.WriteField(k, v)
	}
	for k, v := range files {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename="%s.png"`, k, k)}
		h["Content-Type"] = []string{"image/png"}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(v)
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func TestAPIs(t *testing.T) {
	cfg := testConfig(t)
	cfg.APIServer.Traffic.Timeout = 0.3
	srv := startHTTP(t, kitchenSink(t), cfg)
	u := srv.URL()
	png4x3 := pngBytes(t, 4, 3)
	formCT, formBody := multipartBody(t, map[string]string{"note": "hi", "pt": `{"x":7,"y":1}`}, nil)
	imgCT, imgBody := multipartBody(t, nil, map[string][]byte{"anyname": png4x3})
	tests := []struct {
		name, path, ct, body string
		rawBody              []byte
		status               int
		wantBody             string // exact body for 200s
		wantType             string // error type for failures
	}{
		{name: "text echo", path: "/echo", ct: "text/plain", body: "héllo", status: 200, wantBody: "héllo"},
		{name: "text invalid utf8", path: "/echo", ct: "text/plain", rawBody: []byte{0xff, 0xfe}, status: 400, wantType: "BadInput"},
		{name: "custom route through runner", path: "/v1/shout", ct: "text/plain", body: "abc", status: 200, wantBody: "ABC"},
		{name: "json", path: "/point", ct: "application/json", body: `{"x":1,"y":2}`, status: 200, wantBody: `{"x":2,"y":1}`},
		{name: "json unknown field ignored", path: "/point", body: `{"x":1,"y":2,"z":3}`, status: 200, wantBody: `{"x":2,"y":1}`},
		{name: "json strict unknown field", path: "/strict_point", body: `{"x":1,"z":3}`, status: 400, wantType: "BadInput"},
		{name: "json malformed", path: "/point", body: `{"x":`, status: 400, wantType: "BadInput"},
		{name: "json trailing garbage", path: "/point", body: `{"x":1} {}`, status: 400, wantType: "BadInput"},
		{name: "json wrong type", path: "/point", body: `{"x":"one"}`, status: 400, wantType: "BadInput"},
		{name: "ndarray", path: "/sum", ct: "application/json", body: `[[1,2],[3.5,4]]`, status: 200, wantBody: `[3,7.5]`},
		{name: "ndarray wrong width", path: "/sum", body: `[[1,2,3]]`, status: 400, wantType: "BadInput"},
		{name: "ndarray ragged", path: "/sum", body: `[[1,2],[3]]`, status: 400, wantType: "BadInput"},
		{name: "ndarray not numbers", path: "/sum", body: `[["a","b"]]`, status: 400, wantType: "BadInput"},
		{name: "image raw png", path: "/size", ct: "image/png", rawBody: png4x3, status: 200, wantBody: `{"h":3,"w":4}`},
		{name: "image multipart any field", path: "/size", ct: imgCT, rawBody: imgBody, status: 200, wantBody: `{"h":3,"w":4}`},
		{name: "image garbage", path: "/size", ct: "image/png", body: "not a png", status: 400, wantType: "BadInput"},
		{name: "image multipart without image", path: "/size", ct: formCT, rawBody: formBody, status: 400, wantType: "BadInput"},
		{name: "image wrong content type", path: "/size", ct: "text/plain", body: "hello", status: 415, wantType: "UnsupportedMediaType"},
		{name: "file raw", path: "/file_len", ct: "application/octet-stream", body: "12345", status: 200, wantBody: `{"len":5,"name":""}`},
		{name: "file multipart", path: "/file_len", ct: imgCT, rawBody: imgBody, status: 200, wantBody: fmt.Sprintf(`{"len":%d,"name":"anyname.png"}`, len(png4x3))},
		{name: "multipart", path: "/form", ct: formCT, rawBody: formBody, status: 200, wantBody: `{"note":"hi","x":7}`},
		{name: "multipart wrong content type", path: "/form", ct: "application/json", body: "{}", status: 415, wantType: "UnsupportedMediaType"},
		{name: "multipart missing field", path: "/form", ct: imgCT, rawBody: imgBody, status: 400, wantType: "BadInput"},
		{name: "user BadInput", path: "/fail", body: "bad", status: 400, wantType: "BadInput"},
		{name: "user NotFound", path: "/fail", body: "missing", status: 404, wantType: "NotFound"},
		{name: "user Unavailable", path: "/fail", body: "busy", status: 503, wantType: "ServiceUnavailable"},
		{name: "user plain error is a generic 500", path: "/fail", body: "secret", status: 500, wantType: "InternalServerError"},
		{name: "user panic", path: "/fail", body: "panic", status: 500, wantType: "InternalServerError"},
		{name: "model BadInput passes through", path: "/v1/shout", body: "model-bad", status: 400, wantType: "BadInput"},
		{name: "model panic", path: "/v1/shout", body: "model-panic", status: 500, wantType: "InternalServerError"},
		{name: "timeout honoured by ctx", path: "/slow", body: "2s", status: 504, wantType: "Timeout"},
		{name: "timeout ignored by user code", path: "/slow", body: "ignore:1s", status: 504, wantType: "Timeout"},
		{name: "slow but in time", path: "/slow", body: "10ms", status: 200, wantBody: "10ms"},
		{name: "unknown route", path: "/nope", body: "x", status: 404, wantType: "NotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.rawBody
			if body == nil {
				body = []byte(tc.body)
			}
			resp := do(t, http.MethodPost, u+tc.path, tc.ct, body)
			if resp.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.status, tc.status, resp.body)
			}
			if resp.header.Get("X-BentoML-Request-ID") == "" {
				t.Error("no X-BentoML-Request-ID header")
			}
			if tc.status == 200 {
				if string(resp.body) != tc.wantBody {
					t.Errorf("body %q, want %q", resp.body, tc.wantBody)
				}
				return
			}
			if ct := resp.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("error content type %q", ct)
			}
			m := resp.json(t)
			if m["type"] != tc.wantType {
				t.Errorf("type %v, want %s (msg %v)", m["type"], tc.wantType, m["msg"])
			}
			if msg, _ := m["msg"].(string); msg == "" || strings.Contains(msg, "hunter2") || strings.Contains(msg, "exploded") {
				t.Errorf("msg %q is empty or leaks internals", msg)
			}
		})
	}
	t.Run("user code ignoring ctx gets 504 at the deadline", func(t *testing.T) {
		start := time.Now()
		resp := post(t, u+"/slow", "", "ignore:2s")
		if resp.status != 504 {
			t.Fatalf("status %d", resp.status)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("504 took %v, want about the 300ms timeout", el)
		}
	})
}

func TestBuiltinRoutes(t *testing.T) {
	srv := startHTTP(t, kitchenSink(t), nil)
	u := srv.URL()
	for _, tc := range []struct {
		method, path string
		status       int
		contains     string
	}{
		{"GET", "/healthz", 200, "\n"},
		{"GET", "/livez", 200, "\n"},
		{"HEAD", "/livez", 200, ""},
		{"GET", "/readyz", 200, "\n"},
		{"GET", "/metrics", 200, "bentoml_api_server_request_total"},
		{"GET", "/docs.json", 200, `"openapi": "3.0.2"`},
		{"GET", "/", 200, "POST /v1/shout"},
		{"POST", "/healthz", 405, "MethodNotAllowed"},
		{"GET", "/echo", 405, "MethodNotAllowed"},
		{"GET", "/does/not/exist", 404, "NotFound"},
		{"GET", "/../../etc/passwd", 404, "NotFound"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp := do(t, tc.method, u+tc.path, "", nil)
			if resp.status != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.status, tc.status, resp.body)
			}
			if !strings.Contains(string(resp.body), tc.contains) {
				t.Errorf("body does not contain %q: %.300s", tc.contains, resp.body)
			}
			if resp.header.Get("X-BentoML-Request-ID") == "" {
				t.Error("missing request id")
			}
			if tc.status == 405 && resp.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestOpenAPIDocument(t *testing.T) {
	srv := startHTTP(t, kitchenSink(t), nil)
	doc := do(t, "GET", srv.URL()+"/docs.json", "", nil).json(t)
	if doc["openapi"] != "3.0.2" {
		t.Fatalf("openapi %v", doc["openapi"])
	}
	info := doc["info"].(map[string]any)
	if info["title"] != "kitchen_sink" || info["version"] != "1.2.3" {
		t.Errorf("info %v", info)
	}
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/echo", "/v1/shout", "/point", "/sum", "/size", "/file_len", "/form", "/healthz", "/livez", "/readyz", "/metrics"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("path %s missing", p)
		}
	}
	post := paths["/point"].(map[string]any)["post"].(map[string]any)
	reqContent := post["requestBody"].(map[string]any)["content"].(map[string]any)
	if _, ok := reqContent["application/json"]; !ok {
		t.Errorf("point request content %v", reqContent)
	}
	responses := post["responses"].(map[string]any)
	for _, code := range []string{"200", "400", "413", "429", "500", "503", "504"} {
		if _, ok := responses[code]; !ok {
			t.Errorf("response %s not documented", code)
		}
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	if _, ok := schemas["Error"]; !ok {
		t.Error("Error schema missing")
	}
	// every $ref resolves
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				name := strings.TrimPrefix(ref, "#/components/schemas/")
				if _, ok := schemas[name]; !ok {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			for _, vv := range x {
				walk(vv)
			}
		case []any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	walk(doc)
}

// TestOpenAPIBentoMLExtensions checks the extensions BentoML's HTTP clients
// read from /docs.json (Client.from_url): x-bentoml-name on every API
// operation, and x-bentoml-io-descriptor, the descriptor's to_spec(), on its
// requestBody and 200 response.
func TestOpenAPIBentoMLExtensions(t *testing.T) {
	srv := startHTTP(t, kitchenSink(t), nil)
	doc := do(t, "GET", srv.URL()+"/docs.json", "", nil).json(t)
	paths := doc["paths"].(map[string]any)
	cases := []struct {
		path, name string
		in, out    string // JSON of the specs
	}{
		{"/echo", "echo", `{"id":"bentoml.io.Text"}`, `{"id":"bentoml.io.Text"}`},
		{"/point", "point", `{"args":{"has_json_encoder":false,"has_pydantic_model":false},"id":"bentoml.io.JSON"}`, `{"args":{"has_json_encoder":false,"has_pydantic_model":false},"id":"bentoml.io.JSON"}`},
		{"/sum", "sum", `{"args":{"dtype":"float64","enforce_dtype":false,"enforce_shape":true,"shape":[-1,2]},"id":"bentoml.io.NumpyNdarray"}`, `{"args":{"dtype":"float64","enforce_dtype":false,"enforce_shape":false,"shape":null},"id":"bentoml.io.NumpyNdarray"}`},
		{"/size", "size", `{"args":{"allowed_mime_types":["image/png","image/jpeg","image/gif"],"mime_type":"image/png","pilmode":"RGB"},"id":"bentoml.io.Image"}`, `{"args":{"has_json_encoder":false,"has_pydantic_model":false},"id":"bentoml.io.JSON"}`},
		{"/file_len", "file_len", `{"args":{"kind":"binaryio","mime_type":null},"id":"bentoml.io.File"}`, `{"args":{"has_json_encoder":false,"has_pydantic_model":false},"id":"bentoml.io.JSON"}`},
		{"/form", "form", `{"args":{"note":{"id":"bentoml.io.Text"},"pt":{"args":{"has_json_encoder":false,"has_pydantic_model":false},"id":"bentoml.io.JSON"}},"id":"bentoml.io.Multipart"}`, `{"args":{"has_json_encoder":false,"has_pydantic_model":false},"id":"bentoml.io.JSON"}`},
	}
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op, ok := paths[c.path].(map[string]any)["post"].(map[string]any)
			if !ok {
				t.Fatalf("no POST %s", c.path)
			}
			if op["x-bentoml-name"] != c.name {
				t.Errorf("x-bentoml-name = %v, want %q", op["x-bentoml-name"], c.name)
			}
			if _, ok := op["description"].(string); !ok {
				t.Errorf("no description (BentoML's client reads it)")
			}
			in := op["requestBody"].(map[string]any)["x-bentoml-io-descriptor"]
			if got := js(in); got != c.in {
				t.Errorf("requestBody x-bentoml-io-descriptor = %s, want %s", got, c.in)
			}
			out := op["responses"].(map[string]any)["200"].(map[string]any)["x-bentoml-io-descriptor"]
			if got := js(out); got != c.out {
				t.Errorf("responses.200 x-bentoml-io-descriptor = %s, want %s", got, c.out)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	cfg := testConfig(t)
	cfg.APIServer.HTTP.MaxRequestSize = 1024
	srv := startHTTP(t, kitchenSink(t), cfg)
	if resp := post(t, srv.URL()+"/echo", "text/plain", strings.Repeat("a", 1024)); resp.status != 200 {
		t.Fatalf("at limit: %d", resp.status)
	}
	resp := post(t, srv.URL()+"/echo", "text/plain", strings.Repeat("a", 1025))
	if resp.status != 413 || resp.json(t)["type"] != "PayloadTooLarge" {
		t.Fatalf("over limit: %d %s", resp.status, resp.body)
	}
	// chunked (unknown length) over the limit
	req, _ := http.NewRequest("POST", srv.URL()+"/echo", strings.NewReader(strings.Repeat("b", 5000)))
	req.ContentLength = -1
	r, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 413 {
		t.Fatalf("chunked over limit: %d", r.StatusCode)
	}
}

func TestMaxConcurrency(t *testing.T) {
	cfg := testConfig(t)
	one := 1
	cfg.APIServer.Traffic.MaxConcurrency = &one
	srv := startHTTP(t, kitchenSink(t), cfg)
	done := make(chan response)
	go func() { done <- post(t, srv.URL()+"/slow", "", "500ms") }()
	time.Sleep(100 * time.Millisecond)
	resp := post(t, srv.URL()+"/echo", "", "x")
	if resp.status != 429 || resp.json(t)["type"] != "TooManyRequests" {
		t.Fatalf("second request: %d %s", resp.status, resp.body)
	}
	if first := <-done; first.status != 200 {
		t.Fatalf("first request: %d", first.status)
	}
	if resp := post(t, srv.URL()+"/echo", "", "x"); resp.status != 200 {
		t.Fatalf("after: %d", resp.status)
	}
}

func TestPanicLeavesServerServing(t *testing.T) {
	srv := startHTTP(t, kitchenSink(t), nil)
	for i := range 20 {
		path, body := "/fail", "panic"
		if i%2 == 1 {
			path, body = "/v1/shout", "model-panic"
		}
		if resp := post(t, srv.URL()+path, "", body); resp.status != 500 {
			t.Fatalf("panic %d: %d", i, resp.status)
		}
	}
	if resp := post(t, srv.URL()+"/v1/shout", "", "still here"); resp.status != 200 || string(resp.body) != "STILL HERE" {
		t.Fatalf("after panics: %d %s", resp.status, resp.body)
	}
}

func TestStartupErrors(t *testing.T) {
	t.Run("runner constructor error names the runner", func(t *testing.T) {
		svc := bento.NewService("broken")
		bento.NewRunner(svc, "weights_loader", func() (int, error) { return 0, errors.New("file not found: model.bin") })
		_, err := bento.StartHTTP(context.Background(), svc, testConfig(t), bento.Logger(quietLogger(t)))
		if err == nil || !strings.Contains(err.Error(), `"weights_loader"`) || !strings.Contains(err.Error(), "model.bin") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("invalid registrations reported together", func(t *testing.T) {
		svc := bento.NewService("bad")
		echo := func(_ context.Context, s string) (string, error) { return s, nil }
		bento.API(svc, "metrics", bento.Text(), bento.Text(), echo)
		bento.API(svc, "9lives", bento.Text(), bento.Text(), echo)
		bento.API(svc, "ok", bento.Text(), bento.Text(), echo)
		bento.API(svc, "ok", bento.Text(), bento.Text(), echo)
		bento.API(svc, "other", bento.Text(), bento.Text(), echo, bento.Route("/ok"))
		bento.API(svc, "health", bento.Text(), bento.Text(), echo, bento.Route("/healthz"))
		bento.API(svc, "dashboard", bento.Text(), bento.Text(), echo)
		bento.API(svc, "dash", bento.Text(), bento.Text(), echo, bento.Route("/dashboard/data"))
		bento.NewRunner(svc, "Bad Name", func() (int, error) { return 0, nil })
		bento.NewRunner(svc, "-x", func() (int, error) { return 0, nil })
		_, err := bento.StartHTTP(context.Background(), svc, testConfig(t), bento.Logger(quietLogger(t)))
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{`"metrics" is reserved`, `"9lives" is not a valid identifier`,
			`duplicate API name "ok"`, `share route "/ok"`, `"/healthz" is reserved`, `invalid runner name "Bad Name"`, `invalid runner name "-x"`,
			`"dashboard" is reserved`, `"/dashboard/data" is reserved`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})
	t.Run("port in use", func(t *testing.T) {
		srv := startHTTP(t, kitchenSink(t), nil)
		cfg := testConfig(t)
		cfg.APIServer.HTTP.Port = srv.Addr().(*net.TCPAddr).Port
		_, err := bento.StartHTTP(context.Background(), kitchenSink(t), cfg, bento.Logger(quietLogger(t)))
		if err == nil || !strings.Contains(err.Error(), "listen") {
			t.Fatalf("err = %v", err)
		}
	})
}

package bento_test

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobento/bento"
	"github.com/gobento/bento/config"
)

// The hostile-input suite sends what careless and malicious clients send to
// a real server on loopback, over raw TCP connections so that nothing is
// fixed up by an HTTP client on the way. Each case documents the status it
// must get and where (if anywhere) gobento counts it:
//
//   - gobento's handler answers every request that net/http hands it, with a
//     JSON error body and the status in the table below; it counts it under
//     the declared route (endpoint="/route") or, for an undeclared path,
//     under endpoint="<unmatched>".
//   - net/http itself rejects requests it cannot parse before any handler
//     runs: 400 (malformed request line or header, missing Host, bad
//     escapes, conflicting lengths), 431 (headers, including a long URL,
//     beyond max_header_bytes), 501 (unknown Transfer-Encoding), 505 (HTTP
//     version). These never reach gobento and are NOT counted; the final
//     metrics comparison proves that they were not counted as anything else
//     either. Connections closed by timeouts (slow-loris) are not counted.
//
// Expected statuses, by group (the table in hostileCases is the reference):
//
//	malformed/truncated/empty JSON, trailing data, BOM      400 BadInput
//	deeply nested JSON (100 000 levels) into any / NDArray   400 BadInput
//	1e400, 100-digit ints, int64 overflow, NaN, ±Infinity    400 BadInput
//	invalid UTF-8 in a Text body / outside JSON strings      400 BadInput
//	invalid UTF-8 or lone surrogates inside JSON strings     200, replaced by U+FFFD (encoding/json)
//	Image/Multipart with a wrong or missing Content-Type     415 UnsupportedMediaType
//	JSON/NDArray declared as a type JSON cannot be           415 UnsupportedMediaType
//	Text with any Content-Type                               200 (not checked, as in BentoML)
//	multipart: no boundary, no parts, >1000 parts,
//	  unterminated, foreign boundary, part header flood      400 BadInput
//	images declaring 100000×100000 etc. (zip bombs)          400 BadInput, before decoding allocates
//	body over max_request_size (length, chunked, Expect)     413 PayloadTooLarge
//	truncated body, malformed chunk                          400 BadInput
//	path traversal, encoded dots, NUL, 20 KB path            404 NotFound, counted as <unmatched>
//	100 KB path, header flood, 64 KB header                  431 by net/http, not counted
//	unknown/lower-case/other methods on an API route         405 MethodNotAllowed with Allow: POST
//	slow-loris header or idle connection                     connection closed after read_header_timeout
//	slow body                                                400 after read_timeout, counted

// hostileCase is one hostile request and what it must get.
type hostileCase struct {
	name string
	// req is the raw request; when nil, build() makes it.
	req   []byte
	build func() []byte
	// halfClose shuts the write side after sending (a truncated body).
	halfClose bool
	// status is the expected status code.
	status int
	// anyOf, if set, lists the acceptable statuses instead of status; 0
	// means the server may close the connection without an answer, and
	// then the request is counted as 499 (client closed request).
	anyOf []int
	// counted is the endpoint label gobento counts the request under; ""
	// means net/http rejects it before gobento sees it (not counted).
	counted string
	// errType is the expected "type" of gobento's JSON error body.
	errType string
	// check, if set, inspects a 200 body.
	check func(t *testing.T, body []byte)
	// allocLimit bounds the bytes the whole process allocates while the
	// request is served (0: the suite's default).
	allocLimit uint64
}

// hostileRequest builds an HTTP/1.1 request with Host, Connection: close and,
// unless hdrs sets a length or Transfer-Encoding, a Content-Length.
func hostileRequest(method, target string, hdrs []string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: hostile.test\r\nConnection: close\r\n", method, target)
	setsLength := false
	for _, h := range hdrs {
		lh := strings.ToLower(h)
		if strings.HasPrefix(lh, "content-length:") || strings.HasPrefix(lh, "transfer-encoding:") {
			setsLength = true
		}
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	if !setsLength {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

func hostilePost(target, contentType string, body []byte) []byte {
	var hdrs []string
	if contentType != "" {
		hdrs = append(hdrs, "Content-Type: "+contentType)
	}
	return hostileRequest("POST", target, hdrs, body)
}

// chunked encodes body in chunks of n bytes.
func chunkedBody(body []byte, n int) []byte {
	var b bytes.Buffer
	for len(body) > 0 {
		k := min(n, len(body))
		fmt.Fprintf(&b, "%x\r\n", k)
		b.Write(body[:k])
		b.WriteString("\r\n")
		body = body[k:]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// hostileResult is what came back on a raw connection.
type hostileResult struct {
	status int // 0: closed without a response
	header http.Header
	body   []byte
	err    error
}

// hostileExchange sends req on a new connection and reads one response. It
// writes concurrently with reading, since the server may answer (413, 431)
// and close before the client has written everything.
func hostileExchange(addr string, req []byte, halfClose bool, timeout time.Duration) hostileResult {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return hostileResult{err: err}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	go func() {
		conn.Write(req)
		if halfClose {
			conn.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return hostileResult{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return hostileResult{status: resp.StatusCode, header: resp.Header, body: body, err: err}
}

// bombPNG is a small PNG whose header declares w×h RGBA pixels; its IDAT is
// 1 MiB of zeros compressed to about 1 KiB, so decoding it for real would
// allocate w*h*4 bytes.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// bombGIF is a GIF header declaring a w×h logical screen.
func bombGIF(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	b = append(b, 0, 0, 0)                      // no global colour table
	b = append(b, 0x2c, 0, 0, 0, 0)             // image descriptor at 0,0
	b = binary.LittleEndian.AppendUint16(b, w)  // image width
	b = binary.LittleEndian.AppendUint16(b, h)  // image height
	b = append(b, 0, 2, 2, 0x4c, 0x01, 0, 0x3b) // tiny LZW data, trailer
	return b
}

// bombJPEG is a JFIF header with a baseline SOF declaring w×h grey pixels.
func bombJPEG(w, h uint16) []byte {
	b := []byte{0xff, 0xd8, // SOI
		0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, // APP0 JFIF
		0xff, 0xc0, 0, 11, 8} // SOF0, length 11, 8-bit
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	b = append(b, 1, 1, 0x11, 0) // one component
	return append(b, 0xff, 0xd9)
}

// hostileForm wraps parts (each "headers\r\n\r\nbody") in boundary B.
func hostileForm(closed bool, parts ...string) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString("--B\r\n")
		b.WriteString(p)
		b.WriteString("\r\n")
	}
	if closed {
		b.WriteString("--B--\r\n")
	}
	return b.Bytes()
}

const hostileFormCT = "multipart/form-data; boundary=B"

// hostileService is the kitchen-sink service plus APIs for numeric and
// free-form JSON inputs.
func hostileService(t testing.TB) *bento.Service {
	svc := kitchenSink(t)
	bento.API(svc, "ints", bento.NDArray[[]int64](), bento.NDArray[[]int64](),
		func(_ context.Context, v []int64) ([]int64, error) { return v, nil })
	bento.API(svc, "any_json", bento.JSON[any](), bento.JSON[any](),
		func(_ context.Context, v any) (any, error) { return v, nil })
	bento.API(svc, "strs", bento.JSON[map[string]string](), bento.JSON[map[string]string](),
		func(_ context.Context, v map[string]string) (map[string]string, error) { return v, nil })
	return svc
}

// hostileConfig is the configuration the suite runs with: small limits so
// that "over the limit" is cheap to send.
func hostileConfig(t testing.TB) *config.Config {
	cfg := testConfig(t)
	cfg.APIServer.HTTP.MaxRequestSize = 256 << 10
	cfg.APIServer.HTTP.MaxHeaderBytes = 32 << 10
	cfg.APIServer.HTTP.ReadHeaderTimeout = 0.5
	cfg.APIServer.HTTP.ReadTimeout = 2
	cfg.APIServer.Traffic.Timeout = 5
	return cfg
}

func hostileCases() []hostileCase {
	const limit = 256 << 10
	nested := func(n int, open, close string) []byte {
		return []byte(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	manyParts := func(n int) []byte {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("Content-Disposition: form-data; name=\"f%d\"\r\n\r\nv", i)
		}
		return hostileForm(true, parts...)
	}
	validForm := hostileForm(true,
		"Content-Disposition: form-data; name=\"note\"\r\n\r\nhi",
		"Content-Disposition: form-data; name=\"pt\"\r\nContent-Type: application/json\r\n\r\n{\"x\":7,\"y\":1}")
	headerFlood := func(n, size int) []string {
		h := make([]string, n)
		for i := range h {
			h[i] = fmt.Sprintf("X-Flood-%d: %s", i, strings.Repeat("a", size))
		}
		return h
	}
	utf8OK := func(want string) func(t *testing.T, body []byte) {
		return func(t *testing.T, body []byte) {
			if !utf8.Valid(body) || !strings.Contains(string(body), want) {
				t.Errorf("body %q: want valid UTF-8 containing %q", body, want)
			}
		}
	}
	bodyIs := func(want string) func(t *testing.T, body []byte) {
		return func(t *testing.T, body []byte) {
			if string(body) != want {
				t.Errorf("body %.100q, want %.100q", body, want)
			}
		}
	}
	png := bombPNG(100_000, 100_000)
	bad, unsupported, tooLarge := "BadInput", "UnsupportedMediaType", "PayloadTooLarge"
	return []hostileCase{
		// ---- JSON: malformed, truncated, nested ----
		{name: "json malformed", req: hostilePost("/point", "application/json", []byte(`{"x":1,,}`)), status: 400, counted: "/point", errType: bad},
		{name: "json truncated object", req: hostilePost("/point", "application/json", []byte(`{"x": 1, "y"`)), status: 400, counted: "/point", errType: bad},
		{name: "json truncated string", req: hostilePost("/any_json", "application/json", []byte(`{"x":"abc`)), status: 400, counted: "/any_json", errType: bad},
		{name: "json empty body", req: hostilePost("/point", "application/json", nil), status: 400, counted: "/point", errType: bad},
		{name: "json only whitespace", req: hostilePost("/point", "application/json", []byte(" \r\n\t ")), status: 400, counted: "/point", errType: bad},
		{name: "json trailing data", req: hostilePost("/any_json", "application/json", []byte(`[1] [2]`)), status: 400, counted: "/any_json", errType: bad},
		{name: "json utf-8 BOM", req: hostilePost("/point", "application/json", []byte("\xef\xbb\xbf{\"x\":1}")), status: 400, counted: "/point", errType: bad},
		{name: "json 100k nested arrays into any", req: hostilePost("/any_json", "application/json", nested(100_000, "[", "]")), status: 400, counted: "/any_json", errType: bad},
		{name: "json 100k open brackets truncated", req: hostilePost("/any_json", "application/json", []byte(strings.Repeat("[", 100_000))), status: 400, counted: "/any_json", errType: bad},
		{name: "json 50k nested objects", req: hostilePost("/any_json", "application/json", []byte(strings.Repeat(`{"a":`, 50_000))), status: 400, counted: "/any_json", errType: bad},
		{name: "json 100k nested arrays into struct", req: hostilePost("/point", "application/json", nested(100_000, "[", "]")), status: 400, counted: "/point", errType: bad},
		{name: "ndarray 100k nested arrays", req: hostilePost("/sum", "application/json", nested(100_000, "[", "]")), status: 400, counted: "/sum", errType: bad},
		{name: "ndarray 100k open brackets", req: hostilePost("/ints", "application/json", []byte(strings.Repeat("[", 100_000))), status: 400, counted: "/ints", errType: bad},
		// ---- huge numbers, NaN, Inf ----
		{name: "1e400 into int field", req: hostilePost("/point", "", []byte(`{"x":1e400,"y":1}`)), status: 400, counted: "/point", errType: bad},
		{name: "100-digit int into int field", req: hostilePost("/point", "", []byte(`{"x":`+strings.Repeat("9", 100)+`}`)), status: 400, counted: "/point", errType: bad},
		{name: "1e400 into any", req: hostilePost("/any_json", "", []byte(`[1e400]`)), status: 400, counted: "/any_json", errType: bad},
		{name: "1e400 into ndarray int64", req: hostilePost("/ints", "", []byte(`[1e400]`)), status: 400, counted: "/ints", errType: bad},
		{name: "100-digit int into ndarray int64", req: hostilePost("/ints", "", []byte(`[`+strings.Repeat("7", 100)+`]`)), status: 400, counted: "/ints", errType: bad},
		{name: "int64 max+1 into ndarray int64", req: hostilePost("/ints", "", []byte(`[9223372036854775808]`)), status: 400, counted: "/ints", errType: bad},
		{name: "int64 min-1 into ndarray int64", req: hostilePost("/ints", "", []byte(`[-9223372036854775809]`)), status: 400, counted: "/ints", errType: bad},
		{name: "int64 max into ndarray int64", req: hostilePost("/ints", "", []byte(`[9223372036854775807,-9223372036854775808]`)), status: 200, counted: "/ints",
			check: bodyIs(`[9223372036854775807,-9223372036854775808]`)},
		// 2^53+1 written as a float: the decimal fits int64 exactly, so it
		// must arrive unchanged or be refused, never silently rounded
		{name: "2^53+1 as a float into ndarray int64", req: hostilePost("/ints", "", []byte(`[9007199254740993.0]`)), anyOf: []int{200, 400}, counted: "/ints",
			check: bodyIs(`[9007199254740993]`)},
		{name: "1e400 into ndarray float64", req: hostilePost("/sum", "", []byte(`[[1e400,1]]`)), status: 400, counted: "/sum", errType: bad},
		{name: "1e-400 underflows to zero", req: hostilePost("/sum", "", []byte(`[[1e-400,1]]`)), status: 200, counted: "/sum", check: bodyIs(`[1]`)},
		{name: "NaN into ndarray", req: hostilePost("/sum", "", []byte(`[[NaN,1]]`)), status: 400, counted: "/sum", errType: bad},
		{name: "Infinity into ndarray int64", req: hostilePost("/ints", "", []byte(`[Infinity]`)), status: 400, counted: "/ints", errType: bad},
		{name: "-Infinity into struct", req: hostilePost("/point", "", []byte(`{"x":-Infinity}`)), status: 400, counted: "/point", errType: bad},
		{name: "NaN into any", req: hostilePost("/any_json", "", []byte(`NaN`)), status: 400, counted: "/any_json", errType: bad},
		{name: "quoted NaN into ndarray", req: hostilePost("/sum", "", []byte(`[["NaN",1]]`)), status: 400, counted: "/sum", errType: bad},
		// ---- invalid UTF-8 ----
		{name: "invalid utf-8 text", req: hostilePost("/echo", "text/plain", []byte{'a', 0xff, 0xfe, 'b'}), status: 400, counted: "/echo", errType: bad},
		{name: "truncated utf-8 sequence text", req: hostilePost("/echo", "text/plain", []byte("caf\xc3")), status: 400, counted: "/echo", errType: bad},
		{name: "overlong utf-8 text", req: hostilePost("/echo", "text/plain", []byte{0xc0, 0xaf}), status: 400, counted: "/echo", errType: bad},
		{name: "NUL bytes are valid text", req: hostilePost("/echo", "text/plain", []byte("a\x00b")), status: 200, counted: "/echo", check: bodyIs("a\x00b")},
		{name: "invalid utf-8 inside json string", req: hostilePost("/strs", "application/json", []byte("{\"a\":\"x\xff\xfey\"}")), status: 200, counted: "/strs", check: utf8OK("\ufffd")},
		{name: "lone surrogate escape in json", req: hostilePost("/strs", "application/json", []byte(`{"a":"\ud800"}`)), status: 200, counted: "/strs", check: utf8OK("\ufffd")},
		{name: "invalid utf-8 outside json strings", req: hostilePost("/strs", "application/json", []byte("{\xff:\"a\"}")), status: 400, counted: "/strs", errType: bad},
		// ---- content types ----
		{name: "image with text/plain", req: hostilePost("/size", "text/plain", []byte("hello")), status: 415, counted: "/size", errType: unsupported},
		{name: "image without content type, not an image", req: hostilePost("/size", "", []byte("hello")), status: 415, counted: "/size", errType: unsupported},
		{name: "image with malformed content type", req: hostilePost("/size", "image/", []byte("hello")), status: 415, counted: "/size", errType: unsupported},
		{name: "multipart with application/json", req: hostilePost("/form", "application/json", []byte("{}")), status: 415, counted: "/form", errType: unsupported},
		{name: "multipart without content type", req: hostilePost("/form", "", validForm), status: 415, counted: "/form", errType: unsupported},
		{name: "multipart unterminated content type param", req: hostilePost("/form", `multipart/form-data; boundary="B`, validForm), status: 415, counted: "/form", errType: unsupported},
		{name: "multipart content type with 2000 params", req: hostilePost("/form", hostileFormCT+strings.Repeat("; p=v", 2000), validForm), status: 200, counted: "/form", check: bodyIs(`{"note":"hi","x":7}`)},
		{name: "json with image/png content type", req: hostilePost("/point", "image/png", []byte(`{"x":1,"y":2}`)), status: 415, counted: "/point", errType: unsupported},
		{name: "ndarray with application/xml content type", req: hostilePost("/sum", "application/xml", []byte(`[[1,2]]`)), status: 415, counted: "/sum", errType: unsupported},
		{name: "ndarray with curl's default content type", req: hostilePost("/sum", "application/x-www-form-urlencoded", []byte(`[[1,2]]`)), status: 200, counted: "/sum", check: bodyIs(`[3]`)},
		{name: "text with control characters in content type", req: hostilePost("/echo", "\x01\x02", []byte("hi")), status: 400},
		{name: "text with unparsable content type", req: hostilePost("/echo", "text/plain; ===", []byte("hi")), status: 200, counted: "/echo", check: bodyIs("hi")},
		// ---- multipart ----
		{name: "multipart valid", req: hostilePost("/form", hostileFormCT, validForm), status: 200, counted: "/form", check: bodyIs(`{"note":"hi","x":7}`)},
		{name: "multipart missing boundary", req: hostilePost("/form", "multipart/form-data", validForm), status: 400, counted: "/form", errType: bad},
		{name: "multipart no parts", req: hostilePost("/form", hostileFormCT, []byte("--B--\r\n")), status: 400, counted: "/form", errType: bad},
		{name: "multipart empty body", req: hostilePost("/form", hostileFormCT, nil), status: 400, counted: "/form", errType: bad},
		{name: "multipart 3000 parts", req: hostilePost("/form", hostileFormCT, manyParts(3000)), status: 400, counted: "/form", errType: bad},
		{name: "multipart boundary never closed", req: hostilePost("/form", hostileFormCT, hostileForm(false,
			"Content-Disposition: form-data; name=\"note\"\r\n\r\nhi", "Content-Disposition: form-data; name=\"pt\"\r\n\r\n{\"x\":1")), status: 400, counted: "/form", errType: bad},
		{name: "multipart foreign boundary", req: hostilePost("/form", "multipart/form-data; boundary=C", validForm), status: 400, counted: "/form", errType: bad},
		{name: "multipart part header flood", req: hostilePost("/form", hostileFormCT, hostileForm(true,
			"Content-Disposition: form-data; name=\"note\"\r\n"+strings.Repeat("X-A: b\r\n", 20000)+"\r\nhi")), status: 400, counted: "/form", errType: bad},
		{name: "multipart image field missing", req: hostilePost("/size", hostileFormCT, validForm), status: 400, counted: "/size", errType: bad},
		// ---- zip-bomb-like images: rejected from the header, before decoding allocates ----
		{name: "png declaring 100000x100000", req: hostilePost("/size", "image/png", png), status: 400, counted: "/size", errType: bad, allocLimit: 4 << 20},
		{name: "png declaring 60000x60000", req: hostilePost("/size", "image/png", bombPNG(60_000, 60_000)), status: 400, counted: "/size", errType: bad, allocLimit: 4 << 20},
		{name: "png declaring 1x2147483647", req: hostilePost("/size", "image/png", bombPNG(1, 1<<31-1)), status: 400, counted: "/size", errType: bad, allocLimit: 4 << 20},
		{name: "png bomb sniffed without content type", req: hostilePost("/size", "", png), status: 400, counted: "/size", errType: bad, allocLimit: 4 << 20},
		{name: "png bomb in multipart", req: hostilePost("/size", hostileFormCT, hostileForm(true,
			"Content-Disposition: form-data; name=\"img\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"+string(png))), status: 400, counted: "/size", errType: bad, allocLimit: 4 << 20},
		{name: "gif declaring 65535x65535", req: hostilePost("/size", "image/gif", bombGIF(65535, 65535)), status: 400, counted: "/size", errType: bad, allocLimit: 4 << 20},
		{name: "jpeg declaring 65500x65500", req: hostilePost("/size", "image/jpeg", bombJPEG(65500, 65500)), status: 400, counted: "/size", errType: bad, allocLimit: 4 << 20},
		{name: "png declaring 0x0", req: hostilePost("/size", "image/png", bombPNG(0, 0)), status: 400, counted: "/size", errType: bad},
		{name: "png truncated after header", req: hostilePost("/size", "image/png", png[:40]), status: 400, counted: "/size", errType: bad},
		// ---- body limits ----
		{name: "body over limit with content-length", req: hostilePost("/echo", "text/plain", bytes.Repeat([]byte("a"), limit+1)), status: 413, counted: "/echo", errType: tooLarge},
		{name: "10 GB content-length, no body sent", req: hostileRequest("POST", "/echo", []string{"Content-Length: 10000000000"}, nil), status: 413, counted: "/echo", errType: tooLarge},
		{name: "chunked body over limit", req: hostileRequest("POST", "/echo", []string{"Transfer-Encoding: chunked"}, chunkedBody(bytes.Repeat([]byte("b"), limit+10), 4096)), status: 413, counted: "/echo", errType: tooLarge},
		{name: "chunked body at limit", req: hostileRequest("POST", "/echo", []string{"Transfer-Encoding: chunked"}, chunkedBody(bytes.Repeat([]byte("c"), limit), 8192)), status: 200, counted: "/echo",
			check: func(t *testing.T, b []byte) {
				if len(b) != limit {
					t.Errorf("echoed %d bytes, want %d", len(b), limit)
				}
			}},
		{name: "expect 100-continue over limit", req: hostileRequest("POST", "/echo", []string{"Expect: 100-continue", "Content-Length: 999999999"}, nil), status: 413, counted: "/echo", errType: tooLarge},
		{name: "chunk size 2^63-1", req: hostileRequest("POST", "/echo", []string{"Transfer-Encoding: chunked"},
			append([]byte("7fffffffffffffff\r\n"), bytes.Repeat([]byte("d"), limit+1)...)), status: 413, counted: "/echo", errType: tooLarge},
		{name: "chunk size beyond 64 bits", req: hostileRequest("POST", "/echo", []string{"Transfer-Encoding: chunked"}, []byte("1ffffffffffffffff\r\nabc")), status: 400, counted: "/echo", errType: bad},
		{name: "malformed chunk size", req: hostileRequest("POST", "/echo", []string{"Transfer-Encoding: chunked"}, []byte("zz\r\nabc\r\n0\r\n\r\n")), status: 400, counted: "/echo", errType: bad},
		// The client sends 5 of 100 bytes and shuts its write side: a 400, or
		// an aborted connection counted as 499; never an empty "200 OK".
		{name: "body shorter than content-length", req: hostileRequest("POST", "/echo", []string{"Content-Length: 100"}, []byte("short")), halfClose: true,
			anyOf: []int{400, 0}, counted: "/echo", errType: bad},
		// A complete request, then the client shuts its write side (as
		// `nc -N` does) and waits: net/http cancels the request context on
		// the EOF. The answer is the API's result, or an aborted connection
		// counted as 499; never an empty "200 OK".
		{name: "half-closed client waiting for a slow API", req: hostilePost("/slow", "text/plain", []byte("300ms")), halfClose: true,
			anyOf: []int{200, 0}, counted: "/slow", check: bodyIs("300ms")},
		// net/http lets Transfer-Encoding win and drops Content-Length (RFC 9112 §6.3)
		{name: "content-length and chunked together", req: hostileRequest("POST", "/echo", []string{"Content-Length: 3", "Transfer-Encoding: chunked"}, chunkedBody([]byte("abcdef"), 3)), status: 200, counted: "/echo", check: bodyIs("abcdef")},
		{name: "conflicting content-lengths", req: hostileRequest("POST", "/echo", []string{"Content-Length: 3", "Content-Length: 4"}, []byte("abcd")), status: 400},
		{name: "negative content-length", req: hostileRequest("POST", "/echo", []string{"Content-Length: -1"}, nil), status: 400},
		{name: "unsupported transfer-encoding", req: hostileRequest("POST", "/echo", []string{"Transfer-Encoding: gzip"}, []byte("x")), status: 501},
		// ---- paths ----
		{name: "path traversal", req: hostileRequest("GET", "/../../etc/passwd", nil, nil), status: 404, counted: "<unmatched>", errType: "NotFound"},
		{name: "encoded dot segments", req: hostileRequest("POST", "/%2e%2e/%2e%2e/etc/passwd", nil, nil), status: 404, counted: "<unmatched>", errType: "NotFound"},
		{name: "dot segments around an API", req: hostileRequest("POST", "/x/../echo", nil, []byte("hi")), status: 404, counted: "<unmatched>", errType: "NotFound"},
		{name: "encoded slash to metrics", req: hostileRequest("GET", "/..%2fmetrics", nil, nil), status: 404, counted: "<unmatched>", errType: "NotFound"},
		{name: "NUL in path", req: hostileRequest("POST", "/echo%00", nil, []byte("hi")), status: 404, counted: "<unmatched>", errType: "NotFound"},
		{name: "invalid percent escape", req: hostileRequest("POST", "/echo%zz", nil, []byte("hi")), status: 400},
		{name: "asterisk target", req: hostileRequest("GET", "*", nil, nil), status: 404, counted: "<unmatched>", errType: "NotFound"},
		{name: "absolute-form target", req: hostileRequest("POST", "http://elsewhere.example/echo", nil, []byte("abs")), status: 200, counted: "/echo", check: bodyIs("abs")},
		{name: "20 KB path", req: hostileRequest("POST", "/"+strings.Repeat("a", 20<<10), nil, nil), status: 404, counted: "<unmatched>", errType: "NotFound",
			check: nil},
		{name: "100 KB path", req: hostileRequest("POST", "/"+strings.Repeat("a", 100<<10), nil, nil), status: 431},
		{name: "100 KB query string", req: hostileRequest("POST", "/echo?"+strings.Repeat("q", 100<<10), nil, []byte("q")), status: 431},
		// ---- headers ----
		{name: "header flood 3000 headers", req: hostileRequest("POST", "/echo", headerFlood(3000, 20), []byte("x")), status: 431},
		{name: "one 64 KB header", req: hostileRequest("POST", "/echo", []string{"X-Big: " + strings.Repeat("h", 64<<10)}, []byte("x")), status: 431},
		{name: "500 headers within the limit", req: hostileRequest("POST", "/echo", headerFlood(500, 10), []byte("ok")), status: 200, counted: "/echo", check: bodyIs("ok")},
		{name: "control character in header name", req: hostileRequest("POST", "/echo", []string{"X-A\x01: b"}, []byte("x")), status: 400},
		{name: "header line without colon", req: hostileRequest("POST", "/echo", []string{"NoColonHere"}, []byte("x")), status: 400},
		// net/textproto joins obs-fold continuation lines
		{name: "obsolete header folding", req: hostileRequest("POST", "/echo", []string{"X-A: b", " folded"}, []byte("x")), status: 200, counted: "/echo", check: bodyIs("x")},
		{name: "missing Host on HTTP/1.1", req: []byte("POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"), status: 400},
		{name: "HTTP/1.0 without Host", req: []byte("POST /echo HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi"), status: 200, counted: "/echo", check: bodyIs("hi")},
		{name: "HTTP/2.0 on the HTTP/1 port", req: []byte("POST /echo HTTP/2.0\r\nHost: x\r\n\r\n"), status: 505},
		{name: "garbage request line", req: []byte("GARBAGE\r\n\r\n"), status: 400},
		{name: "TLS client hello", req: []byte{0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, '\r', '\n', '\r', '\n'}, status: 400},
		// ---- methods ----
		{name: "unknown method on API", req: hostileRequest("FOO", "/echo", nil, []byte("x")), status: 405, counted: "/echo", errType: "MethodNotAllowed"},
		{name: "lower-case post", req: hostileRequest("post", "/echo", nil, []byte("x")), status: 405, counted: "/echo", errType: "MethodNotAllowed"},
		{name: "DELETE on API", req: hostileRequest("DELETE", "/v1/shout", nil, nil), status: 405, counted: "/v1/shout", errType: "MethodNotAllowed"},
		{name: "TRACE on API", req: hostileRequest("TRACE", "/echo", nil, nil), status: 405, counted: "/echo", errType: "MethodNotAllowed"},
		{name: "CONNECT on API", req: hostileRequest("CONNECT", "/echo", nil, nil), status: 405, counted: "/echo", errType: "MethodNotAllowed"},
		{name: "1000-character method", req: hostileRequest(strings.Repeat("M", 1000), "/echo", nil, nil), status: 405, counted: "/echo", errType: "MethodNotAllowed"},
		{name: "unknown method on unknown path", req: hostileRequest("BREW", "/coffee", nil, nil), status: 404, counted: "<unmatched>", errType: "NotFound"},
		{name: "method with a space", req: []byte("PO ST /echo HTTP/1.1\r\nHost: x\r\n\r\n"), status: 400},
	}
}

// TestHostileInput sends every hostile case to a real server and checks the
// status, the error body, the memory the process allocated, that the server
// keeps serving, and finally that /metrics counted exactly what reached
// gobento.
func TestHostileInput(t *testing.T) {
	srv := relStartHTTP(t, hostileService(t), hostileConfig(t))
	addr := srv.Addr().String()
	want := newRelTally()
	cases := hostileCases()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBase := ms.HeapInuse
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if req == nil {
				req = tc.build()
			}
			// settle earlier work so the allocation measured is this request's
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			res := hostileExchange(addr, req, tc.halfClose, 10*time.Second)
			runtime.ReadMemStats(&after)
			switch {
			case tc.counted != "" && res.status != 0:
				want.add(tc.counted, res.status)
			case tc.counted != "" && slices.Contains(tc.anyOf, 0):
				want.add(tc.counted, 499)
			}
			okStatus := res.status == tc.status
			if tc.anyOf != nil {
				okStatus = slices.Contains(tc.anyOf, res.status)
			}
			if !okStatus {
				want := fmt.Sprint(tc.status)
				if tc.anyOf != nil {
					want = fmt.Sprint("one of ", tc.anyOf)
				}
				t.Fatalf("status %d (err %v), want %s; body %.300q", res.status, res.err, want, res.body)
			}
			limit := tc.allocLimit
			if limit == 0 {
				limit = 16<<20 + 4*uint64(len(req))
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit {
				t.Errorf("the process allocated %d bytes serving this request; limit %d", alloc, limit)
			}
			if tc.counted == "" || res.status == 0 {
				return // net/http's own answer (plain text, no request id), or none
			}
			if res.header.Get("X-BentoML-Request-ID") == "" {
				t.Error("no X-BentoML-Request-ID")
			}
			if res.status == 405 && res.header.Get("Allow") != "POST" {
				t.Errorf("405 with Allow %q", res.header.Get("Allow"))
			}
			if res.status == 200 {
				if tc.check != nil {
					tc.check(t, res.body)
				}
				return
			}
			if len(res.body) > 4096 {
				t.Errorf("error body of %d bytes echoes the input", len(res.body))
			}
			m := response{status: res.status, body: res.body}.json(t)
			if tc.errType != "" && m["type"] != tc.errType {
				t.Errorf("type %v, want %s (msg %v)", m["type"], tc.errType, m["msg"])
			}
		})
	}
	t.Logf("hostile cases: %d table cases (+ slow-loris and keep-serving checks below)", len(cases))

	t.Run("slow-loris header dribble is cut off", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		type closed struct {
			after time.Duration
			got   []byte
		}
		done := make(chan closed, 1)
		go func() {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, _ := io.ReadAll(conn)
			done <- closed{time.Since(start), b}
		}()
		// one byte every 20 ms: the headers would take 5 s to arrive
		msg := []byte("POST /echo HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 250) + "\r\n\r\n")
		var res closed
	dribble:
		for _, c := range msg {
			select {
			case res = <-done:
				break dribble
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{c}); err != nil {
				res = <-done
				break
			}
		}
		if res.after == 0 {
			res = <-done
		}
		// net/http closes the connection at the deadline, answering a
		// plain "400 Bad Request" (not an API response: not counted) or
		// nothing at all.
		if len(res.got) > 0 && !bytes.HasPrefix(res.got, []byte("HTTP/1.1 400 ")) {
			t.Errorf("server answered a dribbled header with %q", res.got)
		}
		if res.after > 3*time.Second {
			t.Errorf("connection closed after %v; read_header_timeout is 0.5s", res.after)
		}
		t.Logf("slow-loris connection closed after %v with %q", res.after.Round(time.Millisecond), res.got)
	})
	t.Run("idle connection without a request is closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(conn)
		if d := time.Since(start); err != nil || len(b) != 0 || d > 3*time.Second {
			t.Errorf("idle connection: read %q, err %v after %v; want a close after about 0.5s", b, err, d)
		}
	})
	t.Run("slow body is cut off at read_timeout", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		if _, err := conn.Write([]byte("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		done := make(chan hostileResult, 1)
		go func() {
			conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				done <- hostileResult{err: err}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			done <- hostileResult{status: resp.StatusCode, body: b}
		}()
		var res hostileResult
	dribble:
		for {
			select {
			case res = <-done:
				break dribble
			case <-time.After(100 * time.Millisecond):
				conn.Write([]byte("z"))
			}
		}
		d := time.Since(start)
		// A 400 or 408, or an aborted connection counted as 499; never a 200.
		if res.status != 0 {
			want.add("/echo", res.status)
		} else {
			want.add("/echo", 499)
		}
		if res.status != 400 && res.status != 408 && res.status != 0 {
			t.Fatalf("slow body: status %d %q (%v), want 400 or 408, or no answer", res.status, res.body, res.err)
		}
		if d < 1500*time.Millisecond || d > 5*time.Second {
			t.Errorf("slow body answered after %v; read_timeout is 2s", d)
		}
	})
	t.Run("still serving", func(t *testing.T) {
		for i := range 3 {
			res := hostileExchange(addr, hostilePost("/echo", "text/plain", []byte("alive")), false, 5*time.Second)
			if res.status != 200 || string(res.body) != "alive" {
				t.Fatalf("request %d after the hostile cases: %d %q %v", i, res.status, res.body, res.err)
			}
			want.add("/echo", 200)
		}
	})
	t.Run("memory stays bounded", func(t *testing.T) {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if grow := int64(ms.HeapInuse) - int64(heapBase); grow > 16<<20 {
			t.Errorf("heap in use grew by %d bytes over the suite", grow)
		}
	})
	t.Run("metrics count exactly what reached gobento", func(t *testing.T) {
		fams := relSettledScrape(t, srv.MetricsURL())
		relCheckSeries(t, fams, "bentoml_api_server", "endpoint", nil, want.snapshot())
		relLogTally(t, "hostile", want.snapshot())
	})
}

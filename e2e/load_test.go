package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gobento/bento/internal/pb"
)

// sloThreshold is the latency threshold of the shipped SLO rules (le="0.5").
const sloThreshold = 500 * time.Millisecond

// tally is what a client measured for one endpoint: responses per status
// code, latency, answers, and anything that went wrong.
type tally struct {
	name string

	mu        sync.Mutex
	codes     map[int]int  // HTTP status, or the HTTP equivalent of the gRPC code
	positives map[bool]int // sentiment answers, by is_positive
	total     int
	rows      int           // rows in successful iris calls
	slow      int           // responses slower than sloThreshold
	maxLat    time.Duration // slowest response
	problems  []string      // first few unexpected outcomes
	nProblems int

	// Counts at the end of the priming requests, sent before Prometheus
	// first scraped; rates over the traffic exclude them.
	baseCodes map[int]int
	baseTotal int
}

func newTally(name string) *tally {
	return &tally{name: name, codes: map[int]int{}, positives: map[bool]int{}}
}

// record counts one response.
func (t *tally) record(code int, lat time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.codes[code]++
	t.total++
	if lat > sloThreshold {
		t.slow++
	}
	t.maxLat = max(t.maxLat, lat)
}

// addRows counts the rows of a successful iris call.
func (t *tally) addRows(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows += n
}

// positive counts one sentiment answer.
func (t *tally) positive(p bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.positives[p]++
}

// problem notes an unexpected outcome (wrong answer, unexpected status,
// transport error).
func (t *tally) problem(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nProblems++
	if len(t.problems) < 10 {
		t.problems = append(t.problems, fmt.Sprintf(format, args...))
	}
}

// count returns the number of responses with the given code.
func (t *tally) count(code int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.codes[code]
}

// markBaseline records the current counts as the baseline of since and
// totalSince.
func (t *tally) markBaseline() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.baseCodes = maps.Clone(t.codes)
	t.baseTotal = t.total
}

// since returns the number of responses with the given code after the
// baseline.
func (t *tally) since(code int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.codes[code] - t.baseCodes[code]
}

// totalSince returns the number of responses after the baseline.
func (t *tally) totalSince() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total - t.baseTotal
}

// String summarises the tally for the test log.
func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	codes := make([]int, 0, len(t.codes))
	for c := range t.codes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	s := fmt.Sprintf("%s: %d responses", t.name, t.total)
	for _, c := range codes {
		s += fmt.Sprintf(", %d×%d", t.codes[c], c)
	}
	s += fmt.Sprintf(", max latency %v, %d slower than %v", t.maxLat, t.slow, sloThreshold)
	if len(t.positives) > 0 {
		s += fmt.Sprintf(", is_positive true=%d false=%d", t.positives[true], t.positives[false])
	}
	return s
}

// runWaves calls fn from workers goroutines in waves: every interval, each
// idle worker makes one call, so that up to workers requests arrive at the
// same moment (which is what lets the batcher merge them) while the load
// stays bounded. It returns when ctx is done and every call has returned;
// calls in flight are not cancelled.
func runWaves(ctx context.Context, workers int, interval time.Duration, fn func(worker, seq int)) {
	var wg sync.WaitGroup
	ticks := make([]chan struct{}, workers)
	for w := range ticks {
		ticks[w] = make(chan struct{}, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := 0
			for range ticks[w] {
				fn(w, seq)
				seq++
			}
		}()
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for _, ch := range ticks {
			select {
			case ch <- struct{}{}:
			default: // worker still busy: skip this wave
			}
		}
		select {
		case <-ctx.Done():
			for _, ch := range ticks {
				close(ch)
			}
			wg.Wait()
			return
		case <-tick.C:
		}
	}
}

// irisRow is one flower with the class the model must return for it.
type irisRow struct {
	x     []float64
	class int
}

// irisRows are rows of the Iris data set with their species.
var irisRows = []irisRow{
	{[]float64{5.9, 3.0, 5.1, 1.8}, 2},
	{[]float64{5.1, 3.5, 1.4, 0.2}, 0},
	{[]float64{7.0, 3.2, 4.7, 1.4}, 1},
	{[]float64{6.4, 3.2, 4.5, 1.5}, 1},
	{[]float64{6.3, 3.3, 6.0, 2.5}, 2},
	{[]float64{4.9, 3.0, 1.4, 0.2}, 0},
}

// sentimentTexts are texts with the answer the VADER model gives.
var sentimentTexts = []struct {
	text     string
	positive bool
}{
	{"I love this", true},
	{"This is terrible. I hate it.", false},
	{"The food was great! The service was excellent.", true},
	{"The movie was not good at all.", false},
	{"It is a table.", false},
}

// requestTimeout bounds every client call. Calls are never cancelled
// otherwise, so that every request the client counts completed on the server.
const requestTimeout = 10 * time.Second

// postHTTP sends one POST and returns the status code, body and latency.
func postHTTP(hc *http.Client, url, contentType string, body []byte) (int, []byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", contentType)
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, b, time.Since(start), err
}

// irisCall makes one call to iris_classifier's /classify. Every eighth call
// sends a row of three values, which must be rejected with 400. The others
// send one to four valid rows (by turns) and must get their classes back:
// the number of rows per call is what the runner's batch-size histogram
// sees when calls run alone, and merged calls make larger batches.
func irisCall(hc *http.Client, base string, t *tally, worker, seq int) {
	if seq%8 == 5 {
		code, body, lat, err := postHTTP(hc, base+"/classify", "application/json", []byte(`[[5.9,3.0,5.1]]`))
		if err != nil {
			t.problem("invalid row: %v", err)
			return
		}
		t.record(code, lat)
		if code != http.StatusBadRequest {
			t.problem("invalid row: HTTP %d %s, want 400", code, body)
		}
		return
	}
	n := 1 + (worker+seq)%4
	rows := make([][]float64, n)
	want := make([]int, n)
	for i := range rows {
		r := irisRows[(worker+seq+i)%len(irisRows)]
		rows[i], want[i] = r.x, r.class
	}
	in, _ := json.Marshal(rows)
	code, body, lat, err := postHTTP(hc, base+"/classify", "application/json", in)
	if err != nil {
		t.problem("%s: %v", in, err)
		return
	}
	t.record(code, lat)
	var got []int
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || !slices.Equal(got, want) {
		t.problem("%s: HTTP %d %s, want 200 %v", in, code, bytes.TrimSpace(body), want)
		return
	}
	t.addRows(n)
}

// sentimentHTTPCall makes one call to sentiment_analyzer's /analysis.
func sentimentHTTPCall(hc *http.Client, base string, t *tally, worker, seq int) {
	tc := sentimentTexts[(worker+seq)%len(sentimentTexts)]
	code, body, lat, err := postHTTP(hc, base+"/analysis", "text/plain", []byte(tc.text))
	if err != nil {
		t.problem("%q: %v", tc.text, err)
		return
	}
	t.record(code, lat)
	var got map[string]bool
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || len(got) != 1 {
		t.problem("%q: HTTP %d %s, want 200 {\"is_positive\":%v}", tc.text, code, bytes.TrimSpace(body), tc.positive)
		return
	}
	if got["is_positive"] != tc.positive {
		t.problem("%q: %s, want is_positive=%v", tc.text, body, tc.positive)
	}
	t.positive(got["is_positive"])
}

// grpcHTTPCode is the HTTP status gobento records for a gRPC code, for the
// codes this client can get.
var grpcHTTPCode = map[codes.Code]int{
	codes.OK:               http.StatusOK,
	codes.InvalidArgument:  http.StatusBadRequest,
	codes.NotFound:         http.StatusNotFound,
	codes.Internal:         http.StatusInternalServerError,
	codes.Unavailable:      http.StatusServiceUnavailable,
	codes.DeadlineExceeded: http.StatusGatewayTimeout,
}

// sentimentGRPCCall makes one Call to sentiment_analyzer's analysis API over
// gRPC: every tenth call has no content and must fail with InvalidArgument.
func sentimentGRPCCall(client pb.BentoServiceClient, t *tally, worker, seq int) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	tc := sentimentTexts[(worker+seq)%len(sentimentTexts)]
	req := &pb.Request{ApiName: "analysis", Content: &pb.Request_Text{Text: wrapperspb.String(tc.text)}}
	invalid := seq%10 == 7
	if invalid {
		req = &pb.Request{ApiName: "analysis"}
	}
	start := time.Now()
	resp, err := client.Call(ctx, req)
	lat := time.Since(start)
	st, _ := status.FromError(err)
	code, ok := grpcHTTPCode[st.Code()]
	if !ok {
		t.problem("analysis: unexpected gRPC status %v", st)
		return
	}
	t.record(code, lat)
	switch {
	case invalid && st.Code() != codes.InvalidArgument:
		t.problem("analysis without content: %v, want InvalidArgument", st)
	case invalid:
	case err != nil:
		t.problem("analysis %q: %v", tc.text, err)
	default:
		field, found := resp.GetJson().GetStructValue().GetFields()["is_positive"]
		if !found || field.GetBoolValue() != tc.positive {
			t.problem("analysis %q: %v, want is_positive=%v", tc.text, resp, tc.positive)
			return
		}
		t.positive(tc.positive)
	}
}

package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// zipkinJSON sends spans to a Zipkin v2 collector as JSON (POST
// /api/v2/spans). OpenTelemetry Go's own Zipkin exporter is deprecated,
// to be removed in 2027; the Zipkin v2 span model is small and stable.
type zipkinJSON struct {
	url    string
	client *http.Client
}

type zipkinEndpoint struct {
	ServiceName string `json:"serviceName,omitempty"`
}

type zipkinAnnotation struct {
	Timestamp int64  `json:"timestamp"`
	Value     string `json:"value"`
}

type zipkinSpan struct {
	TraceID       string             `json:"traceId"`
	ID            string             `json:"id"`
	ParentID      string             `json:"parentId,omitempty"`
	Name          string             `json:"name"`
	Kind          string             `json:"kind,omitempty"`
	Timestamp     int64              `json:"timestamp"`
	Duration      int64              `json:"duration"`
	LocalEndpoint zipkinEndpoint     `json:"localEndpoint"`
	Annotations   []zipkinAnnotation `json:"annotations,omitempty"`
	Tags          map[string]string  `json:"tags,omitempty"`
}

var zipkinKinds = map[trace.SpanKind]string{
	trace.SpanKindServer: "SERVER", trace.SpanKindClient: "CLIENT",
	trace.SpanKindProducer: "PRODUCER", trace.SpanKindConsumer: "CONSUMER",
}

// ExportSpans implements sdktrace.SpanExporter.
func (z *zipkinJSON) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]zipkinSpan, 0, len(spans))
	for _, s := range spans {
		out = append(out, toZipkin(s))
	}
	body, err := json.Marshal(out)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, z.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := z.client.Do(req)
	if err != nil {
		return fmt.Errorf("zipkin: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("zipkin: %s answered %s", z.url, resp.Status)
	}
	return nil
}

// Shutdown implements sdktrace.SpanExporter.
func (z *zipkinJSON) Shutdown(context.Context) error {
	z.client.CloseIdleConnections()
	return nil
}

func toZipkin(s sdktrace.ReadOnlySpan) zipkinSpan {
	sc := s.SpanContext()
	z := zipkinSpan{
		TraceID:   sc.TraceID().String(),
		ID:        sc.SpanID().String(),
		Name:      s.Name(),
		Kind:      zipkinKinds[s.SpanKind()],
		Timestamp: s.StartTime().UnixMicro(),
		Duration:  max(s.EndTime().Sub(s.StartTime()).Microseconds(), 1),
	}
	if p := s.Parent(); p.IsValid() {
		z.ParentID = p.SpanID().String()
	}
	tags := map[string]string{}
	for _, kv := range s.Resource().Attributes() {
		if kv.Key == semconv.ServiceNameKey {
			z.LocalEndpoint.ServiceName = kv.Value.String()
		}
	}
	for _, kv := range s.Attributes() {
		tags[string(kv.Key)] = kv.Value.String()
	}
	if st := s.Status(); st.Code == codes.Error {
		tags["error"] = st.Description
		if st.Description == "" {
			tags["error"] = "true"
		}
	}
	for i, l := range s.Links() {
		tags["link."+strconv.Itoa(i)] = l.SpanContext.TraceID().String() + "/" + l.SpanContext.SpanID().String()
	}
	if len(tags) > 0 {
		z.Tags = tags
	}
	for _, e := range s.Events() {
		v := e.Name
		if len(e.Attributes) > 0 {
			set := attribute.NewSet(e.Attributes...)
			v += " " + set.Encoded(attribute.DefaultEncoder())
		}
		z.Annotations = append(z.Annotations, zipkinAnnotation{Timestamp: e.Time.UnixMicro(), Value: v})
	}
	return z
}

// Package otlpmetrics pushes a server's Prometheus metrics to an
// OpenTelemetry collector over OTLP (api_server.metrics.otlp), for users
// whose stack is a collector rather than a Prometheus scrape. The families
// keep the names, labels and values of the /metrics exposition: they are
// read from the same registry through OpenTelemetry's Prometheus bridge.
package otlpmetrics

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promBridge "go.opentelemetry.io/contrib/bridges/prometheus"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/gobento/bento/config"
	"github.com/gobento/bento/internal/otlpendpoint"
)

// Pusher pushes every interval until Shutdown, which pushes once more.
type Pusher struct{ mp *sdkmetric.MeterProvider }

// Start begins pushing the metrics g gathers as configured by c (which
// must be enabled), as service name/version (OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override them). A failed push is retried at
// the next interval; it never affects requests.
func Start(ctx context.Context, g prometheus.Gatherer, c config.OTLPMetrics, name, version string) (*Pusher, error) {
	exp, err := exporter(ctx, c)
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(name), semconv.ServiceVersion(version)),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("api_server.metrics.otlp: resource: %w", err)
	}
	reader := sdkmetric.NewPeriodicReader(exp,
		sdkmetric.WithInterval(seconds(c.Interval)),
		sdkmetric.WithTimeout(seconds(c.Timeout)),
		sdkmetric.WithProducer(promBridge.NewMetricProducer(promBridge.WithGatherer(g))),
	)
	return &Pusher{mp: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))}, nil
}

// Shutdown pushes the metrics one last time, within ctx, and stops.
func (p *Pusher) Shutdown(ctx context.Context) error { return p.mp.Shutdown(ctx) }

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func envEndpoint() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != ""
}

func exporter(ctx context.Context, c config.OTLPMetrics) (sdkmetric.Exporter, error) {
	if c.Protocol == "grpc" {
		var opts []otlpmetricgrpc.Option
		insecure := c.Insecure
		switch {
		case c.Endpoint != "":
			hp, plain, err := otlpendpoint.GRPC(c.Endpoint, insecure)
			if err != nil {
				return nil, fmt.Errorf("api_server.metrics.otlp.endpoint: %w", err)
			}
			opts, insecure = append(opts, otlpmetricgrpc.WithEndpoint(hp)), plain
		case !envEndpoint():
			opts = append(opts, otlpmetricgrpc.WithEndpoint("localhost:4317"))
		}
		if insecure {
			opts = append(opts, otlpmetricgrpc.WithInsecure())
		}
		if len(c.Headers) > 0 {
			opts = append(opts, otlpmetricgrpc.WithHeaders(c.Headers))
		}
		e, err := otlpmetricgrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("api_server.metrics.otlp (grpc): %w", err)
		}
		return e, nil
	}
	var opts []otlpmetrichttp.Option
	switch {
	case c.Endpoint != "":
		ep, err := otlpendpoint.HTTP(c.Endpoint, "/v1/metrics")
		if err != nil {
			return nil, fmt.Errorf("api_server.metrics.otlp.endpoint: %w", err)
		}
		opts = append(opts, otlpmetrichttp.WithEndpointURL(ep))
	case !envEndpoint():
		opts = append(opts, otlpmetrichttp.WithEndpointURL("http://localhost:4318/v1/metrics"))
	}
	if len(c.Headers) > 0 {
		opts = append(opts, otlpmetrichttp.WithHeaders(c.Headers))
	}
	e, err := otlpmetrichttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("api_server.metrics.otlp (http): %w", err)
	}
	return e, nil
}

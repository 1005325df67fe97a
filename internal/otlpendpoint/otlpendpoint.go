// Package otlpendpoint reads the endpoint of an OTLP exporter as the
// configuration gives it, for traces (tracing.otlp) and metrics
// (api_server.metrics.otlp) alike.
package otlpendpoint

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// GRPC returns the host:port of a gRPC endpoint given as host:port or as a
// URL, and whether to send in plaintext: when insecure is set, or when the
// URL's scheme is http.
func GRPC(endpoint string, insecure bool) (hostport string, plaintext bool, err error) {
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" {
			return "", false, fmt.Errorf("%q is not host:port or a URL", endpoint)
		}
		return u.Host, insecure || u.Scheme == "http", nil
	}
	if _, _, err := net.SplitHostPort(endpoint); err != nil {
		return "", false, fmt.Errorf("%q is not host:port: %w", endpoint, err)
	}
	return endpoint, insecure, nil
}

// HTTP returns the URL of an HTTP endpoint given as a URL or as host:port
// (then http), with path (e.g. "/v1/traces") when it has none.
func HTTP(endpoint, path string) (string, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a URL", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		endpoint = strings.TrimSuffix(endpoint, "/") + path
	}
	return endpoint, nil
}

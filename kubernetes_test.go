package bento_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gobento/bento"
)

// kubeService is a service with two runners for the kubernetes command.
func kubeService() *bento.Service {
	svc := bento.NewService("shop_ranker")
	enc := bento.NewRunner(svc, "text_enc", func() (*struct{}, error) { return &struct{}{}, nil })
	rank := bento.NewRunner(svc, "ranker", func() (*struct{}, error) { return &struct{}{}, nil })
	encode := bento.Method(enc, "encode", func(*struct{}, context.Context, string) (int, error) { return 1, nil })
	score := bento.Method(rank, "score", func(*struct{}, context.Context, int) (int, error) { return 2, nil })
	bento.API(svc, "rank", bento.Text(), bento.JSON[int](), func(ctx context.Context, s string) (int, error) {
		n, err := encode.Run(ctx, s)
		if err != nil {
			return 0, err
		}
		return score.Run(ctx, n)
	})
	return svc
}

// TestKubernetesCommand runs the kubernetes command through bento.Execute:
// it describes the service (name, runners, routes) to internal/k8s, whose
// own tests check the manifests strictly, and reports flag errors.
func TestKubernetesCommand(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    []string // in stdout, or in the error
		notWant []string
		wantErr bool
	}{
		{"one Deployment", []string{"--image", "img:1"},
			[]string{"# APIs: POST /rank (Service shop-ranker", "# Runner text_enc: inside the API server's process.",
				"name: shop-ranker\n", "- serve-http\n", "image: img:1\n"},
			[]string{"serve-runner", "--runner"}, false},
		{"remote runners, repeated and comma-separated", []string{"--image", "img:1", "--namespace", "shop",
			"--remote", "ranker", "--remote=text_enc", "--runner-replicas", "ranker=3,text_enc=1", "--api-replicas", "4"},
			[]string{"- ranker=dns:///shop-ranker-ranker.shop.svc.cluster.local:3010\n",
				"- text_enc=dns:///shop-ranker-text-enc.shop.svc.cluster.local:3010\n",
				"name: shop-ranker-ranker\n", "replicas: 3\n", "replicas: 1\n", "replicas: 4\n", "clusterIP: None\n"},
			nil, false},
		{"image required", nil, []string{"--image is required"}, nil, true},
		{"unknown runner", []string{"--image", "i", "--remote", "rankr"},
			[]string{`--remote rankr: the service shop_ranker has no runner "rankr" (did you mean ranker?); its runners: text_enc, ranker`}, nil, true},
		{"bad replicas syntax", []string{"--image", "i", "--runner-replicas", "ranker"}, []string{"runner-replicas"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, logs bytes.Buffer
			err := bento.Execute(t.Context(), kubeService(), append([]string{"kubernetes"}, tc.args...), &out, &logs)
			got := out.String()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; output:\n%s", got)
				}
				got = err.Error()
			} else if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %q in:\n%s", w, got)
				}
			}
		})
	}
}

func TestKubernetesHelp(t *testing.T) {
	var out bytes.Buffer
	if err := bento.Execute(t.Context(), kubeService(), []string{"kubernetes", "--help"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"--image", "--namespace", "--api-replicas", "--remote", "--runner-replicas", "headless Service", "prometheus-adapter", "docs/kubernetes.md"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("help lacks %q:\n%s", w, out.String())
		}
	}
}

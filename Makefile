# gobento — developer commands. `make test` is what CI runs (via .ci/run).
GO       ?= go
BIN      := $(CURDIR)/.bin
PKGS     := ./...
STATICCHECK_VERSION := v0.8.2
GRPCURL_VERSION     := v1.9.4

.PHONY: test vet fmt-check staticcheck unit timing exhaust e2e compat bench bench-quick fuzz soak proto proto-check tools onnxruntime

## test: everything CI checks: formatting, vet, staticcheck (when installed), unit + integration
## tests with -race, the 30 s soak, the Prometheus e2e test when `prometheus` is installed, and
## the wall-clock tests (exhaustion attacks, batching deadlines) once more without -race (make timing). It fetches the ONNX Runtime library first, so
## the ONNX tests always run.
test: onnxruntime fmt-check vet staticcheck unit timing

## onnxruntime: fetch libonnxruntime.so (ONNX Runtime 1.30.0, from the npm package
## onnxruntime-node via `npm pack`) once into .cache/onnxruntime/, where the onnx package finds it
onnxruntime:
	@bash tools/onnxruntime.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^internal/pb/')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	@if [ -x $(BIN)/staticcheck ]; then $(BIN)/staticcheck $(PKGS); \
	elif command -v staticcheck >/dev/null; then staticcheck $(PKGS); \
	else echo "staticcheck not installed (make tools); skipping"; fi

unit:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

## timing: the tests whose assertions are wall-clock bounds, without the race
## detector and one package at a time, where the bounds mean something: the
## resource-exhaustion attacks (legitimate p99 < 100 ms), batching deadlines,
## training speed. Under -race (make unit) they skip (internal/testenv.Timing)
## or check everything but the clock.
timing:
	$(GO) test -count=1 -p 1 -timeout 5m -run 'TestExhaust|TestOverLimitUploadSees413|TestConnectionCap|TestGRPCRefusedCallsCounted|TestOverload|TestFaultyRunnerTimeout' .
	$(GO) test -count=1 -p 1 -timeout 5m -run 'TestOneCPUBatchesFill' ./internal/batching/
	$(GO) test -count=1 -p 1 -timeout 5m -run 'TestTrainAccuracyAndSpeed' ./examples/iris_classifier/

## exhaust: the old name of timing
exhaust: timing

## tools: install pinned developer tools into .bin/
tools:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@# grpcurl runs the README's gRPC commands in TestDocsCommands, which skips them without it
	GOBIN=$(BIN) $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

## proto: regenerate internal/pb from proto/ (needs protoc; installs the pinned Go plugins into .bin/)
proto:
	bash tools/proto.sh

## proto-check: fail if internal/pb is not what `make proto` generates
proto-check:
	@tmp=$$(mktemp -d); bash tools/proto.sh "$$tmp" && diff -r -x '*_test.go' -x 'doc.go' "$$tmp" internal/pb && echo "internal/pb is up to date"; rc=$$?; rm -rf "$$tmp"; exit $$rc

## e2e: real Prometheus scraping real example services (needs the prometheus binary)
e2e:
	$(GO) test -count=1 -v -run . ./e2e/

## compat: BentoML 1.1.11's own Python clients (HTTP sync/async, gRPC) against every example;
## a virtualenv with pinned packages in .cache/compat-venv (needs CPython 3.11: PYTHON=python3.11)
compat:
	bash tools/compat.sh

## fuzz: every fuzz target for FUZZTIME (default 20s) each
fuzz:
	bash tools/fuzz.sh

## soak: 10 minutes of steady load, checking goroutines, heap and RSS stay flat
soak:
	GOBENTO_SOAK_DURATION=$${GOBENTO_SOAK_DURATION:-10m} $(GO) test -count=1 -v -timeout 30m -run 'Soak' .

## bench: load benchmarks side by side with their baselines (BENCHMARKS.md); bench-quick is a smoke run
bench:
	$(GO) run ./bench

bench-quick:
	$(GO) run ./bench --quick

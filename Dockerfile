# syntax=docker/dockerfile:1
#
# Container image of one gobento example, for the manifests that
# `<example> kubernetes --image IMAGE` prints. The image's entrypoint is the
# example's program, so a pod passes only the subcommand and flags
# (serve-http ..., serve-runner NAME ...).
#
# Pure-Go examples (echo, io_echo, iris_classifier, sentiment_analyzer) build
# into a static binary (CGO_ENABLED=0) on a distroless static base:
#
#   docker build --build-arg EXAMPLE=iris_classifier -t iris:1.0 .
#
# The ONNX Runtime examples (image_classifier, iris_onnx) need cgo and
# libonnxruntime.so at run time. Fetch the library into .cache/onnxruntime/
# first, then build the `onnxruntime` target, which links with cgo, runs on
# distroless cc (glibc, libstdc++) and carries the library:
#
#   make onnxruntime
#   docker build --target onnxruntime --build-arg EXAMPLE=image_classifier -t mnist:1.0 .
#
# (image_classifier also builds as pure Go with the onnxgo tag:
#   docker build --build-arg EXAMPLE=image_classifier --build-arg TAGS=onnxgo .)
#
# Both run as the distroless nonroot user 65532:65532, the runAsUser of the
# generated Deployments, and need no writable path but /tmp (an emptyDir in
# the manifests).

ARG GO_VERSION=1.26
ARG EXAMPLE=iris_classifier

# ---- source: modules and sources, shared by both builds
FROM golang:${GO_VERSION}-bookworm AS source
ARG EXAMPLE
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN test -f "examples/${EXAMPLE}/main.go" || { echo "no example ${EXAMPLE}: see examples/" >&2; exit 1; }

# ---- build: the example's program as a static binary
FROM source AS build
ARG EXAMPLE
ARG TAGS=""
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -tags "${TAGS}" -ldflags "-s -w" \
      -o /out/service "./examples/${EXAMPLE}"

# ---- build-cgo: the same with cgo, for the ONNX Runtime examples
FROM source AS build-cgo
ARG EXAMPLE
ARG TAGS=""
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -tags "${TAGS}" -ldflags "-s -w" \
      -o /out/service "./examples/${EXAMPLE}"

# ---- onnxruntime: cgo binary + libonnxruntime.so (docker build --target onnxruntime)
FROM gcr.io/distroless/cc-debian12:nonroot AS onnxruntime
COPY --from=build-cgo /out/service /service
COPY .cache/onnxruntime/libonnxruntime.so /opt/onnxruntime/libonnxruntime.so
ENV GOBENTO_ONNXRUNTIME_LIB=/opt/onnxruntime/libonnxruntime.so
USER 65532:65532
EXPOSE 3000 3010 3011
ENTRYPOINT ["/service"]
CMD ["serve-http"]

# ---- default: static binary on distroless static
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/service /service
USER 65532:65532
EXPOSE 3000 3010 3011
ENTRYPOINT ["/service"]
CMD ["serve-http"]

#!/usr/bin/env bash
# Regenerates the Go code for the BentoML v1 gRPC protocol.
#
# Usage: bash tools/proto.sh [OUTPUT_DIR]
#
# OUTPUT_DIR defaults to internal/pb (relative to the repository root). A
# relative OUTPUT_DIR given on the command line is taken relative to the
# caller's working directory, so `make proto-check` can regenerate into a
# temporary directory and `diff -r` it against internal/pb.
#
# The protoc plugins are installed at pinned versions into ./.bin (ignored by
# git) when missing or at another version, so that regeneration is
# byte-identical on every machine with the same protoc (3.21.12 here; its
# version is written into the header of the generated files).
set -euo pipefail

PROTOC_GEN_GO_VERSION="v1.36.12"
PROTOC_GEN_GO_GRPC_VERSION="v1.6.2"

# The Go package prefix of the generated code; protoc-gen-go strips it from the
# go_package import path, so files land directly in OUTPUT_DIR.
GO_MODULE_PREFIX="github.com/gobento/bento/internal/pb"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ $# -gt 1 ]]; then
  echo "usage: $0 [OUTPUT_DIR]" >&2
  exit 2
fi
if [[ $# -eq 1 ]]; then
  out="$1"
  [[ "$out" = /* ]] || out="$PWD/$out"
else
  out="$root/internal/pb"
fi

bin="$root/.bin"

if ! command -v protoc >/dev/null 2>&1; then
  echo "proto.sh: protoc not found on PATH (apt-get install protobuf-compiler libprotobuf-dev)" >&2
  exit 1
fi

# install_plugin NAME PACKAGE VERSION EXPECTED_VERSION_OUTPUT
install_plugin() {
  local name="$1" pkg="$2" version="$3" want="$4"
  local have=""
  if [[ -x "$bin/$name" ]]; then
    have="$("$bin/$name" --version 2>/dev/null || true)"
  fi
  if [[ "$have" != "$want" ]]; then
    echo "proto.sh: installing $name $version into .bin" >&2
    # go install refuses to overwrite a file that is not a Go binary.
    rm -f "$bin/$name"
    # Run outside the module so its go.mod does not influence the install.
    (cd / && GOBIN="$bin" go install "$pkg@$version")
    have="$("$bin/$name" --version)"
    if [[ "$have" != "$want" ]]; then
      echo "proto.sh: $name reports '$have', want '$want'" >&2
      exit 1
    fi
  fi
}

install_plugin protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go \
  "$PROTOC_GEN_GO_VERSION" "protoc-gen-go $PROTOC_GEN_GO_VERSION"
install_plugin protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc \
  "$PROTOC_GEN_GO_GRPC_VERSION" "protoc-gen-go-grpc ${PROTOC_GEN_GO_GRPC_VERSION#v}"

mkdir -p "$out"

# Paths are given relative to proto/ so the descriptor registers the file as
# bentoml/grpc/v1/service.proto, the same path BentoML uses.
cd "$root/proto"
protoc \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
  -I . \
  --go_out="$out" --go_opt=module="$GO_MODULE_PREFIX" \
  --go-grpc_out="$out" --go-grpc_opt=module="$GO_MODULE_PREFIX" \
  bentoml/grpc/v1/service.proto

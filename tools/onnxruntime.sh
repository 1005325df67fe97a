#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library once into .cache/onnxruntime/ (git-ignored).
#
# Debian ships no ONNX Runtime. The npm package onnxruntime-node carries the official
# Linux build of the library; `npm pack` downloads the package tarball without running
# its install script (which would try to download CUDA parts), and tar extracts only the
# library. Nothing else of the package is kept.
#
# Usage: bash tools/onnxruntime.sh [DEST_DIR]   (default: .cache/onnxruntime)
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.30.0
dest=${1:-.cache/onnxruntime}
lib="$dest/libonnxruntime.so"

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "onnxruntime: no onnxruntime-node build for $(uname -m); set GOBENTO_ONNXRUNTIME_LIB to a libonnxruntime.so $version" >&2; exit 1 ;;
esac

if [ -f "$lib" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version-$arch" ]; then
  echo "onnxruntime: $lib ($version, $arch) already present"
  exit 0
fi
command -v npm >/dev/null || { echo "onnxruntime: npm is needed (apt-get install npm)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "onnxruntime: npm pack onnxruntime-node@$version"
(cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
member="package/bin/napi-v6/linux/$arch/libonnxruntime.so.1"
tar -xzf "$tmp/onnxruntime-node-$version.tgz" -C "$tmp" "$member"
mkdir -p "$dest"
mv "$tmp/$member" "$lib.tmp"
chmod 0644 "$lib.tmp"
mv "$lib.tmp" "$lib"
echo "$version-$arch" > "$dest/VERSION"
echo "onnxruntime: installed $lib ($version, $arch, $(du -h "$lib" | cut -f1))"

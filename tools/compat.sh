#!/usr/bin/env bash
# make compat: BentoML 1.1.11's own Python clients against the examples.
# Creates a virtualenv in .cache/compat-venv (git-ignored) with the pinned
# compat/requirements.txt, reinstalling only when that file changes; pip's
# wheel cache is .cache/pip. Builds the examples into .cache/compat-bin and
# runs compat/ with pytest. Needs CPython 3.11 (PYTHON, default python3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3.11}
cache=$PWD/.cache
venv=$cache/compat-venv
stamp=$venv/.requirements.sha256
want=$(sha256sum compat/requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== creating $venv with $($python --version) and compat/requirements.txt"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --cache-dir "$cache/pip" --disable-pip-version-check -r compat/requirements.txt
  echo "$want" > "$stamp"
fi
echo "== building the examples"
mkdir -p "$cache/compat-bin"
for ex in echo iris_classifier sentiment_analyzer image_classifier io_echo; do
  go build -o "$cache/compat-bin/$ex" "./examples/$ex"
done
echo "== BentoML $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("bentoml"))') clients against the examples"
GOBENTO_COMPAT_BIN=$cache/compat-bin "$venv/bin/python" -m pytest -q compat "$@"

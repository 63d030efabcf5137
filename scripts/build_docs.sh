#!/usr/bin/env bash
# Build the API reference (docs/api, Sphinx autodoc + napoleon) with every warning an error
# (docutils markup, missing objects). Output goes to a temporary folder (or $1), not the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${1:-$(mktemp -d)}
"$PY" -m sphinx -b html -W --keep-going -q -E docs/api "$OUT"
echo "API reference built in $OUT"

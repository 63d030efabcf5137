#!/usr/bin/env bash
# Install the test extras and run the whole suite: ruff, mypy, pytest.
# Browser tests need Debian's chromium and CJK fonts, PostGIS tests Debian's postgresql and
# postgis; installed here when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip install --quiet --disable-pip-version-check -e ".[test]"
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
# PostGIS tests start a throwaway cluster: Debian's postgresql and postgis, installed when missing.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql postgis >/dev/null
  PGV=$(ls /usr/lib/postgresql | sort -n | tail -1)
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "postgresql-$PGV-postgis-3" >/dev/null
fi
"$PY" -m ruff check .
"$PY" -m mypy
PYTHON="$PY" bash scripts/build_docs.sh
"$PY" -m pytest -q "$@"

#!/usr/bin/env bash
# Create or reuse a venv of jobs/delta from PyPI: requirements.txt (pyspark + delta-spark, the sink)
# by default, or the pins file given (bundle-requirements.txt: the bundle check), under
# $HOME/.cache/scoregate/venv-delta-<pins hash>: outside the clone, keyed by the pins, so a fresh
# clone (CI) reuses it. Prints the venv's python path on stdout.
# Usage: venv.sh [PINS_FILE]
# Env: PYTHON  interpreter for a new venv (default python3.11, else python3)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${SCOREGATE_CACHE:-$HOME/.cache/scoregate}"
REQ="$(cd "$HERE" && realpath "${1:-requirements.txt}")"
want="$(sha256sum "$REQ" | cut -c1-12)"
VENV="$CACHE/venv-delta-$want"

current() { [[ -x "$VENV/bin/python" && "$(cat "$VENV/.installed" 2>/dev/null || true)" == "$want" ]]; }

if ! current; then
  mkdir -p "$CACHE"
  exec 8>"$VENV.lock" # serialise concurrent set-ups
  flock 8
  if ! current; then
    rm -rf "$VENV" # a half-made venv from an interrupted run is not trusted
    py="${PYTHON:-$(command -v python3.11 || command -v python3)}"
    "$py" -m venv "$VENV"
    printf '[delta] installing %s into %s (first run: a minute, a few for the sink: pyspark is ~450 MB)\n' "$REQ" "$VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
    echo "$want" >"$VENV/.installed"
  fi
fi
echo "$VENV/bin/python"

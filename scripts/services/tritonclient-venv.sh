#!/usr/bin/env bash
# Create or reuse the venv of the Open Inference Protocol test client, tritonclient[http] from
# PyPI, under $HOME/.cache/scoregate/venv-tritonclient-<version> (outside the clone, keyed by
# the version, so a fresh clone such as CI's reuses it). Prints the venv's python path on stdout.
# Env: TRITONCLIENT_VERSION (default 2.73.0); PYTHON interpreter for a new venv (default python3)
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$SCRIPT_DIR/lib.sh"

VERSION="${TRITONCLIENT_VERSION:-2.73.0}"
VENV="$SCOREGATE_CACHE/venv-tritonclient-$VERSION"
want="tritonclient[http]==$VERSION"

# Installed and complete: the marker is written only after pip succeeded.
current() { [[ -x "$VENV/bin/python" && "$(cat "$VENV/.installed" 2>/dev/null || true)" == "$want" ]]; }

if ! current; then
  mkdir -p "$SCOREGATE_CACHE"
  # Serialise concurrent set-ups (parallel test runs).
  exec 8>"$VENV.lock"
  flock 8
  if ! current; then
    rm -rf "$VENV" # a half-made venv from an interrupted run is not trusted
    "${PYTHON:-python3}" -m venv "$VENV"
    log "installing $want into $VENV (first run takes a minute)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$want"
    echo "$want" >"$VENV/.installed"
  fi
fi
echo "$VENV/bin/python"

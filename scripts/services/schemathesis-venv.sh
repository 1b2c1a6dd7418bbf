#!/usr/bin/env bash
# Create or reuse a Python venv holding schemathesis ($HOME/.cache/scoregate/schemathesis-<version>),
# keyed by the pinned version so a new pin gets a new venv and an old one is never half-upgraded.
# Prints the path of the `st` command on stdout; progress goes to stderr.
# Env: PYTHON  interpreter for a new venv (default python3; schemathesis needs >= 3.9)
set -euo pipefail
VERSION="4.32.*"
KEY="${VERSION//\*/x}"
VENV="${SCOREGATE_CACHE:-$HOME/.cache/scoregate}/schemathesis-$KEY"
mkdir -p "$(dirname "$VENV")"

current() { [[ -x "$VENV/bin/st" && -f "$VENV/.installed" ]]; }

if ! current; then
  # Serialise concurrent set-ups (parallel test runs).
  exec 8>"$VENV.lock"
  flock 8
  if ! current; then
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
    echo "schemathesis-venv: installing schemathesis==$VERSION into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$VERSION" >&2
    touch "$VENV/.installed"
  fi
fi
echo "$VENV/bin/st"

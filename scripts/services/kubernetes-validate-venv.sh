#!/usr/bin/env bash
# Create or reuse a Python venv holding kubernetes-validate ($HOME/.cache/scoregate/kubernetes-validate-<version>),
# keyed by the pinned version so a new pin gets a new venv. It ships the Kubernetes JSON schemas:
# no cluster is needed. Prints the path of the `kubernetes-validate` command on stdout.
# Env: PYTHON  interpreter for a new venv (default python3)
set -euo pipefail
VERSION="1.37.0"
VENV="${SCOREGATE_CACHE:-$HOME/.cache/scoregate}/kubernetes-validate-$VERSION"
mkdir -p "$(dirname "$VENV")"

current() { [[ -x "$VENV/bin/kubernetes-validate" && -f "$VENV/.installed" ]]; }

if ! current; then
  exec 8>"$VENV.lock"
  flock 8
  if ! current; then
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
    echo "kubernetes-validate-venv: installing kubernetes-validate==$VERSION into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "kubernetes-validate==$VERSION" >&2
    touch "$VENV/.installed"
  fi
fi
echo "$VENV/bin/kubernetes-validate"

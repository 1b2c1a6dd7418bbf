#!/usr/bin/env bash
# Create or reuse the model pipeline's Python venv ($HOME/.cache/scoregate/venv-py311-<pins hash>,
# linked from <repo>/.cache/venv) from
# models/pipeline/requirements.txt -- the same venv, pins and
# .requirements.sha256 marker as models/build.sh, so either script reuses the
# other's install. Prints the venv's python path on stdout.
# Env: PYTHON  interpreter for a new venv (default python3; the pins are for Python 3.11)
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$SCRIPT_DIR/lib.sh"

ensure_venv_link
VENV="$VENV_REAL"
REQ="$REPO_ROOT/models/pipeline/requirements.txt"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"

current() { [[ -x "$VENV/bin/mlflow" && "$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)" == "$want" ]]; }

# Fast path: installed and up to date (no lock).
if ! current; then
  # Serialise concurrent set-ups (parallel test runs); build.sh itself does not lock.
  exec 8>"$VENV_REAL.lock"
  flock 8
  if ! current; then
    [[ -x "$VENV/bin/python" ]] || "${PYTHON:-python3}" -m venv "$VENV"
    log "installing $REQ into $VENV (first run takes a few minutes)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
    echo "$want" >"$VENV/.requirements.sha256"
  fi
fi
echo "$VENV/bin/python"

#!/usr/bin/env bash
# Create or reuse the venv of a serving peer for the load test (loadtest/README.md), from PyPI,
# under $HOME/.cache/scoregate/venv-<peer>-<version> (outside the clone, keyed by version, so a
# fresh clone reuses it). Prints the venv's python path on stdout.
#   mlserver  Seldon MLServer 1.7.1 with mlserver-mlflow, onnxruntime (our small ONNX runtime);
#             uvloop pinned to 0.21.0: 0.23 crashes MLServer's workers
#   pytriton  nvidia-pytriton 0.7.0 (ships Triton's server) with onnxruntime
# Env: PYTHON interpreter for a new venv (default python3, which must be 3.11 for pytriton's stub).
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$SCRIPT_DIR/lib.sh"

peer="${1:-}"
case "$peer" in
  mlserver)
    VERSION="${MLSERVER_VERSION:-1.7.1}"
    want=("mlserver==$VERSION" "mlserver-mlflow==$VERSION" "onnx==1.23.2" "onnxruntime==1.30.0" "uvloop==0.21.0") ;;
  pytriton)
    VERSION="${PYTRITON_VERSION:-0.7.0}"
    want=("nvidia-pytriton==$VERSION" "onnxruntime==1.30.0") ;;
  *) die "usage: peer-venv.sh mlserver|pytriton" ;;
esac
VENV="$SCOREGATE_CACHE/venv-$peer-$VERSION"
marker="${want[*]}"

current() { [[ -x "$VENV/bin/python" && "$(cat "$VENV/.installed" 2>/dev/null || true)" == "$marker" ]]; }

if ! current; then
  mkdir -p "$SCOREGATE_CACHE"
  exec 8>"$VENV.lock"
  flock 8
  if ! current; then
    rm -rf "$VENV" # a half-made venv from an interrupted run is not trusted
    "${PYTHON:-python3}" -m venv "$VENV"
    log "installing ${want[*]} into $VENV (first run takes a few minutes)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${want[@]}"
    echo "$marker" >"$VENV/.installed"
  fi
fi
echo "$VENV/bin/python"

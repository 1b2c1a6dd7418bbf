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
pip_venv "$VENV" "${want[*]}" "${want[@]}"
echo "$VENV/bin/python"

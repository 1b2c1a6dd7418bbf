#!/usr/bin/env bash
# Create or reuse the venv of the Open Inference Protocol test client, tritonclient[http] from
# PyPI, under $HOME/.cache/scoregate/venv-tritonclient-<version> (outside the clone, keyed by
# the version, so a fresh clone such as CI's reuses it). Prints the venv's python path on stdout.
# Env: TRITONCLIENT_VERSION (default 2.73.0); PYTHON interpreter for a new venv (default python3)
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
VERSION="${TRITONCLIENT_VERSION:-2.73.0}"
VENV="$SCOREGATE_CACHE/venv-tritonclient-$VERSION"
pip_venv "$VENV" "tritonclient[http]==$VERSION" "tritonclient[http]==$VERSION"
echo "$VENV/bin/python"

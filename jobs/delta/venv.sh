#!/usr/bin/env bash
# Create or reuse a venv of jobs/delta from PyPI: requirements.txt (pyspark + delta-spark, the sink)
# by default, or the pins file given (bundle-requirements.txt: the bundle check), under
# $HOME/.cache/scoregate/venv-delta-<pins hash>: outside the clone, keyed by the pins, so a fresh
# clone (CI) reuses it. Prints the venv's python path on stdout.
# Usage: venv.sh [PINS_FILE]
# Env: PYTHON  interpreter for a new venv (default python3.11, else python3)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/../../scripts/services/lib.sh"
REQ="$(cd "$HERE" && realpath "${1:-requirements.txt}")"
want="$(sha256sum "$REQ" | cut -c1-12)"
VENV="$SCOREGATE_CACHE/venv-delta-$want"
# pyspark is ~450 MB: the sink's first install takes a few minutes.
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}" pip_venv "$VENV" "$want" -r "$REQ"
echo "$VENV/bin/python"

#!/usr/bin/env bash
# Create or reuse a Python venv holding schemathesis ($HOME/.cache/scoregate/schemathesis-<version>),
# keyed by the pinned version so a new pin gets a new venv and an old one is never half-upgraded.
# Prints the path of the `st` command on stdout; progress goes to stderr.
# Env: PYTHON  interpreter for a new venv (default python3; schemathesis needs >= 3.9)
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
VERSION="4.32.*"
VENV="$SCOREGATE_CACHE/schemathesis-${VERSION//\*/x}"
pip_venv "$VENV" "schemathesis==$VERSION" "schemathesis==$VERSION"
echo "$VENV/bin/st"

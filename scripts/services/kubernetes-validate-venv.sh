#!/usr/bin/env bash
# Create or reuse a Python venv holding kubernetes-validate ($HOME/.cache/scoregate/kubernetes-validate-<version>),
# keyed by the pinned version so a new pin gets a new venv. It ships the Kubernetes JSON schemas:
# no cluster is needed. Prints the path of the `kubernetes-validate` command on stdout.
# Env: PYTHON  interpreter for a new venv (default python3)
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
VERSION="1.37.0"
VENV="$SCOREGATE_CACHE/kubernetes-validate-$VERSION"
pip_venv "$VENV" "kubernetes-validate==$VERSION" "kubernetes-validate==$VERSION"
echo "$VENV/bin/kubernetes-validate"

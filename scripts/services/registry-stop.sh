#!/usr/bin/env bash
# Stop Apicurio Registry (its in-memory content is lost).
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$SCRIPT_DIR/lib.sh"
stop_pid "$REGISTRY_PIDFILE" registry TERM
[[ -d "$SERVICES_DIR" ]] && write_env
exit 0

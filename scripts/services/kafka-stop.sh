#!/usr/bin/env bash
# Stop the Kafka broker. Ports, config and data stay, so kafka-start.sh brings it
# back on the same port with the same data.
# Options: --kill  SIGKILL instead of a graceful SIGTERM (simulates a crash)
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$SCRIPT_DIR/lib.sh"
SIG=TERM
for a in "$@"; do
  case "$a" in
    --kill) SIG=KILL ;;
    *) die "unknown option: $a" ;;
  esac
done
stop_pid "$KAFKA_PIDFILE" kafka "$SIG"
[[ -d "$SERVICES_DIR" ]] && write_env
exit 0

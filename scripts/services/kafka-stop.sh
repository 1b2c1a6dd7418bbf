#!/usr/bin/env bash
# Stop the Kafka node(s). Ports, config and data stay, so kafka-start.sh brings them
# back on the same ports with the same data.
# Options: --kill    SIGKILL instead of a graceful SIGTERM (simulates a crash)
#          --node N  node N only; default every node (side by side)
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$SCRIPT_DIR/lib.sh"
SIG=TERM
ONLY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --kill) SIG=KILL ;;
    --node) ONLY="${2:-}"; shift ;;
    *) die "unknown option: $1" ;;
  esac
  shift
done
for ((n = 1; n <= $(kafka_nodes); n++)); do
  [[ -z "$ONLY" || "$ONLY" == "$n" ]] || continue
  kafka_node "$n"
  stop_pid "$KAFKA_PIDFILE" "kafka node $n" "$SIG" &
done
wait
[[ -d "$SERVICES_DIR" ]] && write_env
exit 0

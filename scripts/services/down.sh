#!/usr/bin/env bash
# Stop Kafka and Apicurio Registry started by up.sh (by pid file) and wait for exit.
# Options: --clean  also remove the state dir ($SERVICES_DIR: data, logs, env)
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$SCRIPT_DIR/lib.sh"
CLEAN="${SERVICES_CLEAN:-0}"
for a in "$@"; do
  case "$a" in
    --clean) CLEAN=1 ;;
    *) die "unknown option: $a" ;;
  esac
done
stop_pid "$REGISTRY_PIDFILE" registry TERM &
[[ -d "$SERVICES_DIR" ]] && "$SCRIPT_DIR/kafka-stop.sh" &
wait
if [[ "$CLEAN" == 1 ]]; then
  case "$SERVICES_DIR" in
    ""|/) die "refusing to remove '$SERVICES_DIR'" ;;
  esac
  rm -rf "$SERVICES_DIR"
  log "removed $SERVICES_DIR"
elif [[ -d "$SERVICES_DIR" ]]; then
  write_env
fi

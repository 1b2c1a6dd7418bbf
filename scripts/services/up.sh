#!/usr/bin/env bash
# Fetch (if needed) and start Kafka + Apicurio Registry on free loopback ports,
# wait until both really answer, write $SERVICES_DIR/env and print it.
#   SERVICES_DIR  state dir (default <repo>/.cache/services/run)
#   SERVICES_FRESH=1  wipe $SERVICES_DIR first (new ports, empty data)
# Usage: scripts/services/up.sh && . .cache/services/run/env
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$SCRIPT_DIR/lib.sh"

"$SCRIPT_DIR/fetch.sh"

if [[ "${SERVICES_FRESH:-0}" == 1 ]]; then
  "$SCRIPT_DIR/down.sh" --clean
fi
mkdir -p "$SERVICES_DIR"

# Launch both, then wait for both (JVM start-ups overlap).
"$SCRIPT_DIR/kafka-start.sh" --no-wait --new-ports-if-busy
"$SCRIPT_DIR/registry-start.sh" --no-wait

rc=0
"$SCRIPT_DIR/kafka-start.sh" --wait-only & kpid=$!
"$SCRIPT_DIR/registry-start.sh" --wait-only & rpid=$!
wait "$kpid" || rc=1
wait "$rpid" || rc=1
if [[ $rc -ne 0 ]]; then
  log "start-up failed; stopping what was started"
  "$SCRIPT_DIR/down.sh" || true
  exit 1
fi
write_env
cat "$ENV_FILE"

#!/usr/bin/env bash
# Start Apicurio Registry (in-memory H2 storage) on a free loopback port and wait
# until its Confluent-compatible API answers.
# Options: --no-wait    return right after launching
#          --wait-only  do not launch; just wait until the running registry answers
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$SCRIPT_DIR/lib.sh"

WAIT=1
LAUNCH=1
for a in "$@"; do
  case "$a" in
    --no-wait) WAIT=0 ;;
    --wait-only) LAUNCH=0 ;;
    *) die "unknown option: $a" ;;
  esac
done

[[ -f "$APICURIO_HOME/.complete" ]] || die "Apicurio not fetched; run scripts/services/fetch.sh"
mkdir -p "$SERVICES_DIR/registry-tmp"

if is_ours "$REGISTRY_PIDFILE"; then
  [[ $LAUNCH -eq 0 ]] || log "registry already running (pid $(cat "$REGISTRY_PIDFILE"))"
elif [[ $LAUNCH -eq 0 ]]; then
  log_tail registry "$REGISTRY_LOG"
  die "registry is not running"
else
  # Apicurio 3.x is compiled for Java 21 (class file 65): use a newer JDK if needed.
  JAVA="${REGISTRY_JAVA:-$(find_java 21)}" \
    || die "Apicurio Registry $APICURIO_VERSION needs Java 21+ (none found; set REGISTRY_JAVA or JAVA_HOME)"
  [[ -f "$REGISTRY_PORTS" ]] || free_ports 2 >"$REGISTRY_PORTS"
  read -r PORT MPORT <"$REGISTRY_PORTS"
  if ! ports_free "$PORT" "$MPORT"; then
    # The registry keeps no state, so moving it is harmless.
    free_ports 2 >"$REGISTRY_PORTS"
    read -r PORT MPORT <"$REGISTRY_PORTS"
  fi
  log "starting Apicurio Registry $APICURIO_VERSION on 127.0.0.1:$PORT (management $MPORT)"
  # shellcheck disable=SC2086
  start_detached "$REGISTRY_PIDFILE" "$REGISTRY_LOG" \
    "$JAVA" $REGISTRY_HEAP_OPTS -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    "$SERVICES_MARKER" \
    -Djava.io.tmpdir="$SERVICES_DIR/registry-tmp" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$MPORT" \
    -Dquarkus.http.access-log.enabled=false \
    -Dapicurio.rest.deletion.group.enabled=true \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -Dapicurio.storage.snapshot.location="$SERVICES_DIR/registry-tmp" \
    -Dapicurio.import.work-dir="$SERVICES_DIR/registry-tmp" \
    -Dapicurio.datasource.jdbc.initial-size=4 -Dapicurio.datasource.jdbc.min-size=4 \
    -jar "$APICURIO_HOME/quarkus-run.jar"
fi
write_env
read -r PORT _ <"$REGISTRY_PORTS"

if [[ $WAIT -eq 1 ]]; then
  if ! node "$SCRIPT_DIR/probe.mjs" registry "http://127.0.0.1:$PORT/apis/ccompat/v7" "$REGISTRY_START_TIMEOUT" "$(cat "$REGISTRY_PIDFILE")"; then
    log_tail registry "$REGISTRY_LOG"
    die "registry did not become ready"
  fi
  log "registry ready at http://127.0.0.1:$PORT/apis/ccompat/v7 (pid $(cat "$REGISTRY_PIDFILE"))"
fi

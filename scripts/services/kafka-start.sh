#!/usr/bin/env bash
# Start (or restart) the single-node KRaft Kafka broker+controller.
# First start: picks free loopback ports, writes server.properties, formats storage.
# Later starts (e.g. after kafka-stop.sh --kill): reuse the SAME ports and data dir.
# Options: --no-wait    return right after launching (no readiness probe)
#          --wait-only  do not launch; just wait until the running broker answers
#          --new-ports-if-busy  if the saved ports are taken by something else,
#                       pick new ones instead of failing (used by up.sh)
# Env: KAFKA_EXTRA_PROPS (lines appended to server.properties; remembered in the state dir),
#      KAFKA_HEAP_OPTS, KAFKA_JAVA, KAFKA_START_TIMEOUT, SERVICES_DIR
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$SCRIPT_DIR/lib.sh"

WAIT=1
LAUNCH=1
NEW_PORTS_IF_BUSY=0
for a in "$@"; do
  case "$a" in
    --new-ports-if-busy) NEW_PORTS_IF_BUSY=1 ;;
    --no-wait) WAIT=0 ;;
    --wait-only) LAUNCH=0 ;;
    *) die "unknown option: $a" ;;
  esac
done

[[ -f "$KAFKA_HOME/.complete" ]] || die "Kafka not fetched; run scripts/services/fetch.sh"
mkdir -p "$SERVICES_DIR" "$KAFKA_STATE"

CP="$KAFKA_HOME/libs/*"
LOG4J_CONF="$KAFKA_STATE/log4j2.properties"
LOG4J_OPT="-Dlog4j2.configurationFile=$LOG4J_CONF"
PROPS="$KAFKA_STATE/server.properties"

if is_ours "$KAFKA_PIDFILE"; then
  [[ $LAUNCH -eq 0 ]] || log "Kafka already running (pid $(cat "$KAFKA_PIDFILE"))"
elif [[ $LAUNCH -eq 0 ]]; then
  log_tail kafka "$KAFKA_LOG"
  die "Kafka is not running"
else
  JAVA="${KAFKA_JAVA:-$(find_java 17)}" || die "Kafka $KAFKA_VERSION needs Java 17+ (set KAFKA_JAVA)"
  if [[ ! -f "$KAFKA_PORTS" ]]; then
    free_ports 2 >"$KAFKA_PORTS"
  fi
  read -r PORT CPORT <"$KAFKA_PORTS"
  if ! ports_free "$PORT" "$CPORT"; then
    if [[ $NEW_PORTS_IF_BUSY -eq 1 ]]; then
      log "saved ports $PORT/$CPORT are taken; picking new ones"
      free_ports 2 >"$KAFKA_PORTS"
      read -r PORT CPORT <"$KAFKA_PORTS"
    else
      die "port $PORT or $CPORT on 127.0.0.1 is in use by another process; cannot restart Kafka on the same port"
    fi
  fi
  # Extra settings are remembered so a restart from another shell keeps them.
  EXTRA="$KAFKA_STATE/extra.properties"
  if [[ -n "${KAFKA_EXTRA_PROPS:-}" ]]; then printf '%s\n' "$KAFKA_EXTRA_PROPS" >"$EXTRA"; fi
  # Regenerated on every start from the saved ports (same ports => same config).
  {
    cat <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_STATE/data
auto.create.topics.enable=true
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
# After a crash (SIGKILL) the restarted broker cannot re-register until its old
# registration's session expires (default 9s); keep that short for outage tests.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000
PROPS
    # Extra/override settings, newline separated (later keys win).
    if [[ -f "$EXTRA" ]]; then cat "$EXTRA"; fi
  } >"$PROPS"
  # Kafka's bundled log4j2.yaml needs jackson-yaml wiring; a properties file is simpler.
  cat >"$LOG4J_CONF" <<'L4J'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
logger.controller.name = kafka.server.ControllerServer
logger.controller.level = INFO
logger.logmgr.name = kafka.log.LogManager
logger.logmgr.level = INFO
L4J
  if [[ ! -f "$KAFKA_STATE/data/meta.properties" ]]; then
    CLUSTER_ID="$(python3 -c 'import base64,uuid;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
    log "formatting KRaft storage (cluster id $CLUSTER_ID)"
    # shellcheck disable=SC2086
    "$JAVA" -Xmx256m $LOG4J_OPT -cp "$CP" kafka.tools.StorageTool format \
      --config "$PROPS" --cluster-id "$CLUSTER_ID" --ignore-formatted >>"$KAFKA_LOG" 2>&1 \
      || { log_tail kafka "$KAFKA_LOG"; die "kafka storage format failed"; }
  fi
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$PORT (controller $CPORT)"
  # shellcheck disable=SC2086
  start_detached "$KAFKA_PIDFILE" "$KAFKA_LOG" \
    "$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true "$SERVICES_MARKER" $LOG4J_OPT \
    -cp "$CP" kafka.Kafka "$PROPS"
fi
write_env
read -r PORT _ <"$KAFKA_PORTS"

if [[ $WAIT -eq 1 ]]; then
  if ! node "$SCRIPT_DIR/probe.mjs" kafka "127.0.0.1:$PORT" "$KAFKA_START_TIMEOUT" "$(cat "$KAFKA_PIDFILE")"; then
    log_tail kafka "$KAFKA_LOG"
    die "Kafka did not become ready"
  fi
  log "Kafka ready at 127.0.0.1:$PORT (pid $(cat "$KAFKA_PIDFILE"))"
fi

#!/usr/bin/env bash
# Start (or restart) KRaft Kafka: KAFKA_NODES combined broker+controller nodes (default 1).
# First start: picks free loopback ports for every node, writes each server.properties,
# formats storage (one cluster id). With several nodes: replication factor 3 (or the node
# count), min.insync.replicas 2, the offsets and transaction topics likewise.
# Later starts (e.g. after kafka-stop.sh --kill): reuse the SAME ports and data dirs.
# Options: --node N     start (or wait for) node N only; default every node
#          --no-wait    return right after launching (no readiness probe)
#          --wait-only  do not launch; just wait until the running broker answers
#          --new-ports-if-busy  if the saved ports are taken by something else,
#                       pick new ones instead of failing (used by up.sh)
# Env: KAFKA_EXTRA_PROPS (lines appended to server.properties; remembered in the state dir),
#      KAFKA_SASL_SSL_KEYSTORE, KAFKA_SASL_SSL_KEYSTORE_PASSWORD, KAFKA_SASL_USERS: a second
#        listener, SASL_SSL on its own loopback port (KAFKA_SASL_SSL_BROKERS in the env file),
#        with the PKCS12 keystore (server key and chain) and the users "name:password,…", each
#        both a PLAIN user and SCRAM-SHA-256/512 credentials (added when storage is formatted);
#        remembered in the state dir like KAFKA_EXTRA_PROPS,
#      KAFKA_HEAP_OPTS, KAFKA_JAVA, KAFKA_START_TIMEOUT, SERVICES_DIR
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$SCRIPT_DIR/lib.sh"

WAIT=1
LAUNCH=1
NEW_PORTS_IF_BUSY=0
ONLY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --new-ports-if-busy) NEW_PORTS_IF_BUSY=1 ;;
    --no-wait) WAIT=0 ;;
    --wait-only) LAUNCH=0 ;;
    --node) ONLY="${2:-}"; shift ;;
    *) die "unknown option: $1" ;;
  esac
  shift
done

[[ -f "$KAFKA_HOME/.complete" ]] || die "Kafka not fetched; run scripts/services/fetch.sh"
mkdir -p "$SERVICES_DIR"
NODES="$(kafka_nodes)"
[[ "$NODES" =~ ^[1-9]$ ]] || die "KAFKA_NODES must be 1 to 9, got '$NODES'"
[[ -z "$ONLY" || ( "$ONLY" =~ ^[1-9]$ && "$ONLY" -le "$NODES" ) ]] || die "--node $ONLY: there are $NODES node(s)"
[[ -f "$KAFKA_NODES_FILE" ]] || echo "$NODES" >"$KAFKA_NODES_FILE"
CP="$KAFKA_HOME/libs/*"

# new_ports : a fresh "<broker> <controller>" line per node
new_ports() {
  local all i
  read -r -a all <<<"$(free_ports $((2 * NODES)))"
  for ((i = 0; i < NODES; i++)); do echo "${all[2 * i]} ${all[2 * i + 1]}"; done >"$KAFKA_PORTS"
}
[[ -f "$KAFKA_PORTS" && "$(wc -l <"$KAFKA_PORTS")" -eq "$NODES" ]] || new_ports
if [[ $NEW_PORTS_IF_BUSY -eq 1 && $LAUNCH -eq 1 ]]; then
  running=0
  for ((n = 1; n <= NODES; n++)); do kafka_node "$n"; if is_ours "$KAFKA_PIDFILE"; then running=1; fi; done
  # shellcheck disable=SC2046
  if [[ $running -eq 0 ]] && ! ports_free $(cat "$KAFKA_PORTS"); then
    log "saved Kafka ports are taken; picking new ones"
    new_ports
  fi
fi
VOTERS=""
for ((n = 1; n <= NODES; n++)); do
  read -r _ c <<<"$(kafka_ports "$n")"
  VOTERS+="${VOTERS:+,}$n@127.0.0.1:$c"
done
RF=$((NODES < 3 ? NODES : 3))
MIN_ISR=$((NODES > 1 ? 2 : 1))

# launch_node N : writes node N's config (formats its storage the first time) and starts it
launch_node() {
kafka_node "$1"
mkdir -p "$KAFKA_STATE"
LOG4J_CONF="$KAFKA_STATE/log4j2.properties"
LOG4J_OPT="-Dlog4j2.configurationFile=$LOG4J_CONF"
PROPS="$KAFKA_STATE/server.properties"
if is_ours "$KAFKA_PIDFILE"; then
  log "Kafka node $KAFKA_NODE already running (pid $(cat "$KAFKA_PIDFILE"))"
else
  JAVA="${KAFKA_JAVA:-$(find_java 17)}" || die "Kafka $KAFKA_VERSION needs Java 17+ (set KAFKA_JAVA)"
  read -r PORT CPORT <<<"$(kafka_ports "$KAFKA_NODE")"
  ports_free "$PORT" "$CPORT" \
    || die "port $PORT or $CPORT on 127.0.0.1 is in use by another process; cannot restart Kafka node $KAFKA_NODE on the same port"
  # Extra settings are remembered so a restart from another shell keeps them.
  EXTRA="$KAFKA_STATE/extra.properties"
  if [[ -n "${KAFKA_EXTRA_PROPS:-}" ]]; then printf '%s\n' "$KAFKA_EXTRA_PROPS" >"$EXTRA"; fi
  SASL_SSL_STATE="$KAFKA_STATE/sasl-ssl.env"
  if [[ -n "${KAFKA_SASL_SSL_KEYSTORE:-}" ]]; then
    [[ -f "$KAFKA_SASL_SSL_KEYSTORE" ]] || die "KAFKA_SASL_SSL_KEYSTORE $KAFKA_SASL_SSL_KEYSTORE not found"
    [[ -n "${KAFKA_SASL_SSL_KEYSTORE_PASSWORD:-}" && -n "${KAFKA_SASL_USERS:-}" ]] \
      || die "KAFKA_SASL_SSL_KEYSTORE needs KAFKA_SASL_SSL_KEYSTORE_PASSWORD and KAFKA_SASL_USERS"
    printf 'KAFKA_SASL_SSL_KEYSTORE=%q\nKAFKA_SASL_SSL_KEYSTORE_PASSWORD=%q\nKAFKA_SASL_USERS=%q\n' \
      "$KAFKA_SASL_SSL_KEYSTORE" "$KAFKA_SASL_SSL_KEYSTORE_PASSWORD" "$KAFKA_SASL_USERS" >"$SASL_SSL_STATE"
    chmod 600 "$SASL_SSL_STATE"
  fi
  SPORT=""
  FORMAT_SCRAM=()
  if [[ -f "$SASL_SSL_STATE" ]]; then
    [[ "$NODES" -eq 1 ]] || die "a SASL_SSL listener is only set up on a single node"
    # shellcheck disable=SC1090
    . "$SASL_SSL_STATE"
    [[ -f "$KAFKA_SASL_SSL_PORT" ]] || free_ports 1 >"$KAFKA_SASL_SSL_PORT"
    read -r SPORT <"$KAFKA_SASL_SSL_PORT"
    ports_free "$SPORT" || die "SASL_SSL port $SPORT on 127.0.0.1 is in use by another process"
    PLAIN_USERS=""
    IFS=',' read -r -a PAIRS <<<"$KAFKA_SASL_USERS"
    for pair in "${PAIRS[@]}"; do
      [[ "$pair" =~ ^([A-Za-z0-9._-]+):([A-Za-z0-9._-]+)$ ]] || die "KAFKA_SASL_USERS: '$pair' is not name:password (letters, digits, . _ -)"
      PLAIN_USERS+=" user_${BASH_REMATCH[1]}=\"${BASH_REMATCH[2]}\""
      for m in SCRAM-SHA-256 SCRAM-SHA-512; do
        FORMAT_SCRAM+=(--add-scram "$m=[name=${BASH_REMATCH[1]},password=${BASH_REMATCH[2]}]")
      done
    done
  fi
  # Regenerated on every start from the saved ports (same ports => same config).
  {
    cat <<PROPS
process.roles=broker,controller
node.id=$KAFKA_NODE
controller.quorum.voters=$VOTERS
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_STATE/data
auto.create.topics.enable=true
num.partitions=3
default.replication.factor=$RF
min.insync.replicas=$MIN_ISR
offsets.topic.replication.factor=$RF
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$RF
transaction.state.log.min.isr=$MIN_ISR
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$RF
share.coordinator.state.topic.min.isr=$MIN_ISR
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
# After a crash (SIGKILL) the restarted broker cannot re-register until its old
# registration's session expires (default 9s); keep that short for outage tests.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000
PROPS
    if [[ -n "$SPORT" ]]; then
      # Later keys win: the same listeners plus SASL_SSL (clients only; brokers and the
      # controller keep talking PLAINTEXT on loopback).
      cat <<SASL
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT,SASL_SSL://127.0.0.1:$SPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_SSL://127.0.0.1:$SPORT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$KAFKA_SASL_SSL_KEYSTORE
listener.name.sasl_ssl.ssl.keystore.password=$KAFKA_SASL_SSL_KEYSTORE_PASSWORD
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$PLAIN_USERS;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
SASL
    fi
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
    # Every node of the cluster is formatted with the one cluster id.
    [[ -f "$KAFKA_CLUSTER_ID_FILE" ]] \
      || python3 -c '
import base64, uuid
# Never a leading "-": kafka-storage would read it as an option (as Kafka'"'"'s own Uuid avoids).
while (i := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"): pass
print(i)' >"$KAFKA_CLUSTER_ID_FILE"
    CLUSTER_ID="$(cat "$KAFKA_CLUSTER_ID_FILE")"
    log "formatting KRaft storage of node $KAFKA_NODE (cluster id $CLUSTER_ID)"
    # shellcheck disable=SC2086
    # SCRAM credentials live in the KRaft metadata: written by the format (--add-scram).
    "$JAVA" -Xmx256m $LOG4J_OPT -cp "$CP" kafka.tools.StorageTool format \
      --config "$PROPS" --cluster-id "$CLUSTER_ID" --ignore-formatted ${FORMAT_SCRAM[@]+"${FORMAT_SCRAM[@]}"} >>"$KAFKA_LOG" 2>&1 \
      || { log_tail kafka "$KAFKA_LOG"; die "kafka storage format failed"; }
  fi
  log "starting Kafka $KAFKA_VERSION node $KAFKA_NODE/$NODES on 127.0.0.1:$PORT (controller $CPORT${SPORT:+, SASL_SSL $SPORT})"
  # shellcheck disable=SC2086
  start_detached "$KAFKA_PIDFILE" "$KAFKA_LOG" \
    "$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true "$SERVICES_MARKER" $LOG4J_OPT \
    -cp "$CP" kafka.Kafka "$PROPS"
fi
}

# wait_node N : until node N answers (and, with several nodes, sees them all)
wait_node() {
  kafka_node "$1"
  if ! is_ours "$KAFKA_PIDFILE"; then
    log_tail "kafka node $KAFKA_NODE" "$KAFKA_LOG"
    die "Kafka node $KAFKA_NODE is not running"
  fi
  local port
  read -r port _ <<<"$(kafka_ports "$KAFKA_NODE")"
  if ! node "$SCRIPT_DIR/probe.mjs" kafka "127.0.0.1:$port" "$KAFKA_START_TIMEOUT" "$(cat "$KAFKA_PIDFILE")" "$NODES"; then
    log_tail "kafka node $KAFKA_NODE" "$KAFKA_LOG"
    die "Kafka node $KAFKA_NODE did not become ready"
  fi
  log "Kafka node $KAFKA_NODE ready at 127.0.0.1:$port (pid $(cat "$KAFKA_PIDFILE"))"
}

SELECTED=("${ONLY:-}")
[[ -n "$ONLY" ]] || SELECTED=($(seq 1 "$NODES"))
if [[ $LAUNCH -eq 1 ]]; then
  for n in "${SELECTED[@]}"; do launch_node "$n"; done
fi
write_env
if [[ $WAIT -eq 1 ]]; then
  # The nodes wait for each other (a quorum), so their probes run side by side.
  pids=()
  for n in "${SELECTED[@]}"; do wait_node "$n" & pids+=($!); done
  rc=0
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  [[ $rc -eq 0 ]] || exit 1
fi

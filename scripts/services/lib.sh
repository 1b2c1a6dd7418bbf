# Shared settings for scripts/services/*.sh (sourced, not executed).
# shellcheck shell=bash

SERVICES_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SERVICES_SCRIPT_DIR/../.." && pwd)"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
LOG4J_VERSION="${LOG4J_VERSION:-2.24.3}"
SLF4J_VERSION="${SLF4J_VERSION:-2.0.17}"
APICURIO_VERSION="${APICURIO_VERSION:-3.3.3}"

# Downloads live outside the clone, keyed by version, so a fresh clone (CI) reuses them.
SCOREGATE_CACHE="${SCOREGATE_CACHE:-$HOME/.cache/scoregate}"
SERVICES_CACHE="${SERVICES_CACHE:-$SCOREGATE_CACHE/services}"
KAFKA_HOME="$SERVICES_CACHE/kafka-$KAFKA_VERSION"
APICURIO_HOME="$SERVICES_CACHE/apicurio-registry-$APICURIO_VERSION"

# State dir (data, logs, pids, env). Relative paths are relative to the repo root.
SERVICES_DIR="${SERVICES_DIR:-.cache/services/run}"
case "$SERVICES_DIR" in
  /*) ;;
  *) SERVICES_DIR="$REPO_ROOT/$SERVICES_DIR" ;;
esac

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# ---- state layout -----------------------------------------------------------
# Kafka runs as KAFKA_NODES combined broker+controller nodes (1 by default; remembered in
# $KAFKA_NODES_FILE at the first start, so a restart of one node from another shell agrees).
# Node 1 keeps the single node's paths; node N > 1 has its own ("kafka-N…").
KAFKA_NODES_FILE="$SERVICES_DIR/kafka.nodes"
KAFKA_PORTS="$SERVICES_DIR/kafka.ports"    # one line per node: "<broker port> <controller port>"
KAFKA_CLUSTER_ID_FILE="$SERVICES_DIR/kafka.cluster-id"
# kafka_node N : points KAFKA_NODE, KAFKA_STATE (data + generated config), KAFKA_PIDFILE and
# KAFKA_LOG at node N.
kafka_node() {
  KAFKA_NODE="$1"
  local sfx=""
  [[ "$1" == 1 ]] || sfx="-$1"
  KAFKA_STATE="$SERVICES_DIR/kafka$sfx"
  KAFKA_PIDFILE="$SERVICES_DIR/kafka$sfx.pid"
  KAFKA_LOG="$SERVICES_DIR/kafka$sfx.log"
}
kafka_node 1
# kafka_nodes -> prints the node count: the remembered one, else $KAFKA_NODES, else 1
kafka_nodes() {
  if [[ -f "$KAFKA_NODES_FILE" ]]; then cat "$KAFKA_NODES_FILE"; else echo "${KAFKA_NODES:-1}"; fi
}
# kafka_ports N -> prints node N's "<broker port> <controller port>"
kafka_ports() { sed -n "${1}p" "$KAFKA_PORTS"; }
KAFKA_SASL_SSL_PORT="$SERVICES_DIR/kafka-sasl-ssl.port" # the SASL_SSL listener's, when it has one
REGISTRY_PIDFILE="$SERVICES_DIR/registry.pid"
REGISTRY_LOG="$SERVICES_DIR/registry.log"
REGISTRY_PORTS="$SERVICES_DIR/registry.ports" # "<http port> <management port>"
ENV_FILE="$SERVICES_DIR/env"

KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
REGISTRY_HEAP_OPTS="${REGISTRY_HEAP_OPTS:--Xms64m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"       # seconds
REGISTRY_START_TIMEOUT="${REGISTRY_START_TIMEOUT:-120}" # seconds

# java_major BIN -> prints the feature version of a java binary (17, 21, 25...)
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n1
}

# find_java MIN -> prints a java binary of at least version MIN: $JAVA_HOME, then
# `java` on PATH, then the newest JDK under /usr/lib/jvm.
find_java() {
  local min="$1" cand v best="" bestv=0
  for cand in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)"; do
    [[ -n "$cand" && -x "$cand" ]] || continue
    v="$(java_major "$cand")"
    if [[ -n "$v" && "$v" -ge "$min" ]]; then echo "$cand"; return 0; fi
  done
  for cand in /usr/lib/jvm/*/bin/java; do
    [[ -x "$cand" ]] || continue
    v="$(java_major "$cand")"
    if [[ -n "$v" && "$v" -ge "$min" && "$v" -gt "$bestv" ]]; then best="$cand"; bestv="$v"; fi
  done
  [[ -n "$best" ]] || return 1
  echo "$best"
}

# Every JVM we start carries this marker so a recycled pid is never mistaken for ours.
SERVICES_MARKER="-Dscoregate.services.dir=$SERVICES_DIR"

# free_ports N -> prints N distinct free TCP ports on 127.0.0.1, space separated.
# Picked below the kernel's ephemeral range so that, while a service is down
# (e.g. Kafka between killKafka and restartKafka), no outgoing client socket
# can grab its port.
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
lo = 20000
try:
    hi = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0]) - 1
except Exception:
    hi = 32767
if hi - lo < 1000:
    lo, hi = 1024, 65535
socks, ports = [], []
while len(ports) < int(sys.argv[1]):
    p = random.randint(lo, hi)
    if p in ports:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close()
        continue
    socks.append(s)
    ports.append(p)
print(" ".join(map(str, ports)))
for s in socks:
    s.close()
PY
}

# pid_alive PID -> 0 if running. A zombie counts as dead: our JVMs are re-parented
# to PID 1, which may reap them only after a while.
pid_alive() {
  local st
  st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

# ports_free PORT... -> 0 if every PORT can be bound on 127.0.0.1 right now
ports_free() {
  python3 - "$@" <<'PY'
import socket, sys
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(p)))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
PY
}

# is_ours PIDFILE -> 0 if the pid in PIDFILE is alive and is one of our JVMs
is_ours() {
  local pidfile="$1" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$SERVICES_MARKER"
}

# start_detached PIDFILE LOGFILE CMD... : run CMD in its own session, stdin from
# /dev/null, output to LOGFILE; PIDFILE gets the pid of the JVM itself.
start_detached() {
  local pidfile="$1" logfile="$2"
  shift 2
  rm -f "$pidfile"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 &
  local i
  for i in $(seq 1 50); do
    [[ -s "$pidfile" ]] && return 0
    sleep 0.1
  done
  die "could not start: $*"
}

# stop_pid PIDFILE NAME [SIGNAL] : signal, wait for exit (escalate to KILL after 30s)
stop_pid() {
  local pidfile="$1" name="$2" sig="${3:-TERM}" pid i
  if ! is_ours "$pidfile"; then
    rm -f "$pidfile"
    return 0
  fi
  pid="$(cat "$pidfile")"
  log "stopping $name (pid $pid, SIG$sig)"
  kill "-$sig" "$pid" 2>/dev/null || true
  for i in $(seq 1 300); do
    pid_alive "$pid" || break
    if [[ $i -eq 300 ]]; then
      log "$name did not exit after 30s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.1
  done
  while pid_alive "$pid"; do sleep 0.1; done
  rm -f "$pidfile"
}

log_tail() {
  local name="$1" file="$2"
  printf '[services] ---- last 60 lines of %s log (%s) ----\n' "$name" "$file" >&2
  tail -n 60 "$file" >&2 2>/dev/null || true
  printf '[services] ---- end of %s log ----\n' "$name" >&2
}

# write_env : (re)writes $ENV_FILE from the port/pid files present
write_env() {
  local kport="" rport="" kpid="" rpid="" sport="" p
  # Every node's broker port: "127.0.0.1:P1,127.0.0.1:P2,…"
  if [[ -f "$KAFKA_PORTS" ]]; then
    while read -r p _; do kport+="${kport:+,127.0.0.1:}$p"; done <"$KAFKA_PORTS"
  fi
  [[ -f "$KAFKA_SASL_SSL_PORT" ]] && read -r sport <"$KAFKA_SASL_SSL_PORT"
  [[ -f "$REGISTRY_PORTS" ]] && read -r rport _ <"$REGISTRY_PORTS"
  [[ -f "$SERVICES_DIR/kafka.pid" ]] && kpid="$(cat "$SERVICES_DIR/kafka.pid")" # node 1
  [[ -f "$REGISTRY_PIDFILE" ]] && rpid="$(cat "$REGISTRY_PIDFILE")"
  {
    echo "export SERVICES_DIR=$SERVICES_DIR"
    [[ -n "$kport" ]] && echo "export KAFKA_BROKERS=127.0.0.1:$kport"
    [[ -f "$KAFKA_PORTS" ]] && echo "export KAFKA_NODES=$(kafka_nodes)"
    [[ -n "$sport" ]] && echo "export KAFKA_SASL_SSL_BROKERS=127.0.0.1:$sport"
    [[ -n "$rport" ]] && echo "export SCHEMA_REGISTRY_URL=http://127.0.0.1:$rport/apis/ccompat/v7"
    [[ -n "$kpid" ]] && echo "export KAFKA_PID=$kpid"
    [[ -n "$rpid" ]] && echo "export SCHEMA_REGISTRY_PID=$rpid"
  } >"$ENV_FILE.tmp.$$"
  mv "$ENV_FILE.tmp.$$" "$ENV_FILE"
}

# ensure_venv_link : <repo>/.cache/venv is a link to a venv under $SCOREGATE_CACHE keyed by the
# hash of models/pipeline/requirements.txt (the pins), so every clone shares one install.
ensure_venv_link() {
  local req="$REPO_ROOT/models/pipeline/requirements.txt" key
  key="$(sha256sum "$req" | cut -c1-12)"
  VENV_REAL="$SCOREGATE_CACHE/venv-py311-$key"
  mkdir -p "$SCOREGATE_CACHE" "$REPO_ROOT/.cache"
  if [[ "$(readlink "$REPO_ROOT/.cache/venv" 2>/dev/null || true)" != "$VENV_REAL" ]]; then
    rm -rf "$REPO_ROOT/.cache/venv"
    ln -s "$VENV_REAL" "$REPO_ROOT/.cache/venv"
  fi
}

# pip_venv VENV MARKER PIP_ARGS... : create or reuse the Python venv VENV, installed with
# `pip install PIP_ARGS`. It is current when VENV/.installed holds MARKER (written only after pip
# succeeded, so a new pin or an interrupted install gives a fresh venv). Concurrent set-ups
# (parallel test runs) serialise on VENV.lock. Interpreter for a new venv: $PYTHON, else python3.
# Progress goes to stderr: callers print the path they need on stdout.
pip_venv() {
  local venv="$1" marker="$2"
  shift 2
  [[ -x "$venv/bin/python" && "$(cat "$venv/.installed" 2>/dev/null || true)" == "$marker" ]] && return 0
  mkdir -p "$(dirname "$venv")"
  (
    exec 8>"$venv.lock"
    flock 8
    [[ -x "$venv/bin/python" && "$(cat "$venv/.installed" 2>/dev/null || true)" == "$marker" ]] && exit 0
    rm -rf "$venv" # a half-made venv from an interrupted run is not trusted
    "${PYTHON:-python3}" -m venv "$venv"
    log "installing $* into $venv (the first run takes a minute or a few)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
    printf '%s\n' "$marker" >"$venv/.installed"
  )
}

# mlflow_layout : MLflow's state layout for mlflow-start.sh and mlflow-stop.sh, and
# mlflow_is_ours. MLFLOW_DIR defaults to $SERVICES_DIR/mlflow when the caller set SERVICES_DIR
# (EXPLICIT_SERVICES_DIR, captured before this file is sourced), else .cache/services/mlflow.
mlflow_layout() {
  if [[ -n "${EXPLICIT_SERVICES_DIR:-}" ]]; then MLFLOW_DIR="${MLFLOW_DIR:-$SERVICES_DIR/mlflow}"; fi
  MLFLOW_DIR="${MLFLOW_DIR:-.cache/services/mlflow}"
  case "$MLFLOW_DIR" in /*) ;; *) MLFLOW_DIR="$REPO_ROOT/$MLFLOW_DIR" ;; esac
  MLFLOW_PIDFILE="$MLFLOW_DIR/mlflow.pid"
  MLFLOW_LOG="$MLFLOW_DIR/mlflow.log"
  MLFLOW_PORTFILE="$MLFLOW_DIR/mlflow.port"
  MLFLOW_ENV="$MLFLOW_DIR/env"
  MLFLOW_BACKEND_URI="sqlite:///$MLFLOW_DIR/mlflow.db"
}

# mlflow_is_ours : alive and serving this state dir's database (a recycled pid never matches).
mlflow_is_ours() {
  local pid
  [[ -f "$MLFLOW_PIDFILE" ]] && pid="$(cat "$MLFLOW_PIDFILE")" && [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--backend-store-uri $MLFLOW_BACKEND_URI "
}

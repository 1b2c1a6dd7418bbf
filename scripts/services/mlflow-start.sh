#!/usr/bin/env bash
# Start (or reuse) a local MLflow tracking server + model registry with proxied
# artifacts (sqlite store, files under the state dir) on a free loopback port,
# wait until its REST API answers, write $MLFLOW_DIR/env and print it:
#   export MLFLOW_TRACKING_URI=http://127.0.0.1:PORT
# Webhooks are enabled for local targets (http, loopback/private IPs) and their
# secrets are encrypted with a fixed dev key, so they survive restarts.
# Options: --no-wait    return right after launching (no readiness probe)
#          --wait-only  do not launch; just wait until the running server answers
# Env: MLFLOW_DIR     state dir (default $SERVICES_DIR/mlflow if SERVICES_DIR is set,
#                     else <repo>/.cache/services/mlflow); relative = from the repo root
#      MLFLOW_PORT    port to use (default: the saved one if still free, else a free one)
#      MLFLOW_START_TIMEOUT seconds (default 120)
#      MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY, MLFLOW_WEBHOOK_CACHE_TTL,
#      MLFLOW_SERVER_ENABLE_JOB_EXECUTION  override the defaults below
# Usage: scripts/services/mlflow-start.sh && . .cache/services/mlflow/env
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EXPLICIT_SERVICES_DIR="${SERVICES_DIR:-}"
. "$SCRIPT_DIR/lib.sh"

mlflow_layout

WAIT=1
LAUNCH=1
for a in "$@"; do
  case "$a" in
    --no-wait) WAIT=0 ;;
    --wait-only) LAUNCH=0 ;;
    *) die "unknown option: $a" ;;
  esac
done
MLFLOW_START_TIMEOUT="${MLFLOW_START_TIMEOUT:-120}"

if mlflow_is_ours; then
  [[ $LAUNCH -eq 0 ]] || log "MLflow already running (pid $(cat "$MLFLOW_PIDFILE"))"
elif [[ $LAUNCH -eq 0 ]]; then
  log_tail mlflow "$MLFLOW_LOG"
  die "MLflow is not running"
else
  PY="$("$SCRIPT_DIR/mlflow-venv.sh")"
  MLFLOW_BIN="$(dirname "$PY")/mlflow"
  mkdir -p "$MLFLOW_DIR/artifacts"
  # The registry stores artifact locations as mlflow-artifacts:/... (no host), so
  # moving to another port loses nothing; still, keep the port stable when possible.
  if [[ -n "${MLFLOW_PORT:-}" ]]; then
    echo "$MLFLOW_PORT" >"$MLFLOW_PORTFILE"
  elif [[ ! -f "$MLFLOW_PORTFILE" ]] || ! ports_free "$(cat "$MLFLOW_PORTFILE")"; then
    free_ports 1 >"$MLFLOW_PORTFILE"
  fi
  PORT="$(cat "$MLFLOW_PORTFILE")"
  ports_free "$PORT" || die "port $PORT on 127.0.0.1 is in use"

  # Webhooks: allow http:// and loopback/private targets (dev only; MLflow's defaults are
  # https + public IPs only). Secrets are Fernet-encrypted in the DB: without a fixed key
  # each server process generates a random one and stored secrets become unreadable after
  # a restart. The key is a urlsafe-base64 32-byte Fernet key (this one is public: dev only).
  export MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https
  export MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true
  export MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY="${MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY:-c2NvcmVnYXRlLWxvY2FsLW1sZmxvdy13ZWJob29rcyE=}"
  # The server caches "webhooks per event" for 60 s by default and does not invalidate the
  # cache when a webhook is created or deleted: a webhook made within a minute after an
  # event of the same kind would miss deliveries. 0 = no cache (one small query per event).
  export MLFLOW_WEBHOOK_CACHE_TTL="${MLFLOW_WEBHOOK_CACHE_TTL:-0}"
  # No job runner (huey consumer processes for GenAI jobs) and no telemetry.
  export MLFLOW_SERVER_ENABLE_JOB_EXECUTION="${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}"
  export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
  log "starting MLflow on 127.0.0.1:$PORT (state $MLFLOW_DIR)"
  start_detached "$MLFLOW_PIDFILE" "$MLFLOW_LOG" \
    "$MLFLOW_BIN" server \
    --backend-store-uri "$MLFLOW_BACKEND_URI" \
    --artifacts-destination "$MLFLOW_DIR/artifacts" \
    --serve-artifacts \
    --host 127.0.0.1 --port "$PORT" --workers 1
fi

PORT="$(cat "$MLFLOW_PORTFILE")"
URI="http://127.0.0.1:$PORT"
if [[ $WAIT -eq 1 ]]; then
  PID="$(cat "$MLFLOW_PIDFILE")"
  deadline=$((SECONDS + MLFLOW_START_TIMEOUT))
  # /health answers once uvicorn is up; experiments/search also proves the store works.
  until curl -fsS -o /dev/null --max-time 3 "$URI/health" 2>/dev/null \
    && curl -fsS -o /dev/null --max-time 5 "$URI/api/2.0/mlflow/experiments/search?max_results=1" 2>/dev/null; do
    if ! pid_alive "$PID"; then
      log_tail mlflow "$MLFLOW_LOG"
      die "MLflow exited during start-up"
    fi
    if [[ $SECONDS -ge $deadline ]]; then
      log_tail mlflow "$MLFLOW_LOG"
      die "MLflow did not answer within ${MLFLOW_START_TIMEOUT}s"
    fi
    sleep 0.3
  done
  log "MLflow ready at $URI (pid $PID)"
fi
echo "export MLFLOW_TRACKING_URI=$URI" >"$MLFLOW_ENV.tmp"
mv "$MLFLOW_ENV.tmp" "$MLFLOW_ENV"
cat "$MLFLOW_ENV"

#!/usr/bin/env bash
# Stop the MLflow server started by mlflow-start.sh (SIGTERM, which it forwards to its
# uvicorn worker; SIGKILL to the whole process group after 30 s). The database,
# artifacts and port stay, so mlflow-start.sh brings the same registry back.
# Options: --clean  also remove the state dir ($MLFLOW_DIR: database, artifacts, log, env)
# Env: MLFLOW_DIR / SERVICES_DIR as for mlflow-start.sh
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EXPLICIT_SERVICES_DIR="${SERVICES_DIR:-}"
. "$SCRIPT_DIR/lib.sh"

mlflow_layout

CLEAN=0
for a in "$@"; do
  case "$a" in
    --clean) CLEAN=1 ;;
    *) die "unknown option: $a" ;;
  esac
done

# group_alive PGID -> 0 while a live (non-zombie) process is in process group PGID.
# start_detached ran the server with setsid, so its pid is also the group id its
# uvicorn worker shares; the exited leader may linger as a zombie until reaped.
group_alive() {
  ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^[ZX]/ { found = 1 } END { exit !found }'
}

if mlflow_is_ours; then
  PID="$(cat "$MLFLOW_PIDFILE")"
  log "stopping MLflow (pid $PID)"
  kill -TERM "$PID" 2>/dev/null || true
  for _ in $(seq 1 300); do
    group_alive "$PID" || break
    sleep 0.1
  done
  if group_alive "$PID"; then
    log "MLflow did not exit after 30s; sending SIGKILL to process group $PID"
    kill -KILL -- "-$PID" 2>/dev/null || true
    while group_alive "$PID"; do sleep 0.1; done
  fi
fi
rm -f "$MLFLOW_PIDFILE" "$MLFLOW_ENV"
if [[ "$CLEAN" == 1 && -d "$MLFLOW_DIR" ]]; then
  case "$MLFLOW_DIR" in
    ""|/) die "refusing to remove '$MLFLOW_DIR'" ;;
  esac
  rm -rf "$MLFLOW_DIR"
  log "removed $MLFLOW_DIR"
fi
exit 0

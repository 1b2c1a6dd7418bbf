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

# ---- state layout (same block in mlflow-start.sh) ----------------------------
if [[ -n "$EXPLICIT_SERVICES_DIR" ]]; then MLFLOW_DIR="${MLFLOW_DIR:-$SERVICES_DIR/mlflow}"; fi
MLFLOW_DIR="${MLFLOW_DIR:-.cache/services/mlflow}"
case "$MLFLOW_DIR" in /*) ;; *) MLFLOW_DIR="$REPO_ROOT/$MLFLOW_DIR" ;; esac
MLFLOW_PIDFILE="$MLFLOW_DIR/mlflow.pid"
MLFLOW_ENV="$MLFLOW_DIR/env"
MLFLOW_BACKEND_URI="sqlite:///$MLFLOW_DIR/mlflow.db"
# Ours = alive and serving this state dir's database (a recycled pid never matches).
mlflow_is_ours() {
  local pid
  [[ -f "$MLFLOW_PIDFILE" ]] && pid="$(cat "$MLFLOW_PIDFILE")" && [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--backend-store-uri $MLFLOW_BACKEND_URI "
}

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

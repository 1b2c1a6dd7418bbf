#!/usr/bin/env bash
# Builds the shipped fraud model: models/fraud-detector (MLflow model dir, onnx flavor),
# models/parity/heldout.csv and models/metrics.json. See models/README.md.
#
#   bash models/build.sh                       # rebuild the shipped model
#   bash models/build.sh --register --tracking-uri http://127.0.0.1:5000 [--name fraud-detector --alias champion]
#
# Extra arguments go to models/pipeline/train.py. Environment:
#   PYTHON        interpreter for the venv (default python3; the pins are for Python 3.11)
#   SYNTH_USERS / SYNTH_DAYS / SYNTH_SEED   synthetic stream size and seed (default 4000 / 4 / 7)
#   BUILD_JS=1    rebuild dist/ even if it exists (by default only when it is missing)
set -euo pipefail

MODELS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$MODELS")"
CACHE="$ROOT/.cache"
. "$ROOT/scripts/services/lib.sh"
ensure_venv_link
VENV="$VENV_REAL"
DATA="$CACHE/model-data"
REQ="$MODELS/pipeline/requirements.txt"
USERS="${SYNTH_USERS:-4000}"
DAYS="${SYNTH_DAYS:-4}"
SEED="${SYNTH_SEED:-7}"

step() { printf '\n== %s\n' "$*" >&2; }
start=$SECONDS

step "python venv: $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$VENV"
fi
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)" != "$want" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
  echo "$want" > "$VENV/.requirements.sha256"
else
  echo "requirements unchanged since the last install" >&2
fi

step "gateway CLI (dist/)"
cd "$ROOT"
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
if [ "${BUILD_JS:-0}" = 1 ] || [ ! -f dist/src/cli/main.js ]; then
  npm run build
fi

step "synthetic stream + features (users=$USERS days=$DAYS seed=$SEED) -> $DATA"
mkdir -p "$DATA"
node dist/src/cli/main.js synth --out "$DATA/transactions.jsonl" --users "$USERS" --days "$DAYS" --seed "$SEED"
node dist/src/cli/main.js features replay --in "$DATA/transactions.jsonl" --out "$DATA/features.csv"

step "train + convert + check + save"
"$VENV/bin/python" "$MODELS/pipeline/train.py" \
  --features "$DATA/features.csv" \
  --transactions "$DATA/transactions.jsonl" \
  --out "$MODELS" \
  --synth "main.js synth --users $USERS --days $DAYS --seed $SEED" \
  "$@"

echo "build.sh: done in $((SECONDS - start))s" >&2

#!/usr/bin/env bash
# Stages what the image ships, built on this host, into build/image (or DIR):
#   package.json, package-lock.json   the package (config finds its folder from dist/src/)
#   dist/src, dist/models              the compiled gateway and its assets (npm run build)
#   node_modules                       production dependencies only, from the lockfile
# The Dockerfile COPYs it as /app; the model comes from models/fraud-detector.
#
# Why on the host and not `npm ci` in a build stage: the base image carries this machine's node
# binary, so the host already is the image's platform (linux-x64, glibc 2.36, the same node ABI);
# installing here reuses npm's cache from the `npm ci` just run, and no container needs to reach a
# registry (nor this machine's CA bundle to do so).
#
# Dependencies are reinstalled only when package-lock.json, .npmrc or the node version change.
# Usage: scripts/docker/stage.sh [DIR]   (run `npm run build` first)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/build/image}"
cd "$ROOT"

log() { printf '[docker-stage] %s\n' "$*" >&2; }

[[ -f dist/src/main.js && -f dist/src/kafka/schemas/transactions.scored.avsc && -f dist/models/parity/heldout.csv ]] \
  || { log "dist/ is missing or incomplete: run npm run build"; exit 1; }

mkdir -p "$OUT"
platform="$(node -p 'process.platform')"
arch="$(node -p 'process.arch')"
abi="$(node -p 'process.versions.modules')"
stamp="$({ cat package-lock.json .npmrc; node -p 'process.version'; } | sha256sum | cut -c1-64)"
stamp_file="$OUT/node_modules/.staged-from"

if [[ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]]; then
  log "npm ci --omit=dev into $OUT"
  rm -rf "$OUT/node_modules"
  cp package.json package-lock.json .npmrc "$OUT/"
  (cd "$OUT" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)
  rm -f "$OUT/.npmrc"

  # Native code for other platforms never loads here: keep this platform's only (onnxruntime-node
  # ships five, uWebSockets.js eighteen).
  ort="$OUT/node_modules/onnxruntime-node/bin/napi-v6"
  for dir in "$ort"/*/*; do
    [[ "$dir" == "$ort/$platform/$arch" ]] || rm -rf "$dir"
  done
  find "$OUT/node_modules/uWebSockets.js/binaries" -name '*.node' ! -name "uws_${platform}_${arch}_${abi}.node" -delete

  # onnxruntime-node's install script is skipped (.npmrc, --ignore-scripts): it only fetches GPU
  # providers. The CPU binding it loads ships in the package; uWebSockets.js falls back to a slow
  # JavaScript server when its binary is missing. Fail here rather than in the container.
  for f in "$ort/$platform/$arch/onnxruntime_binding.node" "$ort/$platform/$arch/libonnxruntime.so.1" \
    "$OUT/node_modules/uWebSockets.js/binaries/uws_${platform}_${arch}_${abi}.node"; do
    [[ -f "$f" ]] || { log "native binary missing after npm ci: $f"; exit 1; }
  done
  echo "$stamp" >"$stamp_file"
fi

cp package.json package-lock.json "$OUT/"
rm -rf "$OUT/dist"
mkdir -p "$OUT/dist"
cp -R dist/src dist/models "$OUT/dist/"
log "staged $(du -sh "$OUT" | cut -f1) in $OUT"

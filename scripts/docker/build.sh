#!/usr/bin/env bash
# Builds the scoregate image from this checkout: the base image if missing (base.sh), the
# gateway (npm run build), the staged production tree (stage.sh), then `docker build`.
# Prints the image's tag: $IMAGE, or by default scoregate:<package version> (also scoregate:latest).
# Needs a running docker daemon; the first run needs root and debootstrap for the base.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

VERSION="$(node -p 'require("./package.json").version')"
if [[ -n "${IMAGE:-}" ]]; then tags=(-t "$IMAGE"); else IMAGE="scoregate:$VERSION"; tags=(-t "$IMAGE" -t scoregate:latest); fi

base="$(bash scripts/docker/base.sh)"
npm run --silent build >&2
bash scripts/docker/stage.sh >&2
# The legacy builder: Debian's docker.io has no buildx, and this Dockerfile needs nothing more.
DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}" docker build --quiet --build-arg BASE="$base" "${tags[@]}" . >&2
# The image this one replaces is left untagged: drop such leftovers of earlier builds.
docker image prune --force --filter label=org.opencontainers.image.title=scoregate >/dev/null
echo "$IMAGE"

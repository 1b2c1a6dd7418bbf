#!/usr/bin/env bash
# Makes the image scoregate's Dockerfile builds FROM, without any registry: a Debian bookworm
# minbase root filesystem (debootstrap, from the apt mirror) with this machine's node binary in
# /usr/local/bin, imported as scoregate-base:bookworm-node<version>. Prints the tag.
#
# Cached twice: nothing is done when the image exists; the root filesystem tarball is kept in
# $SCOREGATE_CACHE/docker (default ~/.cache/scoregate/docker), keyed by node version, so a fresh
# docker daemon only imports it again (seconds instead of ~40 s of debootstrap).
# Needs root (debootstrap), debootstrap and a running docker daemon.
set -euo pipefail

SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NODE_BIN="$(readlink -f "${NODE_BIN:-$(command -v node)}")"
NODE_VERSION="$("$NODE_BIN" -p 'process.versions.node')"
TAG="scoregate-base:$SUITE-node$NODE_VERSION"
CACHE="${SCOREGATE_CACHE:-$HOME/.cache/scoregate}/docker"
TARBALL="$CACHE/rootfs-$SUITE-minbase-node$NODE_VERSION.tar"

log() { printf '[docker-base] %s\n' "$*" >&2; }

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "$TAG"
  exit 0
fi

if [[ ! -f "$TARBALL" ]]; then
  command -v debootstrap >/dev/null || { log "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }
  mkdir -p "$CACHE"
  rootfs="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  log "debootstrap --variant=minbase $SUITE (about 40 s)"
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
  rm -f "$rootfs.log"
  install -m 0755 "$NODE_BIN" "$rootfs/usr/local/bin/node"
  # node links only against libc, libm, libdl, libpthread, libstdc++ and libgcc_s, which minbase
  # has (libstdc++6 is required by apt); prove it here rather than at the first container start.
  missing="$(chroot "$rootfs" /usr/bin/ldd /usr/local/bin/node | grep 'not found' || true)"
  [[ -z "$missing" ]] || { log "node needs libraries minbase lacks: $missing"; exit 1; }
  [[ "$(chroot "$rootfs" /usr/bin/env -i /usr/local/bin/node -p 'process.versions.node')" == "$NODE_VERSION" ]]
  # What an image needs no copy of: package lists and downloaded .debs (apt-get update brings
  # them back), documentation and translations.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  tar -C "$rootfs" --numeric-owner -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
  rm -rf "$rootfs"
  trap - EXIT
fi

log "docker import $TARBALL as $TAG"
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "$TARBALL" "$TAG" >/dev/null
echo "$TAG"

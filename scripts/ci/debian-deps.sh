#!/usr/bin/env bash
# Debian packages the tests use, installed only when missing (one apt-get update, one install):
#   prometheus (prometheus, promtool)  deploy/monitoring.test.ts: a real Prometheus and promtool
#   chromium                           src/ui/status-page.test.ts: headless Chromium (playwright-core)
#   docker.io, debootstrap             test/docker/image.test.ts: builds the base and the image
#                                      (its recommends are not needed here: no AppArmor in the
#                                      kernel, cgroups mounted; .ci/run starts dockerd)
#   wrk                                loadtest/smoke.test.ts: the wrk saturation runs
# Services in them are never started: policy-rc.d refuses them while apt runs.
set -euo pipefail
want=()
{ command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || want+=(prometheus)
[ -x /usr/bin/chromium ] || want+=(chromium)
command -v dockerd >/dev/null 2>&1 || want+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || want+=(debootstrap)
command -v wrk >/dev/null 2>&1 || want+=(wrk)
[ "${#want[@]}" -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod +x "$POLICY"
  trap '$SUDO rm -f "$POLICY"' EXIT
fi
echo "[ci] installing from Debian: ${want[*]}" >&2
$SUDO apt-get update -qq -o DPkg::Lock::Timeout=300 >/dev/null
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${want[@]}" >/dev/null

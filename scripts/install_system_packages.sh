#!/usr/bin/env bash
# Debian packages the project needs (nginx + htpasswd for the dashboard proxy, chromium (+ an emoji font for
# the status badges in screenshots) for the
# dashboard's browser tests, nodejs for the Firestore emulator, supervisor's peers). Installs only what
# is missing, and only as root; otherwise it says what is missing and exits 0 so tests can skip.
set -uo pipefail
PKGS=(nginx apache2-utils chromium chromium-driver fonts-noto-color-emoji)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from another source than Debian's package (its own npm included): check the command.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "[system] all Debian packages present" >&2
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
  echo "[system] missing Debian packages (install as root: apt-get install ${missing[*]}); dependent tests will skip" >&2
  exit 0
fi
echo "[system] installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || apt-get update
# policy-rc.d keeps the package from starting a system nginx on port 80; we run our own on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; trap 'rm -f /usr/sbin/policy-rc.d' EXIT; fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  # Show apt's reason, but do not abort the test run: tests needing a missing program skip with a reason.
  apt-get install -y --no-install-recommends "${missing[@]}" || echo "[system] WARNING: could not install: ${missing[*]}" >&2
fi

#!/usr/bin/env bash
# Installs what tally needs to build, run, test and benchmark, and nothing that
# is already there. Safe to run again and again. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian 12 packages: compiler and libraries, test and lint tools, benchmark
# peers (wrk, nginx), and the browser the end-to-end tests drive.
PKGS=(
  build-essential pkg-config
  libmicrohttpd-dev libxxhash-dev libcurl4-openssl-dev libcmocka-dev
  libpcre2-dev libmaxminddb-dev
  clang-format cppcheck
  wrk nginx-light
  chromium
)
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages, pinned by package-lock.json: uPlot (bundled into the dashboard
# at build time), playwright-core (drives Debian's Chromium in tests) and the
# Segment SDK used as a real client in tests.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "deps: ok"

#!/usr/bin/env bash
# Installs the system packages Berth needs. Idempotent; run as root or with sudo.
#   scripts/install-deps.sh build   # what building and running the app needs
#   scripts/install-deps.sh test    # build + the real servers and tools the tests start
#   scripts/install-deps.sh bench   # test + wrk for the sync benchmark
set -euo pipefail
what=${1:-build}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

build_pkgs=(build-essential pkg-config curl wget file libwebkit2gtk-4.1-dev libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev libdbus-1-dev)
test_pkgs=(docker-registry skopeo nginx-light apache2-utils xvfb xauth webkit2gtk-driver
  dbus dbus-x11 gnome-keyring libsecret-tools openssl desktop-file-utils
  xdotool x11-utils imagemagick python3-xlib rpm
  fonts-wqy-microhei)  # a CJK font: the window in Chinese, in screenshots

bench_pkgs=(wrk)

pkgs=("${build_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")
[ "$what" = bench ] && pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian nginx and registry packages start system services on install; the tests start their own.
if [ "$what" != build ]; then
  for svc in nginx docker-registry; do
    if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop "$svc" 2>/dev/null || true; fi
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

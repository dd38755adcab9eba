#!/usr/bin/env bash
# Runs a command in a headless desktop session: its own D-Bus session bus, an unlocked gnome-keyring
# (Secret Service), an Xvfb display, and throw-away XDG runtime dir. Used by the tests that start the
# real window or touch the keyring; works the same on a developer machine and in CI.
set -euo pipefail
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR_OVERRIDE:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
export NO_AT_BRIDGE=1
unset DBUS_SESSION_BUS_ADDRESS
exec dbus-run-session -- bash -c '
  echo -n berth-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || true
  # Wait until the Secret Service answers (a store and a lookup), so the first tests do not race its start.
  if command -v secret-tool >/dev/null; then
    for _ in $(seq 1 50); do
      echo -n ok | secret-tool store --label=berth-ready berth-headless ready >/dev/null 2>&1 &&
        secret-tool lookup berth-headless ready >/dev/null 2>&1 && break
      sleep 0.2
    done
  fi
  exec xvfb-run -a -s "-screen 0 1280x800x24" "$@"
' headless "$@"

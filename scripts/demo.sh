#!/usr/bin/env bash
# `make demo`: berth-demo starts a real registry:2 and the Harbor and Nexus emulators on loopback,
# seeded; this adds a profile for each (passwords to the keyring, under the service dev.berth.demo),
# syncs them and opens the window on a data directory of its own. Closing the window stops the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/debug
data=${BERTH_DEMO_DATA:-$PWD/target/demo-data}
rm -rf "$data"
mkdir -p "$data"
export BERTH_DATA_DIR="$data" BERTH_KEYRING_SERVICE=dev.berth.demo
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    echo "demo: no D-Bus session: Berth keeps passwords in the OS keyring (GNOME Keyring, KWallet or KeePassXC); start a desktop session" >&2
    exit 1
fi

"$bin/berth-demo" --env "$data/demo.env" &
demo=$!
trap 'kill $demo 2>/dev/null || true; wait $demo 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    [ -s "$data/demo.env" ] && break
    kill -0 $demo 2>/dev/null || { echo "demo: berth-demo exited" >&2; exit 1; }
    sleep 0.1
done
# shellcheck disable=SC1091
. "$data/demo.env"

"$bin/berth" profile add demo-registry --url "$REGISTRY_URL"
printf '%s\n' "$HARBOR_PASSWORD" | "$bin/berth" profile add demo-harbor --kind harbor --url "$HARBOR_URL" \
    --username "$HARBOR_USERNAME" --password-stdin
printf '%s\n' "$NEXUS_PASSWORD" | "$bin/berth" profile add demo-nexus --kind nexus --url "$NEXUS_URL" \
    --username "$NEXUS_USERNAME" --password-stdin
for p in demo-registry demo-harbor demo-nexus; do
    "$bin/berth" sync "$p"
done
echo "demo: registry:2 $REGISTRY_URL, Harbor $HARBOR_URL, Nexus $NEXUS_URL ($NEXUS_REPOSITORIES); data in $data"
"$bin/berth-desktop"

#!/usr/bin/env bash
# README's first command: the main job end to end on the built-in lab. Builds
# pptp-client, boots the lab's real pptpd VM (pppd 2.4.9, kernel MPPE), connects
# from the client namespace with the default route through the tunnel, shows the
# routes, the DNS servers and a ping through the tunnel, disconnects and cleans up.
# Needs root and the packages .ci/run installs. NetworkManager (`nmcli connection
# up PAL`) takes pptp-client's place here when the service lands.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
need=""
for t in debootstrap:debootstrap qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio ping:iputils-ping nft:nftables; do
    command -v "${t%%:*}" >/dev/null || need="$need ${t#*:}"
done
if [ -n "$need" ]; then
    apt-get update -q && apt-get install -y -q --no-install-recommends $need
fi
cargo build --quiet --release -p pptp-client
lab=tests/lab/lab.sh
ns() { ip netns exec pptplab-c "$@"; }
log=$(mktemp)
client=""
cleanup() {
    [ -n "$client" ] && kill "$client" 2>/dev/null && wait "$client" 2>/dev/null
    bash "$lab" down
    rm -f "$log"
}
trap cleanup EXIT

echo "== booting the lab's pptpd VM"
bash "$lab" up
echo "== client namespace routes before"
ns ip -4 route
echo "== pptp-client up --server 198.18.0.2 --user alice --default-route"
# Started directly (not through a shell function) so $! is pptp-client itself.
ip netns exec pptplab-c target/release/pptp-client up --server 198.18.0.2 --user alice \
    --password-stdin --default-route < <(printf 'pass word\n') >"$log" 2>&1 &
client=$!
for _ in $(seq 60); do grep -q "up on" "$log" && break; sleep 0.5; done
cat "$log"
grep -q "up on" "$log" || { echo "the tunnel did not come up"; exit 1; }
echo "== routes with the tunnel up"
ns ip -4 route
echo "== ping through the tunnel to the server's tunnel address"
ns ping -c 3 198.19.0.1
echo "== disconnecting"
kill -TERM "$client"
wait "$client" && code=0 || code=$?
client=""
tail -1 "$log"
echo "== routes after (exit code $code)"
ns ip -4 route
[ "$code" = 0 ]

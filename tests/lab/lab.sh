#!/usr/bin/env bash
# The lab: a client namespace joined by a veth to a server namespace, where a
# bridge connects it to the tap of a qemu VM running pptpd. Only addresses inside
# these namespaces are used (198.18.0.0/24 outside, 198.19.0.0/24 in the tunnel).
#
#   lab.sh up [KEY=VALUE...]   build/refresh the image, create the topology, boot
#                               the VM with those lab.* settings, wait for TCP 1723
#   lab.sh reboot [KEY=VALUE...]  boot the server VM again with those settings,
#                               leaving the namespaces (and what runs in them)
#   lab.sh down                kill the VM (by PID) and remove the namespaces
#   lab.sh ref KEY=VALUE...    boot the reference client VM (pppd + pptp-linux,
#                               lab.role=refclient) on the server's bridge at
#                               198.18.0.3; its results go to ref-console.log
#   lab.sh exec CMD...          run CMD in the client namespace
#
# LAB_TOPOLOGY=routed (for `up`): a router namespace sits between the client
# (198.18.0.1/24, default route via the router's 198.18.0.254) and the server's
# network (198.18.1.0/24, the VM at 198.18.1.2), as on a real network where the
# VPN server is not on the user's own LAN. The default is the VM on the client's
# /24 (198.18.0.2). `lab.sh server` prints the server's address of the lab that
# is up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export LAB_CACHE=${LAB_CACHE:-/var/cache/nm-pptp-lab}
state=${LAB_STATE:-/run/nm-pptp-lab}
C=${LAB_NS_CLIENT:-pptplab-c}
S=${LAB_NS_SERVER:-pptplab-s}
R=${LAB_NS_REF:-pptplab-r}
T=${LAB_NS_ROUTER:-pptplab-t}
CLIENT_ADDR=198.18.0.1
ROUTER_LAN=198.18.0.254
ROUTER_SERVERS=198.18.1.254

# The topology of the lab that is up (`up` records it): routed or onlink.
topology() { cat "$state/topology" 2>/dev/null || echo onlink; }
server_addr() { [ "$(topology)" = routed ] && echo 198.18.1.2 || echo 198.18.0.2; }

# Stop the VM whose PID is in this file (only ever one we started).
stop_vm() {
    if [ -f "$1" ]; then
        pid=$(cat "$1")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$1"
    fi
}

down() {
    stop_vm "$state/qemu.pid"
    stop_vm "$state/qemu-ref.pid"
    ip netns del "$R" 2>/dev/null || true
    ip netns del "$C" 2>/dev/null || true
    ip netns del "$T" 2>/dev/null || true
    ip netns del "$S" 2>/dev/null || true
    rm -f "$state/topology"
}

# boot_vm NS TAP MAC NAME ARGS: the lab image on TAP in NS, the kernel command
# line ARGS; console in $state/NAME-console.log (console.log for the server,
# NAME ""), PID in $state/qemu[-NAME].pid.
boot_vm() {
    local console=$state/${4:+$4-}console.log pidfile=$state/qemu${4:+-$4}.pid
    : >"$console"
    ip netns exec "$1" qemu-system-x86_64 -m 384 -display none -no-reboot \
        -kernel "$LAB_CACHE/vmlinuz" -initrd "$LAB_CACHE/initrd.gz" \
        -append "console=ttyS0 panic=-1 quiet $5" \
        -serial "file:$console" \
        -netdev tap,id=n0,ifname="$2",script=no,downscript=no \
        -device virtio-net-pci,netdev=n0,mac="$3" \
        </dev/null >"$state/qemu${4:+-$4}.out" 2>&1 &
    echo $! >"$pidfile"
}

ref() {
    [ -f "$state/qemu.pid" ] || { echo "lab: ref needs the lab up" >&2; return 1; }
    stop_vm "$state/qemu-ref.pid"
    ip netns del "$R" 2>/dev/null || true
    # The bridge's end of an earlier reference's veth, if its namespace's
    # removal has not taken it yet.
    ip -n "$S" link del r0 2>/dev/null || true
    ip netns add "$R"
    ip link add r0 netns "$S" type veth peer name rv0 netns "$R"
    ip -n "$S" link set r0 master br0
    ip -n "$S" link set r0 up
    ip -n "$R" link set lo up
    ip -n "$R" link add br1 type bridge
    ip -n "$R" link set rv0 master br1
    ip -n "$R" tuntap add dev tap1 mode tap
    ip -n "$R" link set tap1 master br1
    for l in rv0 tap1 br1; do ip -n "$R" link set "$l" up; done
    [ "$(topology)" = onlink ] || { echo "lab: ref needs the on-link topology" >&2; return 1; }
    local args="lab.role=refclient lab.addr=198.18.0.3/24 lab.server=$(server_addr) lab.users=alice:pass+word"
    for kv in "$@"; do args="$args lab.$kv"; done
    boot_vm "$R" tap1 52:54:00:12:34:99 ref "$args"
}

up() {
    bash "$here/build-image.sh"
    down
    mkdir -p "$state"
    ip netns add "$C"
    ip netns add "$S"
    if [ "${LAB_TOPOLOGY:-onlink}" = routed ]; then
        echo routed >"$state/topology"
        ip netns add "$T"
        ip link add c0 netns "$C" type veth peer name t0 netns "$T"
        ip link add t1 netns "$T" type veth peer name s0 netns "$S"
        ip -n "$T" link set lo up
        ip -n "$T" addr add "$ROUTER_LAN/24" dev t0
        ip -n "$T" addr add "$ROUTER_SERVERS/24" dev t1
        ip -n "$T" link set t0 up
        ip -n "$T" link set t1 up
        ip netns exec "$T" sysctl -qw net.ipv4.ip_forward=1
    else
        echo onlink >"$state/topology"
        ip link add c0 netns "$C" type veth peer name s0 netns "$S"
    fi
    ip -n "$C" link set lo up
    ip -n "$C" addr add "$CLIENT_ADDR/24" dev c0
    ip -n "$C" link set c0 up
    if [ "$(topology)" = routed ]; then
        ip -n "$C" route add default via "$ROUTER_LAN"
    fi
    ip -n "$S" link set lo up
    ip -n "$S" link add br0 type bridge
    ip -n "$S" link set s0 master br0
    ip -n "$S" tuntap add dev tap0 mode tap
    ip -n "$S" link set tap0 master br0
    for l in s0 tap0 br0; do ip -n "$S" link set "$l" up; done

    boot_server "$@"
}

# The server VM (again) on the existing topology: what `up` boots, and what
# `reboot` boots with other settings while the client side (NetworkManager in
# the client namespace) stays as it is.
boot_server() {
    local server
    server=$(server_addr)
    local args="lab.addr=$server/24 lab.localip=198.19.0.1 lab.remoteip=198.19.0.10-20"
    if [ "$(topology)" = routed ]; then
        args="$args lab.gw=$ROUTER_SERVERS"
    fi
    args="$args lab.auth=mschapv2 lab.mppe=128 lab.dns=198.19.0.53,198.19.0.54 lab.users=alice:pass+word"
    for kv in "$@"; do args="$args lab.$kv"; done
    boot_vm "$S" tap0 52:54:00:12:34:56 "" "$args"
    for _ in $(seq 240); do
        if ip netns exec "$C" timeout 1 bash -c "exec 3<>/dev/tcp/$server/1723" 2>/dev/null; then
            return 0
        fi
        kill -0 "$(cat "$state/qemu.pid")" 2>/dev/null || { echo "lab: the VM exited" >&2; cat "$state/qemu.out" >&2; return 1; }
        sleep 0.5
    done
    echo "lab: pptpd did not answer on $server:1723 within 120 s" >&2
    tail -20 "$state/console.log" >&2
    return 1
}

reboot() {
    ip netns list | grep -qw "$S" || { echo "lab: reboot needs the lab up" >&2; return 1; }
    bash "$here/build-image.sh"
    stop_vm "$state/qemu.pid"
    boot_server "$@"
}

cmd=${1:-}
shift || true
case "$cmd" in
    up) up "$@" ;;
    reboot) reboot "$@" ;;
    ref) ref "$@" ;;
    down) down ;;
    exec) ip netns exec "$C" "$@" ;;
    server) server_addr ;;
    *) echo "usage: lab.sh up [KEY=VALUE...] | reboot [KEY=VALUE...] | ref [KEY=VALUE...] | down | exec CMD..." >&2; exit 2 ;;
esac

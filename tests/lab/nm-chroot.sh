#!/usr/bin/env bash
# nm-chroot.sh ROOT: runs inside the lab's client network namespace under
# `unshare -m`, and gives the Debian root ROOT (packaging/chroot.sh test) what a
# booted system has for NetworkManager: proc, read-only sysfs (no udev: see
# nm-env.sh), /dev (for /dev/net/tun), an empty /run, its own system bus. Then
# it starts that root's NetworkManager with its own configuration in conf.d,
# and waits so that tests can enter with `nsenter -t PID -m -n -r`.
set -euo pipefail
root=${1:?usage: nm-chroot.sh ROOT}
mount --make-rprivate /
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
mkdir -p "$root/run/dbus" "$root/etc/NetworkManager/conf.d"
rm -f "$root/etc/resolv.conf"
echo "nameserver 198.18.0.254" >"$root/etc/resolv.conf"
cat >"$root/etc/NetworkManager/conf.d/90-lab.conf" <<CONF
[main]
dns=default
rc-manager=file
[keyfile]
unmanaged-devices=interface-name:lo
[logging]
level=DEBUG
domains=VPN_PLUGIN,VPN,CORE,DNS,IP4,AGENTS
CONF
exec chroot "$root" /bin/sh -c '
    dbus-daemon --system --fork --print-pid >/run/dbus.pid
    NetworkManager --debug >/var/log/nm-lab.log 2>&1 &
    echo $! >/run/nm.pid
    for _ in $(seq 100); do nmcli -t general status >/dev/null 2>&1 && break; sleep 0.2; done
    echo ready >/run/ready
    trap "kill \$(cat /run/nm.pid) \$(cat /run/dbus.pid) 2>/dev/null; exit 0" TERM INT
    while :; do sleep 1; done'

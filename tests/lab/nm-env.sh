#!/usr/bin/env bash
# Runs inside the lab's client network namespace under `unshare -m`: gives a real
# NetworkManager a private world (its own D-Bus system bus, state dirs, /etc and /usr
# overlays carrying the plugin's files unpacked from its .debs into $STAGE), starts it, and then
# waits so that tests can enter this mount namespace with nsenter.
set -euo pipefail
stage=${STAGE:?STAGE must hold the plugin files at their installed paths}
work=${NM_WORK:?}
mkdir -p "$work"/{etc-up,etc-work,nm-state,keyfiles}
mount --make-rprivate /
# Without udev NetworkManager waits forever for links; read-only sysfs tells it
# there is no udev. Mounting sysfs here also shows only this namespace's links.
umount -l /sys 2>/dev/null || true
mount -t sysfs -o ro sysfs /sys
mount -t overlay overlay -o "lowerdir=$stage/usr:/usr" /usr
# resolv.conf is replaced by rename, so overlay all of /etc rather than one file.
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$work/etc-up,workdir=$work/etc-work" /etc
mount -t tmpfs tmpfs /run/dbus 2>/dev/null || { mkdir -p /run/dbus && mount -t tmpfs tmpfs /run/dbus; }
mkdir -p /run/NetworkManager /var/lib/NetworkManager
mount -t tmpfs tmpfs /run/NetworkManager
mount -t tmpfs tmpfs /var/lib/NetworkManager
rm -f /etc/resolv.conf
echo "nameserver 198.18.0.254" >/etc/resolv.conf
cat >"$work/NetworkManager.conf" <<CONF
[main]
plugins=keyfile
dns=default
rc-manager=file
[keyfile]
path=$work/keyfiles
unmanaged-devices=interface-name:lo
[logging]
level=DEBUG
domains=VPN_PLUGIN,VPN,CORE,DNS,IP4,AGENTS
CONF
dbus-daemon --system --fork --print-pid >"$work/dbus.pid"
NetworkManager --debug --config="$work/NetworkManager.conf" >"$work/nm.log" 2>&1 &
echo $! >"$work/nm.pid"
for _ in $(seq 100); do nmcli -t general status >/dev/null 2>&1 && break; sleep 0.2; done
echo ready >"$work/ready"
# Stay alive: this process keeps the mount namespace for nsenter.
trap 'kill "$(cat "$work/nm.pid")" "$(cat "$work/dbus.pid")" 2>/dev/null; exit 0' TERM INT
while :; do sleep 1; done

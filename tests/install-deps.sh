#!/usr/bin/env bash
# Debian 12 packages the build, the tests and the lab need. Used by .ci/run and
# README's demo. Services are kept from starting while installing: on a machine
# with systemd, a freshly installed NetworkManager would otherwise take over the
# host's own interfaces (the lab runs its own, inside a namespace).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages="build-essential pkg-config ca-certificates python3 iproute2 iputils-ping nftables
  util-linux dbus debootstrap qemu-system-x86 busybox-static cpio
  network-manager libnm-dev meson ninja-build
  libgtk-4-dev gnome-keyring libsecret-tools xvfb xauth xdotool imagemagick
  fonts-dejavu-core gettext iperf3 wireguard-tools openvpn openssl
  libnma-gtk4-dev libgtk-3-0 python3-gi gir1.2-nm-1.0 gir1.2-gtk-4.0 gnome-control-center
  libgtk-3-dev libnma-dev gir1.2-gtk-3.0 network-manager-gnome cinnamon-control-center
  gnome-shell debhelper dpkg-dev mmdebstrap lintian appstream"
missing=""
for p in $packages; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
blocker=/usr/sbin/policy-rc.d
if [ ! -e "$blocker" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$blocker"
    chmod 755 "$blocker"
    trap 'rm -f "$blocker"' EXIT
fi
apt-get update -q
apt-get install -y -q --no-install-recommends $missing

#!/usr/bin/env bash
# packaging/chroot.sh CODENAME build|test: unpacks a fresh Debian root into a
# new directory under /var/tmp and prints its path. The root comes from a
# tarball cached in /var/cache/nm-pptp-pkg, made by mmdebstrap when missing:
#   build: build-essential and debian/control's Build-Depends (nothing else);
#   test:  NetworkManager and Debian's own network-manager-pptp and
#          network-manager-pptp-gnome (the C plugin ours replaces), plus what
#          the install tests drive it with (a keyring, nm-applet from
#          network-manager-gnome as the secret agent, python3-gi, Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
codename=$1 kind=$2
cache=/var/cache/nm-pptp-pkg
mkdir -p "$cache"
mirror=http://deb.debian.org/debian
case $kind in
build)
    key=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' debian/control | sha256sum | cut -c1-12)
    tarball=$cache/$codename-build-$key.tar
    if [ ! -s "$tarball" ]; then
        mmdebstrap --quiet --variant=buildd --include=ca-certificates \
            --customize-hook='mkdir -p "$1/tmp/src/debian"' \
            --customize-hook='copy-in debian/control debian/changelog /tmp/src/debian' \
            --customize-hook='chroot "$1" apt-get build-dep -y -q /tmp/src' \
            --customize-hook='rm -rf "$1/tmp/src"' \
            "$codename" "$tarball.part.tar" "$mirror" >&2
        mv "$tarball.part.tar" "$tarball"
    fi
    ;;
test)
    tarball=$cache/$codename-test-v3.tar
    if [ ! -s "$tarball" ]; then
        # Debian's C plugin packages are kept in /var/cache/c-plugin, so the
        # tests reinstall them with no network.
        mmdebstrap --quiet --variant=apt \
            --include=network-manager,network-manager-pptp,network-manager-pptp-gnome,network-manager-gnome,dbus,iproute2,iputils-ping,gnome-keyring,libsecret-tools,python3-gi,gir1.2-nm-1.0,gir1.2-gtk-4.0,gir1.2-gtk-3.0,xvfb,xauth,procps \
            --customize-hook='mkdir -p "$1/var/cache/c-plugin" && chroot "$1" sh -c "cd /var/cache/c-plugin && apt-get download -q network-manager-pptp network-manager-pptp-gnome"' \
            "$codename" "$tarball.part.tar" "$mirror" >&2
        mv "$tarball.part.tar" "$tarball"
    fi
    ;;
*) echo "chroot.sh: kind must be build or test" >&2; exit 2 ;;
esac
root=$(mktemp -d "/var/tmp/nm-pptp-$codename-$kind.XXXXXX")
tar -xf "$tarball" -C "$root" || { rm -rf --one-file-system "$root"; exit 1; }
echo "$root"

#!/usr/bin/env bash
# Build the lab's VM (Debian 12 + pptpd + ppp + kernel MPPE, dnsmasq for
# DHCPINFORM, radvd for IPv6 router advertisements, and pptp-linux for the
# reference client role) from Debian packages, plus accel-ppp (a second PPTP
# server implementation, not in Debian) built from vendor/ in a throwaway
# Debian root of the same release. Output: $LAB_CACHE/vmlinuz and
# $LAB_CACHE/initrd.gz.
# Cached: does nothing when both exist and the recipe (this file, init.sh and
# the accel-ppp source) has not changed; rebuilt from scratch otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# LAB_SUITE=trixie builds the same server from Debian 13 (pppd 2.5).
suite=${LAB_SUITE:-bookworm}
cache=${LAB_CACHE:-/var/cache/nm-pptp-lab}
accel_src=$here/vendor/accel-ppp-89637ee2417f.tar.gz
recipe=$( (cat "$here/build-image.sh" "$here/init.sh" "$accel_src"; echo "$suite") | sha256sum | cut -c1-16)
if [ -s "$cache/vmlinuz" ] && [ -s "$cache/initrd.gz" ] && [ "$(cat "$cache/recipe" 2>/dev/null)" = "$recipe" ]; then
    exit 0
fi
for tool in debootstrap qemu-system-x86_64 cpio; do
    command -v "$tool" >/dev/null || { echo "build-image: $tool missing (.ci/run installs it)" >&2; exit 1; }
done
mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
echo "build-image: debootstrap $suite (about a minute)" >&2
debootstrap --variant=minbase \
    --include=pptpd,pptp-linux,ppp,kmod,iproute2,busybox,linux-image-amd64,procps,iptables,dnsmasq-base,radvd \
    "$suite" "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -30 "$work/debootstrap.log" >&2; exit 1; }

# accel-ppp (Debian 12's image only: its matrix runs there): built in a root
# of its own so that no compiler reaches the image; it links only libssl3 and
# libpcre2-8, which the image already has (ppp, grep).
if [ "$suite" = bookworm ]; then
    echo "build-image: accel-ppp from $(basename "$accel_src") (a few minutes)" >&2
    build=$work/build
    debootstrap --variant=minbase --include=gcc,libc6-dev,make,cmake,libssl-dev,libpcre2-dev \
        "$suite" "$build" http://deb.debian.org/debian >"$work/debootstrap-build.log" 2>&1 \
        || { tail -30 "$work/debootstrap-build.log" >&2; exit 1; }
    mkdir -p "$build/src"
    tar -xzf "$accel_src" -C "$build/src"
    chroot "$build" sh -c 'cd /src/accel-ppp && mkdir -p build && cd build &&
        cmake -DCMAKE_INSTALL_PREFIX=/usr -DLIB_SUFFIX= -DBUILD_DRIVER=FALSE -DRADIUS=FALSE -DLUA=FALSE \
            -DNETSNMP=FALSE -DSHAPER=FALSE -DCMAKE_BUILD_TYPE=Release .. &&
        make -j"$(nproc)" && make install DESTDIR=/out' >"$work/accel-build.log" 2>&1 \
        || { tail -40 "$work/accel-build.log" >&2; exit 1; }
    cp -a "$build/out/." "$root/"
    rm -rf "$root/usr/include" "$build"
    missing=$(chroot "$root" sh -c 'ldd /usr/sbin/accel-pppd /usr/lib/accel-ppp/*.so' | grep "not found" || true)
    if [ -n "$missing" ]; then
        echo "build-image: accel-ppp needs libraries the image lacks:" >&2
        echo "$missing" >&2
        exit 1
    fi
fi

kver=$(ls "$root/lib/modules" | head -1)
cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"

# Keep only the modules the server needs; the rest is 400 MB of dead weight.
keep="virtio virtio_ring virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev virtio_net net_failover failover
      ppp_generic ppp_async ppp_mppe ppp_deflate bsd_comp slhc libarc4 sch_netem pptp gre pppox"
mods=$root/lib/modules/$kver
mkdir -p "$work/keep"
for m in $keep; do
    f=$(find "$mods" -name "$m.ko*" | head -1)
    if [ -z "$f" ]; then
        # Built into this kernel (Debian 13 builds virtio in): nothing to keep.
        grep -q "/$m.ko" "$mods/modules.builtin" && continue
        echo "build-image: module $m not found" >&2
        exit 1
    fi
    rel=${f#"$mods"/}
    mkdir -p "$work/keep/$(dirname "$rel")"
    cp "$f" "$work/keep/$rel"
done
rm -rf "$mods/kernel"
cp -a "$work/keep/." "$mods/"
chroot "$root" depmod "$kver"

rm -rf "$root"/usr/share/{doc,man,locale,info} "$root"/var/cache/apt "$root"/var/lib/apt/lists "$root/boot"
install -m 0755 "$here/init.sh" "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"
mv "$work/vmlinuz" "$cache/vmlinuz"
mv "$work/initrd.gz" "$cache/initrd.gz"
echo "$recipe" >"$cache/recipe"
echo "build-image: $(du -h "$cache/initrd.gz" | cut -f1) initrd for kernel $kver" >&2

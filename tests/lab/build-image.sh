#!/usr/bin/env bash
# Build the lab's VM (Debian 12 + pptpd + ppp + kernel MPPE, dnsmasq for
# DHCPINFORM, radvd for IPv6 router advertisements, and pptp-linux for the reference client role) from Debian packages only. Output: $LAB_CACHE/vmlinuz and $LAB_CACHE/initrd.gz.
# Cached: does nothing when both exist and the recipe (this file and init.sh)
# has not changed; rebuilt from scratch otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# LAB_SUITE=trixie builds the same server from Debian 13 (pppd 2.5).
suite=${LAB_SUITE:-bookworm}
cache=${LAB_CACHE:-/var/cache/nm-pptp-lab}
recipe=$( (cat "$here/build-image.sh" "$here/init.sh"; echo "$suite") | sha256sum | cut -c1-16)
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

kver=$(ls "$root/lib/modules" | head -1)
cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"

# Keep only the modules the server needs; the rest is 400 MB of dead weight.
keep="virtio virtio_ring virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev virtio_net net_failover failover
      ppp_generic ppp_async ppp_mppe ppp_deflate bsd_comp slhc libarc4 sch_netem"
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

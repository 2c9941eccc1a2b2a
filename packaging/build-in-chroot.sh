#!/usr/bin/env bash
# Builds the packages in a Debian chroot that holds only build-essential and
# debian/control's Build-Depends (mmdebstrap, cached in /var/cache/nm-pptp-pkg
# per release and Build-Depends), with no network, as root:
#
#   packaging/build-in-chroot.sh bookworm|trixie           # from a clean copy
#   packaging/build-in-chroot.sh trixie --reuse-target     # the tree in place
#
# The first form copies the committed files and vendor/ into the chroot and
# builds everything from scratch into a fresh target/: it proves that
# Build-Depends are complete (about 15 minutes on 2 cores). Its packages land
# in target/debian-clean/<codename>/.
# The second bind-mounts this tree at its own path, so cargo finds target/
# up to date and only meson, the install and dpkg run in the chroot: packages
# with that release's paths and shlibs dependencies, in target/debian/<codename>/.
# Build on the host first (packaging/build-debs.sh, as tests/run-all.sh does):
# whatever cargo does recompile in the chroot is linked against that release's
# glibc and lands in the shared target/, where the host's next build takes it
# as up to date (a Debian 13 nm-pptp-service in Debian 12's package).
# The Rust toolchain is rustup's, bind-mounted read-only from the host.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
codename=${1:?usage: build-in-chroot.sh bookworm|trixie [--reuse-target]}
mode=${2:-clean}
bash packaging/vendor.sh
root=$(bash packaging/chroot.sh "$codename" build)
cleanup() {
    umount -R "$root/proc" "$root/dev" "$root/root/.rustup" "$root/root/.cargo/bin" 2>/dev/null || true
    [ "$mode" = --reuse-target ] && umount "$root$here" 2>/dev/null || true
    rm -rf --one-file-system "$root"
}
trap cleanup EXIT
mkdir -p "$root/proc" "$root/dev" "$root/root/.rustup" "$root/root/.cargo/bin"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --bind -o ro "${RUSTUP_HOME:-$HOME/.rustup}" "$root/root/.rustup"
mount --bind -o ro "${CARGO_HOME:-$HOME/.cargo}/bin" "$root/root/.cargo/bin"
if [ "$mode" = --reuse-target ]; then
    src=$here
    mkdir -p "$root$src"
    mount --bind "$here" "$root$src"
else
    src=/build/network-manager-pptp-rs
    mkdir -p "$root$src"
    git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$root$src"
    cp -a vendor "$root$src/"
fi
chroot "$root" env -i HOME=/root PATH=/root/.cargo/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    bash -c "cd '$src' && packaging/build-debs.sh --vendored"
if [ "$mode" != --reuse-target ]; then
    rm -rf "target/debian-clean/$codename" && mkdir -p target/debian-clean
    cp -a "$root$src/target/debian/$codename" "target/debian-clean/$codename"
    ls -l "target/debian-clean/$codename"
fi

#!/usr/bin/env bash
# README's package command: builds network-manager-pptp-rs, -gnome and
# pptp-client-rs from this tree for the Debian release it runs on, into
# target/debian/<codename>/. Crates are vendored first; the build itself runs
# with no network at all (a network namespace with no interfaces), so a
# missing crate fails it instead of being fetched. Reuses target/ (cargo's
# build directory), so after `cargo build --release` little is compiled again.
set -euo pipefail
cd "$(dirname "$0")/.."
# --vendored: vendor/ is already there (a chroot build has no cargo cache).
if [ "${1:-}" = --vendored ]; then
    shift
else
    bash packaging/vendor.sh
fi
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
out=target/debian/$codename
rm -rf "$out" && mkdir -p "$out"
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
# dpkg-buildpackage writes its results next to the source tree; collect them.
rm -f ../network-manager-pptp-rs_"$version"_"$arch".{changes,buildinfo}
unshare --net -- dpkg-buildpackage -b -us -uc --no-sign "$@"
changes=../network-manager-pptp-rs_"$version"_"$arch".changes
for f in $(sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]\{32\} [0-9]* [^ ]* [^ ]* //p' "$changes"); do
    mv "../$f" "$out/"
done
mv "$changes" "$out/"
ls -l "$out"

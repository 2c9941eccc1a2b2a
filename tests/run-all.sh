#!/usr/bin/env bash
# README's test command: the whole suite. Runs as root on Debian 12 with the
# machine's Rust toolchain, installing the Debian packages it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
# Idempotent: returns at once when every package is there.
bash tests/install-deps.sh

echo "== format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== unit, property, simulated-link and in-process service tests"
# The gated tests (root, a private system bus, gnome-keyring, Xvfb) run too.
NM_PPTP_SYSTEM_TESTS=1 cargo test --workspace

echo "== the same tests as a contributor runs them: not root, no display, bus or keyring"
bash tests/as-contributor.sh

echo "== translations: the .pot matches the sources, every language is complete"
python3 tests/po_test.py

echo "== editor: the libnm plugin through real libnm, the GTK 4 and GTK 3 editors on Xvfb"
cargo build -p nm-pptp-editor-plugin -p nm-pptp-editor-gtk -p nm-pptp-editor-gtk3
# Debian's python3 (python3-gi), not whatever python3 comes first on PATH.
/usr/bin/python3 tests/editor/plugin_test.py
xvfb-run -a /usr/bin/python3 tests/editor/editor_test.py
EDITOR_GTK=3 xvfb-run -a /usr/bin/python3 tests/editor/editor_test.py

echo "== fuzz targets build and survive a short run"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi
(
    # cargo-fuzz needs nightly features; the stable toolchain is the only one
    # here. Only this subshell: proc-macro2 and others rebuild when it changes,
    # and the package builds after this reuse target/.
    export RUSTC_BOOTSTRAP=1
    cd engine/fuzz
    cargo fuzz build -O
    for t in $(cargo fuzz list); do
        cargo fuzz run -O "$t" -- -max_total_time=5 -rss_limit_mb=2048 >/dev/null 2>"../../target/fuzz-$t.log" \
            || { echo "fuzz target $t failed:"; tail -40 "../../target/fuzz-$t.log"; exit 1; }
        echo "fuzz $t: $(grep -o 'Done [0-9]* runs' "../../target/fuzz-$t.log" || echo ok)"
    done
)
echo "== packages: the three .debs built offline from vendored crates, lintian, the AppStream file"
bash packaging/build-debs.sh
export NM_PPTP_DEBS=$PWD/target/debian/bookworm
lintian --fail-on error,warning "$NM_PPTP_DEBS"/*.changes
metainfo=$(mktemp -d)
dpkg-deb -x "$NM_PPTP_DEBS"/network-manager-pptp-rs-gnome_*.deb "$metainfo"
appstreamcli validate --no-net "$metainfo"/usr/share/metainfo/network-manager-pptp.metainfo.xml
rm -rf "$metainfo"
echo "== packages: over Debian's network-manager-pptp in clean Debian 12 and 13 roots: replace, connect, upgrade, purge"
python3 tests/lab/packages.py bookworm trixie

echo "== lab: pptp-client against a real pptpd (qemu VM, pppd 2.4.9, kernel MPPE)"
# target/release/pptp-client is the one the package build just made.
python3 tests/lab/interop.py
echo "== lab: 5 connects per MPPE mode over a lossy, reordering path, beside pppd + pptp-linux (50: python3 tests/lab/lossy.py 50)"
python3 tests/lab/lossy.py 5
echo "== lab: pptp-client against accel-ppp beside pppd + pptp-linux, 2 connects each (the full matrix: python3 tests/lab/accel.py)"
python3 tests/lab/accel.py 2 mschapv2_mppe128
echo "== lab: the core scenarios against Debian 13's server (pppd 2.5.2, pptpd 1.5.0)"
LAB_SUITE=trixie LAB_CACHE=/var/cache/nm-pptp-lab-trixie \
    python3 tests/lab/interop.py mschapv2_mppe128 wrong_password mppe40 mppe128_stateful unencrypted_chap ipv6 ipv6_no_leak session_limit

echo "== benchmark smoke run: every tunnel passes traffic (bare veth, boringtun, OpenVPN, ours x3, 1 and 4 tunnels at once)"
python3 bench/run.py --smoke

echo "== NetworkManager: the plugin's files as its .debs install them, real NetworkManager 1.42, real pptpd"
python3 tests/lab/nm_e2e.py

echo "== all tests passed"

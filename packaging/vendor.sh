#!/usr/bin/env bash
# Copies every crate Cargo.lock names into vendor/, where the package build
# (debian/rules) takes them from with --offline --locked. The one step of a
# package build that may use the network, and only for crates that cargo's
# cache (~/.cargo/registry) does not already hold.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo vendor --locked --quiet vendor >/dev/null
echo "vendor/: $(ls vendor | wc -l) crates from Cargo.lock"

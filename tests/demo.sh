#!/usr/bin/env bash
# README's first command. Today it runs the engine end to end in memory: a client
# and the engine's server role negotiate PPTP, LCP, MS-CHAPv2, MPPE-128 and IPCP,
# then move 1000 packets each way and disconnect. The lab with a real
# NetworkManager and a real pptpd VM replaces this with the runtime and service
# issues.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release -p pptp-engine --example loopback

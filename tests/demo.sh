#!/usr/bin/env bash
# README's first command: the main job end to end on the built-in lab. Installs
# what it needs, builds and stages the plugin with meson, boots the lab's real
# pptpd VM, starts a real NetworkManager in the client namespace, runs
# `nmcli connection up PAL`, shows the routes, the DNS and a ping through the
# tunnel, then `nmcli connection down PAL`, shows everything restored, and cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh
exec python3 tests/lab/nm_e2e.py --demo

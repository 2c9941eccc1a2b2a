#!/usr/bin/env bash
# `cargo test --workspace` as a contributor has it: not root, no display, no
# session or system bus, no keyring, the system-test gate off. The test
# binaries cargo built are run as `nobody` from their package's directory, as
# cargo runs them; any failure fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"], m["manifest_path"].rsplit("/", 1)[0])
' >target/contributor-tests.txt
home=$(mktemp -d)
chmod 755 "$home"
trap 'rm -rf "$home"' EXIT
failed=0
while read -r exe dir; do
    if ! (cd "$dir" && env -i PATH=/usr/bin:/bin HOME="$home" LANG=C.UTF-8 \
        setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
        "$exe" -q >"$home/out" 2>&1); then
        echo "as nobody: $exe failed:"
        tail -40 "$home/out"
        failed=1
    fi
done <target/contributor-tests.txt
[ "$failed" = 0 ] && echo "as nobody: $(wc -l <target/contributor-tests.txt) test binaries passed"
exit "$failed"

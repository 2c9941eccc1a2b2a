#!/usr/bin/env bash
# Extract the translatable strings into the .pot (or into $1), with the same
# keywords meson's i18n target uses (po/meson.build). xgettext 0.21 reads our
# .rs files with its C parser and warns about the extension; that is expected.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-po/NetworkManager-pptp-rs.pot}
grep -v '^#' po/POTFILES.in | xgettext --files-from=- --directory=. --output="$out" \
    --keyword=_ --keyword=tr --keyword=tr_fill --keyword=dgettext:2 --from-code=UTF-8 \
    --add-comments=Translators --package-name=NetworkManager-pptp-rs 2>/dev/null

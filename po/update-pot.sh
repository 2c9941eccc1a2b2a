#!/usr/bin/env bash
# The translators' flow, as meson's i18n module runs it (po/meson.build:
# `meson compile NetworkManager-pptp-rs-pot` and `NetworkManager-pptp-rs-update-po`),
# without a meson build directory:
#   po/update-pot.sh          extract the strings of POTFILES.in into the .pot,
#                             then msgmerge it into every language of LINGUAS
#                             (translators' work is kept; new strings come
#                             untranslated, changed ones fuzzy)
#   po/update-pot.sh FILE     only extract, into FILE (what tests/po_test.py checks)
# xgettext 0.21 reads our .rs files with its C parser; the keywords are meson's.
set -euo pipefail
cd "$(dirname "$0")/.."
pot=po/NetworkManager-pptp-rs.pot
out=${1:-$pot}
grep -v '^#' po/POTFILES.in | xgettext --files-from=- --directory=. --output="$out" \
    --keyword=_ --keyword=tr --keyword=tr_fill --keyword=dgettext:2 --from-code=UTF-8 \
    --add-comments=Translators --package-name=NetworkManager-pptp-rs 2>/dev/null
if [ $# -eq 0 ]; then
    for lang in $(cat po/LINGUAS); do
        msgmerge --quiet --update --backup=none "po/$lang.po" "$pot"
    done
fi

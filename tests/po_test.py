#!/usr/bin/env python3
"""Translations are in step with the sources: every file that marks strings is
in po/POTFILES.in, the committed .pot has exactly the strings the sources mark,
and every language in LINGUAS translates all of them, compiling with
`msgfmt --check` (format strings included). po/update-pot.sh refreshes the
.pot and merges it into the .po files."""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PO = os.path.join(ROOT, "po")


def msgids(path):
    text = open(path, encoding="utf-8").read()
    ids = set()
    for block in text.split("\n\n"):
        m = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if m:
            s = "".join(re.findall(r'"(.*)"', m.group(1)))
            if s:
                ids.add(s)
    return ids


# What marks a string for translation: tr()/tr_fill() in Rust (the string may
# start on the next line), translatable="yes" in GtkBuilder files.
MARKED = re.compile(r'\btr(?:_fill)?\(\s*"|translatable="yes"')
SOURCES = ("auth-dialog", "cli", "editor", "engine", "runtime", "service", "settings")


def unlisted_sources():
    """Files with marked strings that POTFILES.in does not name: their strings
    would never reach translators."""
    listed = {l.strip() for l in open(os.path.join(PO, "POTFILES.in")) if l.strip() and not l.startswith("#")}
    found = set()
    for top in SOURCES:
        for d, dirs, names in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [x for x in dirs if x not in ("target", "fuzz")]
            for n in names:
                if n.endswith((".rs", ".ui")):
                    path = os.path.join(d, n)
                    text = open(path, encoding="utf-8").read()
                    # A test module's strings are not for users.
                    text = text.split("#[cfg(test)]")[0] if n.endswith(".rs") else text
                    if MARKED.search(text):
                        found.add(os.path.relpath(path, ROOT))
    missing = [l for l in listed if not os.path.exists(os.path.join(ROOT, l))]
    return sorted(found - listed), missing


def main():
    failures = []
    unlisted, missing = unlisted_sources()
    if unlisted:
        failures.append(f"po/POTFILES.in lacks files with translatable strings: {unlisted}")
    if missing:
        failures.append(f"po/POTFILES.in names files that do not exist: {missing}")
    with tempfile.TemporaryDirectory() as d:
        fresh = os.path.join(d, "fresh.pot")
        subprocess.run(["bash", os.path.join(PO, "update-pot.sh"), fresh], check=True)
        want = msgids(fresh)
        have = msgids(os.path.join(PO, "NetworkManager-pptp-rs.pot"))
        if want != have:
            failures.append(f"po/NetworkManager-pptp-rs.pot is out of date (run po/update-pot.sh): "
                            f"missing {sorted(want - have)}, stale {sorted(have - want)}")
        langs = open(os.path.join(PO, "LINGUAS")).read().split()
        for lang in langs:
            po = os.path.join(PO, f"{lang}.po")
            r = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.path.join(d, f"{lang}.mo"), po],
                               capture_output=True, text=True)
            stats = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
            if r.returncode != 0 or "untranslated" in stats or "fuzzy" in stats:
                failures.append(f"{lang}: {r.stderr.strip()}")
            if msgids(po) != want:
                failures.append(f"{lang}.po does not cover exactly the .pot's strings: "
                                f"missing {sorted(want - msgids(po))}")
            print(f"{lang}: {stats}")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Translations are in step with the sources: the committed .pot has exactly
the strings the sources mark, and every language in LINGUAS translates all of
them, with msgfmt's format checks passing."""
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


def main():
    failures = []
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

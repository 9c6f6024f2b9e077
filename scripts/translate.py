"""Fill msgstr entries of a .po file from a JSON dictionary.

Usage: ``python scripts/translate.py PO JSON``.

A developer's helper for keeping catalogs complete after ``makemessages``; prints what is still
untranslated so nothing ships half done. Plural entries take a single string (Chinese has one form).
"""

from __future__ import annotations

import json
import sys

import polib


def main(po_path: str, json_path: str) -> int:
    catalog = polib.pofile(po_path)
    with open(json_path, encoding="utf-8") as handle:
        translations = json.load(handle)
    for entry in catalog:
        text = translations.get(entry.msgid)
        if text is None:
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = {0: text}
        else:
            entry.msgstr = text
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    catalog.metadata_is_fuzzy = False
    catalog.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    catalog.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    catalog.save()
    missing = [e.msgid for e in catalog if not e.obsolete and not e.translated()]
    for msgid in missing:
        sys.stdout.write(f"untranslated: {msgid!r}\n")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))

"""Every message catalog is complete: the console speaks Chinese by default, so no string may
fall back to English because someone forgot to translate it."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = sorted(
    path
    for path in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po")
    if ".venv" not in path.parts
)


def test_there_is_a_chinese_catalog():
    assert ROOT / "locale/zh_Hans/LC_MESSAGES/django.po" in CATALOGS


@pytest.mark.parametrize("catalog", CATALOGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_message_is_translated(catalog):
    po = polib.pofile(str(catalog))
    missing = [e.msgid for e in po if not e.obsolete and (not e.translated() or e.fuzzy)]
    assert missing == []
    assert not po.metadata_is_fuzzy, "a fuzzy header makes msgfmt ignore the charset"

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


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sign_in_throttling_pages_are_in_chinese_too(client, django_user_model):
    # django-axes ships no Chinese: its names come from console/vendor_strings.py
    admin = django_user_model.objects.create_superuser("root-admin", password="x-Long-pass-1")
    client.force_login(admin)
    index = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "登录限制" in index
    assert "控制台" in index, "the console app keeps its own (translated) configuration"
    assert "登录尝试" in index
    assert "Access attempts" not in index
    from axes.models import AccessAttempt

    AccessAttempt.objects.create(
        username="kefu",
        ip_address="10.0.0.1",
        user_agent="x",
        http_accept="*/*",
        path_info="/admin/login/",
        failures_since_start=1,
    )
    attempts = client.get("/admin/axes/accessattempt/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "IP 地址" in attempts.content.decode()

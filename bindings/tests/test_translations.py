"""Simplified Chinese is the default language of the bindings pages; every string is translated."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.urls import reverse

from bindings import services
from console.roles import CUSTOMER_SERVICE
from console.testing.factories import ApplicationFactory

PO = Path(__file__).resolve().parents[1] / "locale/zh_Hans/LC_MESSAGES/django.po"


def test_every_message_of_the_app_has_a_chinese_translation():
    catalog = polib.pofile(str(PO))
    assert len(catalog) > 200
    assert [e.msgid for e in catalog.untranslated_entries()] == []
    assert [e.msgid for e in catalog.fuzzy_entries()] == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_binding_pages_and_refusals_speak_chinese_by_default(
    client, make_user, default_language
):
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    page = client.get(reverse("bindings:list")).content.decode()
    assert "<title>绑定 |" in page
    assert "Bindings" not in page
    with pytest.raises(services.BindingRefused) as refused:
        services.create_binding(ApplicationFactory(mode="AX"), {"a_number": "13800000001"})
    assert "号码" in refused.value.message

"""The menu written in Python (``console_tags.nav_html``) is the markup of ``console/nav.html``."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation
from django.utils.translation import gettext_lazy

from console.templatetags.console_tags import nav_entries, nav_html

ENTRIES = [
    {"label": gettext_lazy("Console"), "url": "/", "badge": 0, "current": False},
    {"label": gettext_lazy("Calls"), "url": "/calls/", "badge": 0, "current": True},
    {"label": 'Odd <b>"name"</b> & co', "url": "/a?b=1&c=<2>", "badge": 0, "current": False},
    {"label": gettext_lazy("Open alerts"), "url": "/alerts/", "badge": 1, "current": False},
    {"label": gettext_lazy("Open alerts"), "url": "/alerts/", "badge": 2, "current": True},
    {"label": "Many", "url": "/many/", "badge": 12345, "current": False},
]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(
    "entries", [[], ENTRIES[:1], ENTRIES], ids=["no entries", "one", "every kind"]
)
def test_the_menu_is_the_templates_markup(language, entries):
    # given the menu's entries, in either language
    with translation.override(language):
        # when it is written by both
        expected = render_to_string("console/nav.html", {"entries": entries})
        written = nav_html(entries)
    # then the markup is the same, byte for byte
    assert written == expected


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["customer service", "administrator", "superuser", "none"])
def test_each_roles_menu_is_the_templates_markup(role, make_user, django_user_model):
    from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR

    # given a user of each role on the calls list
    if role == "superuser":
        user = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    else:
        group = {"customer service": CUSTOMER_SERVICE, "administrator": NUMBER_ADMINISTRATOR}
        user = make_user(f"u-{role.replace(' ', '-')}", group.get(role))
    request = RequestFactory().get("/calls/")
    request.user = user
    entries = nav_entries(request)
    # then the menu the page shows is what the template made of the same entries
    assert nav_html(entries) == render_to_string("console/nav.html", {"entries": entries})
    assert (role == "none") == (len(entries) <= 2)  # the console page and the administration

"""``{% load static %}`` is the console's (console/templatetags/static_urls.py): the same URLs,
each worked out once per process."""

from __future__ import annotations

from django.template import engines
from django.templatetags.static import static


def render(source: str) -> str:
    return engines["django"].from_string(source).render({})


def test_the_urls_are_djangos():
    for path in ("admin/css/base.css", "console/console.css", "a file with spaces & more.js"):
        assert render(f'{{% load static %}}{{% static "{path}" %}}') == render(
            f'{{% load static %}}{{% static "{path}" as url %}}{{{{ url }}}}'
        )
        assert render(f'{{% load static %}}{{% static "{path}" %}}') == static(path).replace(
            "&", "&amp;"
        )


def test_the_prefix_tags_are_djangos():
    assert (
        render("{% load static %}{% get_static_prefix %}|{% get_media_prefix %}")
        == "/static/|/media/"
    )


def test_a_changed_static_setting_is_followed(settings):
    assert render('{% load static %}{% static "x.css" %}') == "/static/x.css"
    settings.STATIC_URL = "/elsewhere/"
    assert render('{% load static %}{% static "x.css" %}') == "/elsewhere/x.css"

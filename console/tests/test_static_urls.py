"""``console.static_urls.url``: Django's static URLs, each worked out once per process."""

from __future__ import annotations

from django.templatetags.static import static

from console.static_urls import url


def test_the_urls_are_djangos():
    for path in ("admin/css/base.css", "console/console.css", "a file with spaces & more.js"):
        assert url(path) == static(path)
        assert url(path) == url(path)


def test_a_changed_static_setting_is_followed(settings):
    assert url("x.css") == "/static/x.css"
    settings.STATIC_URL = "/elsewhere/"
    assert url("x.css") == "/elsewhere/x.css"

"""``{% load static %}`` with each file's URL worked out once per process (issue 19).

Registered under the name ``static`` in the template settings (``OPTIONS["libraries"]``), so
every template, the admin's too, gets it. Django's ``{% static %}`` asks the storage for the URL
on every use: a page of the console uses it about ten times, a few percent of the calls list's
CPU. The URL of a path does not change while a process runs (the manifest of hashed names is
read once at start-up), so it is kept, and forgotten when a test changes the static settings.
The tags and the markup are Django's.
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.core.signals import setting_changed
from django.templatetags import static as django_static

register = template.Library()
register.tag("get_static_prefix", django_static.get_static_prefix)
register.tag("get_media_prefix", django_static.get_media_prefix)


@lru_cache(maxsize=2048)
def url(path: str) -> str:
    return django_static.StaticNode.handle_simple(path)


class StaticNode(django_static.StaticNode):
    @classmethod
    def handle_simple(cls, path):
        return url(path)


@register.tag("static")
def do_static(parser, token):
    """Django's ``{% static path [as name] %}``."""
    return StaticNode.handle_token(parser, token)


def _static_settings_changed(setting: str, **kwargs) -> None:
    if setting in {"STATIC_URL", "STATIC_ROOT", "STORAGES", "STATICFILES_DIRS", "INSTALLED_APPS"}:
        url.cache_clear()


setting_changed.connect(_static_settings_changed, dispatch_uid="console.static_urls")

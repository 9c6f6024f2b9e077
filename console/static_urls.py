"""Static files' URLs worked out once per process, for the pages written in Python (issue 19).

``console.frame`` writes the calls list's frame in Python and asks for about ten static URLs a
page; Django's ``static()`` asks the storage each time. The URL of a path does not change while
a process runs (the manifest of hashed names is read once at start-up), so it is kept, and
forgotten when a test changes the static settings. The URLs are Django's ``static()``'s.

(Templates keep Django's own ``{% static %}``: registering a library under the name ``static``
would override it for every template, admin's included, but Django's checks warn about two
libraries of one name, and the deploy check must stay clean.)
"""

from __future__ import annotations

from functools import lru_cache

from django.core.signals import setting_changed
from django.templatetags.static import static


@lru_cache(maxsize=2048)
def url(path: str) -> str:
    """``django.templatetags.static.static(path)``, once per path and process."""
    return static(path)


def _static_settings_changed(setting: str, **kwargs) -> None:
    if setting in {"STATIC_URL", "STATIC_ROOT", "STORAGES", "STATICFILES_DIRS", "INSTALLED_APPS"}:
        url.cache_clear()


setting_changed.connect(_static_settings_changed, dispatch_uid="console.static_urls")

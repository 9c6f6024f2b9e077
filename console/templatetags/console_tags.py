"""Template filters and tags shared by console pages: durations, the navigation."""

from __future__ import annotations

import math
from datetime import timedelta

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext

from console import navigation
from console.durations import humanized

register = template.Library()


@register.filter
def minutes(value: timedelta | None) -> int:
    """Whole minutes of a duration, rounded up (a lock of 90 s reads as 2 minutes)."""
    if not value:
        return 0
    return math.ceil(value.total_seconds() / 60)


def nav_entries(request) -> list[dict]:
    """The entries of the menu (``console.navigation``) the request's user may open, the current
    one marked."""
    user = getattr(request, "user", None)
    if user is None or not (user.is_active and user.is_staff):
        return []
    path = request.path
    # One permission set for the whole menu: user.has_perm() per entry asked every backend
    # again (each instantiated anew), twenty times a page. The same answer: an active
    # superuser holds every permission, anybody else those of the backends' union.
    granted = None if user.is_superuser else user.get_all_permissions()
    entries = []
    for entry in navigation.menu():
        if granted is not None and entry.permission is not None and entry.permission not in granted:
            continue
        url = menu_url(entry.url_name)
        badge = entry.badge() if entry.badge is not None else 0
        entries.append(
            {"label": entry.label, "url": url, "url_name": entry.url_name, "badge": badge}
        )
    # The longest matching prefix is the current page ("/" only on the console page itself).
    matching = [
        e for e in entries if path == e["url"] or (e["url"] != "/" and path.startswith(e["url"]))
    ]
    current = max(matching, key=lambda e: len(e["url"]), default=None)
    for entry in entries:
        entry["current"] = entry is current
    return entries


# reverse() of each menu entry, once per process and script prefix: the URLconf does not change
# while a process runs, and reversing twenty names was a third of the menu's cost.
_urls: dict[tuple[str, str], str] = {}


def menu_url(url_name: str) -> str:
    """``reverse(url_name)``, kept per process and script prefix."""
    key = (get_script_prefix(), url_name)
    url = _urls.get(key)
    if url is None:
        url = _urls[key] = reverse(url_name)
    return url


@register.simple_tag(takes_context=True)
def console_nav(context) -> str:
    """The menu: the markup of ``console/nav.html`` written in Python (it is on every page; the
    template engine took half the menu's time). ``console/tests/test_nav.py`` renders both
    ways and compares."""
    return nav_html(nav_entries(context.get("request")))


def nav_html(entries: list[dict]) -> str:
    """``console/nav.html`` for these entries, escaped as the template escapes."""
    if not entries:
        return "\n"  # the template's last line break
    parts = [f'<nav class="console-nav" aria-label="{conditional_escape(gettext("Console"))}">\n']
    for entry in entries:
        current = ' aria-current="page" class="current"' if entry["current"] else ""
        parts.append(
            f'<a href="{conditional_escape(entry["url"])}"{current}>'
            f"{conditional_escape(localize(entry['label']))}"
        )
        badge = entry["badge"]
        if badge:
            count = conditional_escape(localize(badge))
            title = ngettext("%(n)s open", "%(n)s open", badge) % {"n": count}
            parts.append(f' <span class="nav-badge" title="{title}">{count}</span>')
        parts.append("</a>")
    parts.append("\n</nav>\n")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


@register.filter
def lifetime(seconds: int | None) -> str:
    """A lifetime in seconds as people read it ("2 hours", "never expires")."""
    return humanized(seconds)

"""Template filters and tags shared by console pages: durations, the navigation."""

from __future__ import annotations

import math
from datetime import timedelta

from django import template
from django.urls import reverse

from console import navigation
from console.durations import humanized

register = template.Library()


@register.filter
def minutes(value: timedelta | None) -> int:
    """Whole minutes of a duration, rounded up (a lock of 90 s reads as 2 minutes)."""
    if not value:
        return 0
    return math.ceil(value.total_seconds() / 60)


@register.inclusion_tag("console/nav.html", takes_context=True)
def console_nav(context) -> dict:
    """The entries of the menu (``console.navigation``) this user may open, the current one
    marked."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not (user.is_active and user.is_staff):
        return {"entries": []}
    path = request.path
    entries = []
    for entry in navigation.menu():
        if entry.permission is not None and not user.has_perm(entry.permission):
            continue
        url = reverse(entry.url_name)
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
    return {"entries": entries}


@register.filter
def lifetime(seconds: int | None) -> str:
    """A lifetime in seconds as people read it ("2 hours", "never expires")."""
    return humanized(seconds)

"""Template filters and tags shared by console pages: durations, the navigation."""

from __future__ import annotations

import math
from datetime import timedelta

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from console.durations import humanized

register = template.Library()


@register.filter
def minutes(value: timedelta | None) -> int:
    """Whole minutes of a duration, rounded up (a lock of 90 s reads as 2 minutes)."""
    if not value:
        return 0
    return math.ceil(value.total_seconds() / 60)


# The console's navigation, shown on every page to signed-in staff: each entry appears to those
# whose role grants its permission (None: every staff user). The admin's sidebar is switched off
# (console/urls.py), so this is the one way round, and lists keep the width of the screen.
NAV = (
    (_("Console"), "home", None),
    (_("Bindings"), "admin:bindings_binding_changelist", "bindings.view_binding"),
    (_("Calls"), "billing:calls", "billing.view_callrecord"),
    (_("Calls in progress"), "billing:live_calls", "billing.view_callevent"),
    (_("Dashboard"), "billing:dashboard", "billing.view_callrecord"),
    (_("SMS"), "admin:billing_smsrecord_changelist", "billing.view_smsrecord"),
    (_("Recordings"), "admin:recordings_recording_changelist", "recordings.view_recording"),
    (_("Statements"), "billing:statements", "billing.view_statement"),
    (_("Cost allocation"), "billing:allocation", "billing.view_statement"),
    (_("Bill reconciliation"), "billing:reconciliations", "billing.view_billreconciliation"),
    (_("Tariffs"), "admin:billing_tariff_changelist", "billing.view_tariff"),
    (_("Packages"), "admin:billing_package_changelist", "billing.view_package"),
    # (billing's "X numbers" is the count of numbers on a statement, "X 号码数")
    (
        pgettext_lazy("navigation", "X numbers"),
        "admin:bindings_xnumber_changelist",
        "bindings.view_xnumber",
    ),
    (_("Pool usage"), "admin:bindings_xnumber_usage", "bindings.view_xnumber"),
    (_("Applications"), "admin:console_application_changelist", "console.view_application"),
    (_("Open alerts"), "admin:console_alert_changelist", "console.view_alert"),
    (_("Administration"), "admin:index", None),
)


@register.inclusion_tag("console/nav.html", takes_context=True)
def console_nav(context) -> dict:
    """The entries of :data:`NAV` this user may open, the current one marked."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not (user.is_active and user.is_staff):
        return {"entries": []}
    path = request.path
    entries = []
    for label, name, permission in NAV:
        if permission is not None and not user.has_perm(permission):
            continue
        url = reverse(name)
        entries.append({"label": label, "url": url, "url_name": name})
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

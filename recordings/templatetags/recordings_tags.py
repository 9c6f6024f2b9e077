"""Template tags of recordings: the player's lookup, the countdown, the administrators' banner.

``{% load recordings_tags %}`` then:

* ``{% recording_of call_record as recording %}``: the call's Recording, or None;
* ``{{ recording.deadline|countdown }}``: "2 d 3 h", "45 min", or "overdue";
* ``{{ recording.last_error_code|recording_error }}``: the failure in plain words;
* ``{% recordings_alert_banner %}``: the banner administrators see while recordings are at risk.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from recordings import services

register = template.Library()


@register.simple_tag
def recording_of(call_record):
    """The Recording of a CallRecord, or None (no query when it was select_related)."""
    if call_record is None:
        return None
    try:
        return call_record.recording
    except ObjectDoesNotExist:
        return None


def countdown_units() -> dict[str, str]:
    """The translated formats of :func:`countdown`, also handed to the page's countdown script."""
    return {
        "days": gettext("%(days)d d %(hours)d h"),
        "hours": gettext("%(hours)d h %(minutes)d min"),
        "minutes": gettext("%(minutes)d min"),
        "overdue": gettext("overdue"),
    }


@register.filter
def countdown(deadline: datetime | None) -> str:
    """Time left until ``deadline``, coarse: days and hours, or hours and minutes."""
    if deadline is None:
        return ""
    units = countdown_units()
    seconds = int((deadline - timezone.now()).total_seconds())
    if seconds <= 0:
        return units["overdue"]
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return units["days"] % {"days": days, "hours": hours}
    if hours:
        return units["hours"] % {"hours": hours, "minutes": minutes}
    return units["minutes"] % {"minutes": max(minutes, 1)}


@register.filter
def recording_error(code: str) -> str:
    return services.explain(code)


@register.inclusion_tag("recordings/_alert_banner.html", takes_context=True)
def recordings_alert_banner(context) -> dict:
    """For users holding ``recordings.monitor_recordings``: how many recordings are at risk."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("recordings.monitor_recordings"):
        return {"count": 0}
    return {"count": services.banner_count(), "url": reverse("recordings:at_risk")}

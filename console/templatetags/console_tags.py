"""Template filters shared by console pages."""

from __future__ import annotations

import math
from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def minutes(value: timedelta | None) -> int:
    """Whole minutes of a duration, rounded up (a lock of 90 s reads as 2 minutes)."""
    if not value:
        return 0
    return math.ceil(value.total_seconds() / 60)

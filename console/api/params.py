"""Query parameters every API list reads the same way, refused as problem details."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from console.api.problems import Problem


def moment(value: str, name: str) -> datetime:
    """An ISO 8601 date and time, in UTC (a naive one is in the console's time zone); a problem
    detail for anything else, an offset the database cannot store included."""
    try:
        parsed = parse_datetime(value)
        if parsed is not None:
            if timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed)
            return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise Problem(
        _("%(name)s is not an ISO 8601 date and time.") % {"name": name},
        code="validation",
        title=_("The request is not valid."),
        status_code=400,
        errors=[{"field": name, "message": _("Not a date and time."), "code": "invalid"}],
    )


def integer(value: str, name: str) -> int:
    """A whole number (an id) a database column can hold; a problem detail for anything else."""
    try:
        number = int(value)
        if -(2**63) <= number < 2**63:
            return number
    except (TypeError, ValueError):
        pass
    raise Problem(
        _("%(name)s is not a whole number.") % {"name": name},
        code="validation",
        title=_("The request is not valid."),
        status_code=400,
        errors=[{"field": name, "message": _("Not a whole number."), "code": "invalid"}],
    )

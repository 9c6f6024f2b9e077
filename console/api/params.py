"""Query parameters every API list reads the same way, refused as problem details."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from console.api.problems import Problem
from console.numbers import InvalidNumber, normalize


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


def _pairs(names) -> list[tuple[str, str]]:
    return [(name, name) if isinstance(name, str) else name for name in names]


def filtered(queryset, query, *, ids=(), exact=(), numbers=(), period=None):
    """A list's queryset narrowed by its query parameters, each read the same way on every list.

    Each of ``ids``, ``exact`` and ``numbers`` names parameters, as ``name`` or ``(name, field)``:
    ``ids`` are whole numbers (:func:`integer`), ``exact`` values as given, ``numbers`` real
    numbers matched by their exact value in any written form (never by a part of one; one that
    is no number matches nothing). ``period`` is ``(field, after, before)``: ISO 8601 moments
    (:func:`moment`), the field at or after the first and before the second.
    """
    for name, field in _pairs(ids):
        if query.get(name):
            queryset = queryset.filter(**{field: integer(query[name], name)})
    for name, field in _pairs(exact):
        if query.get(name):
            queryset = queryset.filter(**{field: query[name]})
    for name, field in _pairs(numbers):
        if query.get(name):
            try:
                queryset = queryset.filter(**{field: normalize(query[name])})
            except InvalidNumber:
                queryset = queryset.none()
    if period is not None:
        field, after, before = period
        for name, lookup in ((after, "gte"), (before, "lt")):
            if query.get(name):
                queryset = queryset.filter(**{f"{field}__{lookup}": moment(query[name], name)})
    return queryset

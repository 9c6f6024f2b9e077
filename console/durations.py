"""Durations as people read them: ``2 hours``, ``1 天 6 小时``, never a bare number of seconds.

Binding lifetimes are typed in minutes in every mode (``bindings.forms.LifetimeField``) and shown
through :func:`humanized`, whatever unit the platform takes for the mode.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

_UNITS = (
    (86400, lambda n: ngettext("%(n)d day", "%(n)d days", n) % {"n": n}),
    (3600, lambda n: ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}),
    (60, lambda n: ngettext("%(n)d minute", "%(n)d minutes", n) % {"n": n}),
    (1, lambda n: ngettext("%(n)d second", "%(n)d seconds", n) % {"n": n}),
)


def humanized(seconds: int | None, *, none: str | None = None) -> str:
    """``seconds`` in days, hours, minutes and seconds, the zero parts left out.

    ``None`` and 0 give ``none`` (default: "never expires", what they mean for a lifetime).
    """
    if not seconds:
        return str(none if none is not None else _("never expires"))
    parts = []
    rest = int(seconds)
    for size, words in _UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(words(count))
    return " ".join(parts)

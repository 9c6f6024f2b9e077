"""django-axes under a name administrators understand, in their language (it ships no zh).

A module of its own: Django picks an app's configuration class from its ``apps`` module only when
that module holds exactly one, and ``console.apps`` must keep resolving to ``ConsoleConfig``.
"""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    """django-axes with a translated name, and its records named in the reader's language."""

    verbose_name = _("Sign-in throttling")

    def ready(self) -> None:
        super().ready()
        # axes names its records in English with UTC times ("Access Log for kefu @ 2026-12-06
        # 19:43:40.226762+00:00"): the admin shows those names as page titles and breadcrumbs.
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        AccessAttempt.__str__ = _named(_("Sign-in attempts of %(user)s, %(time)s"))
        AccessFailureLog.__str__ = _named(_("Failed sign-in of %(user)s, %(time)s"))
        AccessLog.__str__ = _named(_("Sign-in of %(user)s, %(time)s"))


def _named(text):
    """A ``__str__`` that reads ``text`` in the active language, with the local time."""

    def name(record) -> str:
        when = timezone.localtime(record.attempt_time).strftime("%Y-%m-%d %H:%M:%S")
        return str(text) % {"user": record.username, "time": when}

    return name

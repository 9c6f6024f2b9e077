from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    """Call events, CDRs, SMS records, tariffs and monthly statements."""

    name = "billing"
    verbose_name = _("Calls and billing")

    def ready(self) -> None:
        from billing import jobs, timeline  # noqa: F401 - registers the calls in a binding's timeline

        jobs.register()

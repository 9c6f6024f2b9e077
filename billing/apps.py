from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    """Call events, CDRs, SMS records, tariffs and monthly statements."""

    name = "billing"
    verbose_name = _("Calls and billing")

    def ready(self) -> None:
        from django.conf import settings

        from billing import timeline  # noqa: F401 - registers the calls in a binding's timeline

        # Written into django-celery-beat's tables at beat start-up (see console.settings).
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "refresh-call-stats",
            {"task": "billing.tasks.refresh_call_stats_task", "schedule": 60.0},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "close-statements",
            {"task": "billing.tasks.close_statements_task", "schedule": 3600.0},
        )

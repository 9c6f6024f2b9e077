from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    """Call events, CDRs, SMS records, tariffs and monthly statements."""

    name = "billing"
    verbose_name = _("Calls and billing")

    def ready(self) -> None:
        from billing import health, jobs, models, pushes, signals, timeline

        timeline.register()  # the calls in a binding's timeline (bindings.timeline)
        pushes.register()  # CDRs, call events and SMS notices (console.inbox)
        jobs.register()  # bill reconciliations in the stuck-job sweeper (console.jobs)
        # The number-health guard: an assessment queued after commit, never computed in intake.
        signals.cdrs_ingested.connect(
            health.cdrs_arrived, sender=models.CallRecord, dispatch_uid="billing.health"
        )

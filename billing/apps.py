from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    """Call events, CDRs, SMS records, tariffs and monthly statements."""

    name = "billing"
    verbose_name = _("Calls and billing")

    def ready(self) -> None:
        from billing import events, jobs, pushes, retention, timeline, widgets
        from billing.signals import cdrs_ingested
        from console import webhooks

        timeline.register()  # the calls in a binding's timeline (bindings.timeline)
        widgets.connect()  # the calls list's cached application choices follow changes
        pushes.register()  # CDRs, call events and SMS notices (console.inbox)
        jobs.register()  # bill reconciliations in the stuck-job sweeper (console.jobs)
        retention.register()  # call events, CDRs and SMS records (console.retention)
        webhooks.register_events(events.EVENTS)
        # call.completed in the ingest's own transaction (the signal is sent inside it).
        cdrs_ingested.connect(events.announce_calls, dispatch_uid="billing.announce_calls")

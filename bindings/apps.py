from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BindingsConfig(AppConfig):
    """X-number pools and bindings of every mode."""

    name = "bindings"
    verbose_name = _("Bindings")

    def ready(self) -> None:
        # (tasks: imported so that they connect to services.work)
        from bindings import events, jobs, pushes, retention, tasks  # noqa: F401
        from console import webhooks

        jobs.register()  # the sweeper's and "retry now"'s kinds of job (console.jobs)
        pushes.register()  # X-number status pushes (console.inbox)
        retention.register()  # real numbers of ended bindings, bulk rows (console.retention)
        webhooks.register_events(events.EVENTS)  # what bindings announce (console.webhooks)

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BindingsConfig(AppConfig):
    """X-number pools and bindings of every mode."""

    name = "bindings"
    verbose_name = _("Bindings")

    def ready(self) -> None:
        from bindings import events, jobs, pushes, tasks  # noqa: F401 - tasks connect to work
        from console import webhooks

        jobs.register()  # the sweeper's and "retry now"'s kinds of job (console.jobs)
        pushes.register()  # X-number status pushes (console.inbox)
        webhooks.register_events(events.EVENTS)  # what bindings announce (console.webhooks)

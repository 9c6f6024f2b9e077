from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordingsConfig(AppConfig):
    """Call recordings: pulled from the platform before its 7-day limit, stored, played."""

    name = "recordings"
    verbose_name = _("Recordings")

    def ready(self) -> None:
        from billing.signals import cdrs_ingested, history_dropping
        from recordings.receivers import create_recordings, forget_recordings

        cdrs_ingested.connect(create_recordings, dispatch_uid="recordings.create_recordings")
        history_dropping.connect(forget_recordings, dispatch_uid="recordings.forget_recordings")

        from console import webhooks
        from recordings import events, jobs, retention

        jobs.register()  # the sweeper's and "retry now"'s kinds of job (console.jobs)
        retention.register()  # stored files (console.retention)
        webhooks.register_events(events.EVENTS)  # what recordings announce

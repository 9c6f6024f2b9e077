from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """Cross-cutting pieces: platform applications, audit log, push inbox, roles, health."""

    name = "console"
    verbose_name = _("Console")

    def ready(self) -> None:
        from console import (
            access_requests,
            apikeys,
            events,
            permission_cache,
            retention,
            teams,
            webhooks,
        )

        apikeys.connect()  # a key's cache entry goes with any change to it
        retention.register_kernel_parts()  # raw push bodies (console.retention)
        access_requests.register_job_kind()  # a lost worker's access request (console.jobs)
        teams.connect()  # scopes follow team changes and logins (console.teams)
        permission_cache.connect()  # cached permissions follow role changes
        webhooks.register_events(events.EVENTS)  # push.held, alert.opened/resolved
        webhooks.register_job()  # the sweeper sends deliveries whose retry is due

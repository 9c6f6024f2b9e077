"""The gate in front of every platform call of an application: paused after a lock-out.

When the platform answers 1020176 (the client IP is locked after repeated authentication
failures), every further request would only prolong the lock. The application's platform calls
are paused (``Application.calls_paused_at``) and an alert is raised; the client's gate then
refuses each request before anything is sent (:class:`ApplicationPaused`), and the tasks that
wanted to call re-queue themselves for later instead of retrying into the lock. An administrator
resumes the calls from the application's page once the cause is fixed.
"""

from __future__ import annotations

import logging

from django.utils import timezone
from django.utils.translation import gettext_noop

from console import alerts, audit
from console.choices import AlertKind, AuditAction
from console.models import Application
from privatenumber.codes import describe_result
from privatenumber.errors import PlatformError

logger = logging.getLogger(__name__)


class ApplicationPaused(PlatformError):
    """A request the gate refused because the application's platform calls are paused.

    Not permanent (the work is still wanted) and not a ``PlatformTransientError`` (the tasks'
    automatic retries must not spend themselves on it: they re-queue for later instead).
    """

    def __init__(self, application_id: int, interface: str) -> None:
        super().__init__(
            "PAUSED",
            f"application {application_id}: platform calls are paused",
            permanent=False,
            interface=interface,
        )
        self.application_id = application_id


def alert_key(application_id: int) -> str:
    return f"application:{application_id}"


def gate_for(application_id: int):
    """The client's gate for one application: refuses every request while it is paused."""

    def gate(interface: str) -> None:
        if Application.objects.filter(pk=application_id, calls_paused_at__isnull=False).exists():
            raise ApplicationPaused(application_id, interface)

    return gate


def pause(application_id: int, code: str, description: str = "") -> bool:
    """Pause the application's platform calls after ``code``; alert the administrators.

    Returns whether this call paused it (False: it was paused already; the alert is bumped).
    """
    meaning = describe_result(code)
    reason = f"{code} {meaning.en}"[:256]
    paused = Application.objects.filter(pk=application_id, calls_paused_at__isnull=True).update(
        calls_paused_at=timezone.now(), calls_paused_reason=reason
    )
    application = Application.objects.filter(pk=application_id).first()
    if application is None:
        return False
    alerts.raise_alert(
        AlertKind.PLATFORM_LOCKED,
        alert_key(application_id),
        application=application,
        title=gettext_noop("Platform calls of %(application)s are paused"),
        detail=gettext_noop(
            "The platform answered %(code)s: its client IP is locked after "
            "repeated authentication failures. Nothing is sent for this application until an "
            "administrator resumes its platform calls on the application's page; check its "
            "APP_Key and APP_Secret first."
        ),
        params={"application": application.name, "code": code},
    )
    if paused:
        logger.warning(
            "application %s: platform calls paused after %s %s", application_id, code, description
        )
    return bool(paused)


def resume(application: Application, *, user=None, request=None) -> bool:
    """Let the application's platform calls go out again; resolves the alert; audited."""
    resumed = Application.objects.filter(pk=application.pk, calls_paused_at__isnull=False).update(
        calls_paused_at=None, calls_paused_reason=""
    )
    alerts.resolve_alert(AlertKind.PLATFORM_LOCKED, alert_key(application.pk))
    if resumed:
        audit.record(AuditAction.RESUME, application, user=user, request=request)
        application.calls_paused_at, application.calls_paused_reason = None, ""
    return bool(resumed)

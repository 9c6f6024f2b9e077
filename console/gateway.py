"""The logged platform gateway: every request an app sends to the platform goes through it.

:func:`client_for` builds an application's platform client whose every request leaves a
:class:`~console.models.PlatformCall` row (numbers masked), and whose gate refuses to send
anything while the application's platform calls are paused. Bindings and recordings both reach
the platform this way (issue 18: it moved here from ``bindings.services``).

When the platform answers 1020176 (the client IP is locked after repeated authentication
failures), every further request would only prolong the lock. The application's platform calls
are paused (``Application.calls_paused_at``) and an alert is raised; the client's gate then
refuses each request before anything is sent (:class:`ApplicationPaused`), and the tasks that
wanted to call re-queue themselves for later instead of retrying into the lock. An administrator
resumes the calls from the application's page once the cause is fixed.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_noop

from console import alerts, audit
from console.choices import AlertKind, AuditAction
from console.models import Application, PlatformCall
from console.numbers import mask_text
from console.sql import prepared_cursor
from privatenumber.client import CallLog, PrivateNumberClient, pooled_session
from privatenumber.codes import PAUSING_RESULT_CODES, describe_result
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
        if _paused(application_id):
            raise ApplicationPaused(application_id, interface)

    return gate


def _paused(application_id: int) -> bool:
    """``Application.objects.filter(pk=…, calls_paused_at__isnull=False).exists()``, as one
    prepared statement: asked before every platform call, where compiling the query cost more
    CPU than PostgreSQL answering it (issue 19)."""
    with prepared_cursor() as cursor:
        cursor.execute(_PAUSED_SQL, [application_id])
        return cursor.fetchone() is not None


_PAUSED_SQL = (
    f"SELECT 1 FROM {Application._meta.db_table} "  # noqa: S608 - our table, the id bound
    "WHERE id = %s AND calls_paused_at IS NOT NULL LIMIT 1"
)


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


# ---------------------------------------------------------------------------------------------
# The platform client, and the log of every call
# ---------------------------------------------------------------------------------------------


class _CallRecorder:
    """The client's ``on_call`` hook: one PlatformCall row per request, numbers masked; an answer
    that locks the console out (1020176) pauses the application's platform calls."""

    def __init__(self, application_id: int, binding_id: int | None) -> None:
        self.application_id = application_id
        self.binding_id = binding_id

    def __call__(self, call: CallLog) -> None:
        code = call.result_code or ""
        # The row PlatformCall.objects.create() would write, with one prepared INSERT: the ORM's
        # model and compiled INSERT cost twice what PostgreSQL spends storing it (issue 19).
        with prepared_cursor() as cursor:
            cursor.execute(
                _CALL_SQL,
                [
                    connection.ops.adapt_datetimefield_value(timezone.now()),
                    self.application_id,
                    self.binding_id,
                    call.interface,
                    call.method,
                    call.http_status,
                    code,
                    (result_meaning(code, "en") if code else "")[:256],
                    call.latency_ms,
                    mask_text(call.error),
                ],
            )
        if code in PAUSING_RESULT_CODES:
            pause(self.application_id, code, call.interface)


_CALL_SQL = (
    f"INSERT INTO {PlatformCall._meta.db_table} "  # noqa: S608 - our table, the values bound
    "(at, application_id, binding_id, interface, method, http_status, result_code, result_desc, "
    "latency_ms, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def client_for(application: Application, binding=None) -> PrivateNumberClient:
    """A platform client for ``application`` whose every call is logged (against ``binding``,
    a ``bindings.Binding``, when the call is about one).

    Its gate refuses every request while the application's platform calls are paused
    (:class:`ApplicationPaused`).
    """
    client = PrivateNumberClient(
        application.base_url,
        application.app_key,
        application.get_secret(),
        timeout=(
            settings.BINDINGS_PLATFORM_CONNECT_TIMEOUT,
            settings.BINDINGS_PLATFORM_READ_TIMEOUT,
        ),
        on_call=_CallRecorder(application.pk, binding.pk if binding is not None else None),
        gate=gate_for(application.pk),
        # One pooled, kept-alive session per process and base URL (issue 19): a bind no longer
        # pays for a new Session, connection and (against the real platform) TLS handshake. When
        # the platform closes a connection after its answer (spec §1.1), urllib3 sees it closed
        # before the next request and opens another; closing the client leaves the pool open.
        session=pooled_session(application.base_url),
    )
    return client


def result_meaning(code: str, language: str = "zh-hans") -> str:
    """The plain meaning of a result code (platform's or the client's own), zh or en."""
    if not code:
        return ""
    if code == "0":
        found = describe_result("0")
        return found.en if language.startswith("en") else found.zh
    error = PlatformError(code, "")
    return error.meaning_en if language.startswith("en") else error.meaning_zh


def result_action(code: str, language: str = "zh-hans") -> str:
    """What an operator should do about a result code (platform's or the client's own), zh or en;
    "" for success."""
    if not code or code == "0":
        return ""
    error = PlatformError(code, "")
    return error.action_en if language.startswith("en") else error.action_zh

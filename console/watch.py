"""What no other part watches (issue 16's alert sources): the workers and beat falling silent,
the link to the platform failing, pushes that could not be applied.

* :func:`check_platform_link`: per application, the share of its platform calls over the last
  ``PLATFORM_FAILING_WINDOW_SECONDS`` that got no answer or a 5xx (a refusal with a result code is
  the platform answering, not the link failing); from ``PLATFORM_FAILING_MIN_CALLS`` calls, a share
  of at least ``PLATFORM_FAILING_RATE`` opens ``platform_failing``.
* :func:`check_failed_pushes`: per application, pushes kept as failed (waiting for a fix and a
  re-process, docs/notifications.md) over the last day open ``pushes_failed``.
* :func:`check_heartbeat`: the heartbeat beat has a worker write every minute
  (``console.health``) older than ``WORKER_HEARTBEAT_MAX_AGE`` opens ``workers_silent``: either no
  worker runs, or beat does not. That cannot be noticed by a job (it would need the worker and
  beat that are silent), so the web tier runs this check, at most once a minute for all its
  processes (:class:`WatchMiddleware`, and ``/healthz``), and e-mails the alert itself.

Each alert resolves itself at the first check that finds its cause gone. Beat runs
:func:`run` every minute (``watch_task``).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from console import alerts, health
from console.choices import AlertKind, DeliveryState
from console.models import Alert, Delivery, PlatformCall

logger = logging.getLogger(__name__)

LINK_FAILED = Q(http_status__isnull=True) | Q(http_status__gte=500)
HEARTBEAT_KEY = "workers"
GATE_KEY = "console:watch-heartbeat-gate"


def check_platform_link(*, now: datetime | None = None) -> int:
    """Open or resolve ``platform_failing`` per application; returns how many are failing."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.PLATFORM_FAILING_WINDOW_SECONDS)
    rows = (
        PlatformCall.objects.filter(at__gte=since)
        .order_by()
        .values("application_id", "application__name")
        .annotate(calls=Count("pk"), failed=Count("pk", filter=LINK_FAILED))
    )
    failing = set()
    for row in rows:
        share = row["failed"] / row["calls"]
        if row["calls"] >= settings.PLATFORM_FAILING_MIN_CALLS and (
            share >= settings.PLATFORM_FAILING_RATE
        ):
            failing.add(row["application_id"])
            alerts.raise_alert(
                AlertKind.PLATFORM_FAILING,
                f"application:{row['application_id']}",
                title=gettext_noop("The platform link of %(application)s is failing"),
                detail=gettext_noop(
                    "%(failed)s of its %(calls)s platform calls in the last %(minutes)s minutes "
                    "got no answer or a server error. Bindings wait and are retried; see the "
                    "platform calls log."
                ),
                params={
                    "application": row["application__name"],
                    "failed": row["failed"],
                    "calls": row["calls"],
                    "minutes": settings.PLATFORM_FAILING_WINDOW_SECONDS // 60,
                },
                application=row["application_id"],
            )
    _resolve_others(AlertKind.PLATFORM_FAILING, failing)
    return len(failing)


def check_failed_pushes(*, now: datetime | None = None) -> int:
    """Open or resolve ``pushes_failed`` per application; returns how many have some."""
    now = now or timezone.now()
    rows = (
        Delivery.objects.filter(
            state=DeliveryState.FAILED, received_at__gte=now - timedelta(days=1)
        )
        .order_by()
        .values("application_id", "application__name")
        .annotate(count=Count("pk"))
    )
    failing = set()
    for row in rows:
        failing.add(row["application_id"])
        alerts.raise_alert(
            AlertKind.PUSHES_FAILED,
            f"application:{row['application_id']}",
            title=gettext_noop("%(count)s pushes of %(application)s could not be applied"),
            detail=gettext_noop(
                "They are kept with their raw bodies and the reason (webhook inbox, state "
                "failed): fix the cause and re-process them; nothing is lost meanwhile."
            ),
            params={"application": row["application__name"], "count": row["count"]},
            application=row["application_id"],
        )
    _resolve_others(AlertKind.PUSHES_FAILED, failing)
    return len(failing)


def _resolve_others(kind: str, still: set[int]) -> None:
    """Resolve the open alerts of ``kind`` whose application is no longer in ``still``."""
    for key in (
        Alert.objects.filter(kind=kind, resolved_at__isnull=True)
        .exclude(application_id__in=still)
        .values_list("key", flat=True)
    ):
        alerts.resolve_alert(kind, key)


def check_heartbeat(*, now: datetime | None = None) -> bool:
    """Open ``workers_silent`` when the workers' heartbeat is too old, resolve it when it is
    fresh; returns whether they are silent. No heartbeat at all (a console that has not run
    beat yet) says nothing. The alert's e-mail is sent from here: no worker would send it."""
    now = now or timezone.now()
    last = health.last_heartbeat()
    if last is None:
        return False
    age = now - last
    if age <= settings.WORKER_HEARTBEAT_MAX_AGE:
        alerts.resolve_alert(AlertKind.WORKERS_SILENT, HEARTBEAT_KEY)
        return False
    alert = alerts.raise_alert(
        AlertKind.WORKERS_SILENT,
        HEARTBEAT_KEY,
        title=gettext_noop("No worker has run for %(minutes)s minutes"),
        detail=gettext_noop(
            "The heartbeat that beat schedules every minute was last written at %(at)s: no "
            "Celery worker is running, or beat is not. Bindings, expiries, recording pulls and "
            "webhooks wait until they are back (nothing is lost)."
        ),
        params={
            "minutes": int(age.total_seconds() // 60),
            "at": f"{timezone.localtime(last):%Y-%m-%d %H:%M:%S}",
        },
    )
    if alert.emailed_at is None and alert.count == 1:
        try:
            alerts.mail(alert.pk)
        except Exception as error:  # the beat job mails it again once workers are back
            logger.warning("alert %s: e-mail failed (%s)", alert.pk, error)
    return True


GATE_SECONDS = 60
# When this process next asks the shared gate: most requests then cost no Redis round trip.
_next_look = 0.0


def check_heartbeat_now_and_then() -> None:
    """:func:`check_heartbeat`, at most once a minute across every web process (a cache gate
    each process asks at most once a minute too)."""
    global _next_look
    now = time.monotonic()
    if now < _next_look:
        return
    _next_look = now + GATE_SECONDS
    try:
        if not cache.add(GATE_KEY, 1, GATE_SECONDS):
            return
        check_heartbeat()
    except Exception:  # a page never fails for its watch
        logger.exception("the heartbeat watch failed")


class WatchMiddleware:
    """Runs the heartbeat watch now and then, after the response is made."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        check_heartbeat_now_and_then()
        return response


def run() -> dict[str, int]:
    """Beat (every minute): the platform link and the failed pushes (the heartbeat too, though
    a job that runs proves a worker and beat are alive)."""
    return {
        "platform_failing": check_platform_link(),
        "pushes_failed": check_failed_pushes(),
        "workers_silent": int(check_heartbeat()),
    }

"""What beat runs: re-queue the due recordings (earliest deadline first, after expiring the overdue
with fetching's rule), alert once per recording (``recording.at_risk`` and one alert of the
application), purge stored files past local retention."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from console import alerts, audit, teams
from console.choices import AlertKind, AuditAction
from console.models import Alert
from recordings import events, storage
from recordings.choices import CLAIMABLE_STATES, OUTSTANDING_STATES, RecordingState
from recordings.models import Recording
from recordings.services.fetching import expire_overdue

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Beat: re-queue, expire, alert, purge
# ---------------------------------------------------------------------------------------------


def requeue_due(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Ids of the recordings to queue now, earliest deadline first (after expiring the overdue).

    Due: ``pending``/``failed`` whose next attempt has come, and ``fetching`` whose claim has run
    out. Each one queued is left alone by beat for ``RECORDINGS_REQUEUE_GRACE_SECONDS``, so a
    long queue is not filled twice.
    """
    now = now or timezone.now()
    limit = limit or settings.RECORDINGS_REQUEUE_BATCH
    expire_overdue(now=now)
    due = (
        Recording.objects.filter(deadline__gt=now, state__in=OUTSTANDING_STATES)
        .filter(
            Q(state__in=CLAIMABLE_STATES, next_attempt_at__isnull=True)
            | Q(state__in=CLAIMABLE_STATES, next_attempt_at__lte=now)
            | Q(state=RecordingState.FETCHING, lease_until__lt=now)
        )
        .order_by("deadline", "id")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(due)
    if ids:
        # A claim that ran out goes back to pending, so that the grace below holds for it too
        # (a fetching row is picked by its lease alone) and its old holder cannot go on with it.
        Recording.objects.filter(
            pk__in=ids, state=RecordingState.FETCHING, lease_until__lt=now
        ).update(state=RecordingState.PENDING, claim_token="", lease_until=None)
        Recording.objects.filter(pk__in=ids).update(
            next_attempt_at=now + timedelta(seconds=settings.RECORDINGS_REQUEUE_GRACE_SECONDS)
        )
    return ids


def raise_alerts(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Alert once for every recording not stored ``RECORDING_ALERT_BEFORE_SECONDS`` before its
    deadline (or lost without an alert); returns their ids.

    The rows are claimed under ``SELECT … FOR UPDATE SKIP LOCKED`` and marked ``alerted_at``, so
    two beat runs never alert for the same recording. In that transaction: one
    ``recording.at_risk`` event per recording, and one ``recordings_at_risk`` alert per
    application (opened, or bumped while open), which :mod:`console.alerts` e-mails and
    announces. Besides: the administrators' banner (it reads ``alerted_at``) and one log line per
    recording. An application's alert resolves itself at a later run once none of its alerted
    recordings still waits to be stored (each stored, or lost for good).
    """
    now = now or timezone.now()
    horizon = now + timedelta(seconds=settings.RECORDING_ALERT_BEFORE_SECONDS)
    with transaction.atomic():
        ids = list(
            Recording.objects.select_for_update(skip_locked=True)
            .filter(alerted_at__isnull=True, deadline__lte=horizon)
            .filter(state__in=[*OUTSTANDING_STATES, RecordingState.EXPIRED])
            .order_by("deadline", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Recording.objects.filter(pk__in=ids).update(alerted_at=now)
            recordings = list(
                Recording.objects.filter(pk__in=ids)
                .select_related("application")
                .order_by("deadline", "id")
            )
            events.announce_at_risk(recordings)
            _raise(recordings)
    _resolve(now)
    if not ids:
        return []
    cache.delete(BANNER_CACHE_KEY)  # the banner shows them at once
    for recording in recordings:
        logger.warning(
            "ALERT %s of application %s is not stored; the platform deletes it at %s "
            "(state %s, %d attempts, last error %s)",
            recording,
            recording.application_id,
            recording.deadline.isoformat(),
            recording.state,
            recording.attempts,
            recording.last_error_code or "none",
        )
    return [recording.pk for recording in recordings]


def alert_key(application_id: int) -> str:
    return f"application:{application_id}"


def _raise(recordings: list[Recording]) -> None:
    """One alert per application of these recordings (never a phone number in it)."""
    by_application: dict[int, list[Recording]] = {}
    for recording in recordings:
        by_application.setdefault(recording.application_id, []).append(recording)
    url = settings.CONSOLE_BASE_URL.rstrip("/") + reverse("recordings:at_risk")
    for application_id, theirs in by_application.items():
        first = theirs[0]  # earliest deadline
        alerts.raise_alert(
            AlertKind.RECORDINGS_AT_RISK,
            alert_key(application_id),
            application=application_id,
            title=gettext_noop("Recordings of %(application)s may be lost"),
            detail=gettext_noop(
                "%(count)s recording(s) were not stored %(hours)s hours before the platform "
                "deletes them, or expired unstored; the earliest deadline is %(deadline)s "
                "(recording #%(first)s, last error: %(error)s). The list: %(url)s"
            ),
            params={
                "application": first.application.name,
                "count": len(theirs),
                "hours": round(settings.RECORDING_ALERT_BEFORE_SECONDS / 3600, 1),
                "deadline": f"{timezone.localtime(first.deadline):%Y-%m-%d %H:%M}",
                "first": first.pk,
                "error": first.last_error_code or "none",
                "url": url,
            },
        )


def _resolve(now: datetime) -> int:
    """Resolve the alerts (raised before this run) of applications none of whose alerted
    recordings still waits to be stored."""
    resolved = 0
    open_alerts = Alert.objects.filter(
        kind=AlertKind.RECORDINGS_AT_RISK, resolved_at__isnull=True, last_seen_at__lt=now
    ).values_list("key", "application_id")
    for key, application_id in open_alerts:
        waiting = Recording.objects.filter(
            application_id=application_id, alerted_at__isnull=False, state__in=OUTSTANDING_STATES
        )
        if not waiting.exists():
            resolved += alerts.resolve_alert(AlertKind.RECORDINGS_AT_RISK, key)
    return resolved


def at_risk(*, now: datetime | None = None):
    """Recordings not stored whose deadline is within the alert horizon, earliest first."""
    now = now or timezone.now()
    horizon = now + timedelta(seconds=settings.RECORDING_ALERT_BEFORE_SECONDS)
    return (
        Recording.objects.select_related("application", "call_record")
        .filter(state__in=OUTSTANDING_STATES, deadline__lte=horizon)
        .order_by("deadline", "id")
    )


def at_risk_count() -> int:
    """Recordings alerted about and still not stored (the administrators' banner)."""
    return Recording.objects.filter(alerted_at__isnull=False, state__in=OUTSTANDING_STATES).count()


# The banner on every administrator's page reads the count through the cache for this long;
# :func:`raise_alerts` clears it so that new alerts show at once.
BANNER_CACHE_KEY = "recordings:at-risk-count"
BANNER_CACHE_SECONDS = 30


def banner_count() -> int:
    """:func:`at_risk_count`, cached for the banner (``recordings_alert_banner``)."""
    key = BANNER_CACHE_KEY + teams.cache_suffix()  # a team's count is not another's
    count = cache.get(key)
    if count is None:
        count = at_risk_count()
        cache.set(key, count, BANNER_CACHE_SECONDS)
    return count


def purge_stored(*, now: datetime | None = None, batch: int = 500) -> list[int]:
    """Delete stored copies older than ``RECORDINGS_LOCAL_RETENTION_DAYS`` (0: never).

    Batch by batch, each under row locks: the files are deleted, the rows marked ``deleted``,
    and one audit row per batch lists the recording ids.
    """
    days = settings.RECORDINGS_LOCAL_RETENTION_DAYS
    if days <= 0:
        return []
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    purged: list[int] = []
    while True:
        with transaction.atomic():
            rows = list(
                Recording.objects.select_for_update(skip_locked=True)
                .filter(state=RecordingState.STORED, stored_at__lte=cutoff)
                .order_by("stored_at", "id")
                .values_list("pk", "file")[:batch]
            )
            if not rows:
                break
            for _pk, name in rows:
                storage.delete(name)
            ids = [pk for pk, _name in rows]
            Recording.objects.filter(pk__in=ids).update(
                state=RecordingState.DELETED, file="", deleted_at=now
            )
            audit.record(
                AuditAction.DELETE,
                None,
                details={
                    "what": "recordings",
                    "reason": "retention",
                    "retention_days": days,
                    "recordings": ids,
                },
            )
        purged.extend(ids)
        logger.info("deleted %d stored recording(s) older than %d days", len(ids), days)
        if len(rows) < batch:
            break
    return purged

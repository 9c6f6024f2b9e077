"""What beat runs: re-queue the due recordings (earliest deadline first, after expiring the overdue
with fetching's rule), raise alerts once per recording, purge stored files past local retention."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from console import audit, teams
from console.choices import AuditAction
from recordings import storage
from recordings.choices import CLAIMABLE_STATES, OUTSTANDING_STATES, RecordingState
from recordings.models import Recording
from recordings.services.fetching import expire_overdue, explain

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
        Recording.objects.filter(pk__in=ids).update(
            next_attempt_at=now + timedelta(seconds=settings.RECORDINGS_REQUEUE_GRACE_SECONDS)
        )
    return ids


@dataclass(frozen=True)
class Alert:
    """Recordings that have just come within the alert window without being stored."""

    recordings: list[Recording]

    def subject(self) -> str:
        count = len(self.recordings)
        return ngettext(
            "%(count)d recording may be lost: not stored before its deadline is near",
            "%(count)d recordings may be lost: not stored before their deadlines are near",
            count,
        ) % {"count": count}

    def body(self) -> str:
        lines = [self.subject(), ""]
        for recording in self.recordings[:200]:
            lines.append(
                gettext(
                    "#%(id)s %(application)s, deadline %(deadline)s, %(state)s, "
                    "%(attempts)s attempts: %(error)s"
                )
                % {
                    "id": recording.pk,
                    "application": recording.application.name,
                    "deadline": timezone.localtime(recording.deadline).strftime("%Y-%m-%d %H:%M"),
                    "state": recording.get_state_display(),
                    "attempts": recording.attempts,
                    "error": explain(recording.last_error_code) or "—",
                }
            )
        if len(self.recordings) > 200:
            lines.append(gettext("… and %(more)d more.") % {"more": len(self.recordings) - 200})
        lines += ["", settings.CONSOLE_BASE_URL.rstrip("/") + reverse("recordings:at_risk")]
        return "\n".join(lines)

    def payload(self) -> dict[str, Any]:
        return {
            "event": "recordings_at_risk",
            "count": len(self.recordings),
            "recordings": [
                {
                    "id": recording.pk,
                    "application": recording.application.name,
                    "deadline": recording.deadline.isoformat(),
                    "state": recording.state,
                    "attempts": recording.attempts,
                    "last_error_code": recording.last_error_code,
                }
                for recording in self.recordings
            ],
            "url": settings.CONSOLE_BASE_URL.rstrip("/") + reverse("recordings:at_risk"),
        }


def raise_alerts(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Alert once for every recording not stored ``RECORDING_ALERT_BEFORE_SECONDS`` before its
    deadline (or lost without an alert); returns their ids.

    The rows are claimed under ``SELECT … FOR UPDATE SKIP LOCKED`` and marked ``alerted_at``
    before anything is sent, so two beat runs never alert for the same recording. The alert is
    the administrators' banner (it reads ``alerted_at``), one log line per recording, and when
    configured one e-mail and one webhook POST for the whole batch.
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
    if not ids:
        return []
    cache.delete(BANNER_CACHE_KEY)  # the banner shows them at once
    recordings = list(
        Recording.objects.filter(pk__in=ids).select_related("application").order_by("deadline")
    )
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
    with translation.override(settings.LANGUAGE_CODE):
        alert = Alert(recordings)
        _send_mail(alert)
        _post_webhook(alert)
    return ids


def _send_mail(alert: Alert) -> None:
    if not settings.RECORDING_ALERT_EMAILS:
        return
    try:
        send_mail(alert.subject(), alert.body(), None, settings.RECORDING_ALERT_EMAILS)
    except Exception:
        logger.exception("the recordings alert e-mail could not be sent")


def _post_webhook(alert: Alert) -> None:
    if not settings.RECORDING_ALERT_WEBHOOK:
        return
    try:
        response = requests.post(
            settings.RECORDING_ALERT_WEBHOOK,
            json=alert.payload(),
            timeout=settings.RECORDING_ALERT_WEBHOOK_TIMEOUT,
        )
        response.raise_for_status()
    except requests.RequestException as error:
        logger.error("the recordings alert webhook failed: %s", type(error).__name__)


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

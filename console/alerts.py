"""Alerts: raise one (or bump the open one), resolve it, acknowledge it; how one reads.

One open alert per kind and key (a partial unique index): raising an alert that is open bumps its
count and last-seen time, so a condition that persists is one row, not thousands. ``title`` and
``detail`` are English message ids, marked with ``gettext_noop`` where they are raised, so the
alert reads in the language of whoever looks at it. Delivery by e-mail and webhook is issue 16's.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from console import audit
from console.choices import AuditAction
from console.models import Alert, Application

logger = logging.getLogger(__name__)


def raise_alert(
    kind: str,
    key: str,
    *,
    title: str,
    detail: str = "",
    params: dict[str, Any] | None = None,
    application: Application | int | None = None,
) -> Alert:
    """Open an alert, or bump the open one of ``kind`` + ``key``; returns it."""
    application_id = application.pk if isinstance(application, Application) else application
    now = timezone.now()
    fields = {"title": title, "detail": detail, "params": params or {}}
    for _attempt in range(2):
        bumped = Alert.objects.filter(kind=kind, key=key, resolved_at__isnull=True).update(
            count=F("count") + 1, last_seen_at=now, **fields
        )
        if bumped:
            return Alert.objects.get(kind=kind, key=key, resolved_at__isnull=True)
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    kind=kind,
                    key=key,
                    application_id=application_id,
                    opened_at=now,
                    last_seen_at=now,
                    **fields,
                )
        except IntegrityError:
            continue  # raised at the same moment elsewhere: bump that one
        logger.warning("ALERT %s %s: %s", kind, key, render(alert)[0])
        return alert
    raise RuntimeError(f"alert {kind} {key} could neither be opened nor bumped")


def resolve_alert(kind: str, key: str) -> int:
    """Close the open alert of ``kind`` + ``key`` (if any); returns how many were closed."""
    resolved = Alert.objects.filter(kind=kind, key=key, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )
    if resolved:
        logger.info("alert %s %s resolved", kind, key)
    return resolved


def acknowledge(alerts, *, user, request=None) -> int:
    """Mark open, unacknowledged alerts as seen by ``user``; one audit row each."""
    now = timezone.now()
    done = 0
    for alert in alerts.filter(resolved_at__isnull=True, acknowledged_at__isnull=True):
        claimed = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=now, acknowledged_by=user
        )
        if claimed:
            done += 1
            audit.record(AuditAction.ACKNOWLEDGE, alert, user=user, request=request)
    return done


def open_count() -> int:
    """How many alerts are open (the dashboard's figure; a partial index serves it)."""
    return Alert.objects.filter(resolved_at__isnull=True).count()


def render(alert: Alert) -> tuple[str, str]:
    """Title and detail in the active language, with their parameters filled in."""
    params = alert.params or {}

    def fill(message: str) -> str:
        if not message:
            return ""
        try:
            return gettext(message) % params
        except (KeyError, TypeError, ValueError):
            return gettext(message)

    return fill(alert.title), fill(alert.detail)

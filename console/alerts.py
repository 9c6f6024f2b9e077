"""Alerts: raise one (or bump the open one), resolve it, acknowledge it; how one reads.

One open alert per kind and key (a partial unique index): raising an alert that is open bumps its
count and last-seen time, so a condition that persists is one row, not thousands. ``title`` and
``detail`` are English message ids, marked with ``gettext_noop`` where they are raised, so the
alert reads in the language of whoever looks at it.

Delivery, when an alert **opens** (not when it is bumped) and when it **resolves**:

* a webhook event (``alert.opened``/``alert.resolved``, :mod:`console.events`) to the
  subscribers of the alert's application, written in the transaction of the alert row (an alert
  of no application is e-mailed only);
* an e-mail to ``ALERT_EMAIL_TO`` (Django's mail), sent by a task queued after commit, so a mail
  server that fails never breaks what raised the alert. ``emailed_at``/``resolution_emailed_at``
  record that it went out; :func:`mail_due` (beat) sends again what did not, for
  ``ALERT_EMAIL_RETRY_FOR_SECONDS``. Title and detail are rendered in English in both.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
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
    on_open: Callable[[Alert], object] | None = None,
) -> Alert:
    """Open an alert, or bump the open one of ``kind`` + ``key``; returns it.

    Only an opening is announced (``alert.opened`` and its e-mail); ``on_open`` is called with the
    new alert inside the transaction that writes it (an app's own event, e.g. ``pool.low``)."""
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
                _opened(alert)
                if on_open is not None:
                    on_open(alert)
        except IntegrityError:
            continue  # raised at the same moment elsewhere: bump that one
        logger.warning("ALERT %s %s: %s", kind, key, render(alert)[0])
        return alert
    raise RuntimeError(f"alert {kind} {key} could neither be opened nor bumped")


def resolve_alert(kind: str, key: str) -> int:
    """Close the open alert of ``kind`` + ``key`` (if any); returns how many were closed."""
    now = timezone.now()
    # No savepoint: inside the caller's transaction this costs nothing; alone, the closing and its
    # announcement commit together. One statement when nothing is open (the usual case).
    with transaction.atomic(savepoint=False):
        resolved = Alert.objects.filter(kind=kind, key=key, resolved_at__isnull=True).update(
            resolved_at=now
        )
        if resolved:
            for alert in Alert.objects.filter(kind=kind, key=key, resolved_at=now):
                _resolved(alert)
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


OPEN_COUNT_KEY = "console:open-alerts"


def open_count_cached() -> int:
    """:func:`open_count` under the reader's teams, for the header's badge on every page: kept
    in the cache for ``ALERT_BADGE_SECONDS`` and counted again as soon as an alert opens or
    resolves (the key carries a generation those bump)."""
    from console import teams

    generation = cache.get_or_set(OPEN_COUNT_KEY, 1, None)
    key = f"{OPEN_COUNT_KEY}:{generation}{teams.cache_suffix()}"
    count = cache.get(key)
    if count is None:
        count = open_count()
        cache.set(key, count, settings.ALERT_BADGE_SECONDS)
    return count


def _count_changed() -> None:
    try:
        cache.incr(OPEN_COUNT_KEY)
    except ValueError:  # never counted yet
        cache.set(OPEN_COUNT_KEY, 1, None)


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


# --- delivery: webhook with the row, e-mail after commit ---------------------------------------


def _opened(alert: Alert) -> None:
    from console import events

    _count_changed()  # and again once it is committed: a count read in between is not kept
    transaction.on_commit(_count_changed)
    events.announce_alert(alert, "alert.opened")
    _mail_after_commit(alert.pk)


def _resolved(alert: Alert) -> None:
    from console import events

    _count_changed()
    transaction.on_commit(_count_changed)
    events.announce_alert(alert, "alert.resolved")
    _mail_after_commit(alert.pk)


def _mail_after_commit(alert_id: int) -> None:
    if settings.ALERT_EMAIL_TO:
        transaction.on_commit(lambda: _queue_mail(alert_id))


def _queue_mail(alert_id: int) -> None:
    from console import jobs
    from console.tasks import mail_alert_task

    # A broker that cannot be reached: the alert stays un-mailed and mail_due() sends it.
    jobs.send(mail_alert_task, alert_id)


def recipients(alert: Alert) -> list[str]:
    """Who is e-mailed about an alert: ``ALERT_EMAIL_TO`` (applications name no contact)."""
    return list(settings.ALERT_EMAIL_TO)


def message(alert: Alert, *, resolved: bool) -> tuple[str, str]:
    """Subject and body of an alert's e-mail, in English (as its webhook reads)."""
    with translation.override("en"):
        title, detail = render(alert)
        kind = str(alert.get_kind_display())
    lines = [title, "", detail] if detail else [title]
    lines += ["", f"Kind: {kind}", f"About: {alert.key}"]
    if alert.application_id is not None:
        lines.append(f"Application: {alert.application.name}")
    lines.append(f"Opened: {_when(alert.opened_at)}")
    if resolved and alert.resolved_at:
        lines.append(f"Resolved: {_when(alert.resolved_at)}")
    elif alert.count > 1:
        lines.append(f"Raised {alert.count} times, last at {_when(alert.last_seen_at)}")
    base = settings.CONSOLE_BASE_URL.rstrip("/")
    lines += ["", base + reverse("admin:console_alert_changelist")]
    what = "Resolved" if resolved else "Alert"
    subject = " ".join(f"{settings.EMAIL_SUBJECT_PREFIX}{what}: {title}".split())  # one line
    return subject[:250], "\n".join(lines)


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S %Z}"


def _lock_key(alert_id: int) -> str:
    return f"alert-mail:{alert_id}"


def mail(alert_id: int) -> int:
    """Send what is due about one alert (its opening, its resolution); returns how many mails
    went out. A mail that fails raises, and leaves its ``*_emailed_at`` empty for the next try.
    Two senders at once (the task and the sweeper): the second finds the lock and sends nothing."""
    if not settings.ALERT_EMAIL_TO:
        return 0
    key = _lock_key(alert_id)
    try:
        if not cache.add(key, 1, int(settings.EMAIL_TIMEOUT or 60) * 2 + 30):
            return 0
    except Exception:  # the cache is down: a rare second copy beats a lost alert
        logger.warning("alert %s: mailed without the lock (the cache is unreachable)", alert_id)
    try:
        alert = Alert.objects.select_related("application").filter(pk=alert_id).first()
        if alert is None:
            return 0
        sent = 0
        to = recipients(alert)
        if alert.emailed_at is None:
            subject, body = message(alert, resolved=False)
            send_mail(subject, body, None, to, fail_silently=False)
            Alert.objects.filter(pk=alert.pk).update(emailed_at=timezone.now())
            sent += 1
        if alert.resolved_at is not None and alert.resolution_emailed_at is None:
            subject, body = message(alert, resolved=True)
            send_mail(subject, body, None, to, fail_silently=False)
            Alert.objects.filter(pk=alert.pk).update(resolution_emailed_at=timezone.now())
            sent += 1
        return sent
    finally:
        with contextlib.suppress(Exception):
            cache.delete(key)


def unmailed(now: datetime | None = None):
    """Alerts whose opening or resolution is not e-mailed yet, given their task's time first
    (``ALERT_EMAIL_RETRY_AFTER_SECONDS``), and no older than ``ALERT_EMAIL_RETRY_FOR_SECONDS``."""
    now = now or timezone.now()
    after = now - timedelta(seconds=settings.ALERT_EMAIL_RETRY_AFTER_SECONDS)
    since = now - timedelta(seconds=settings.ALERT_EMAIL_RETRY_FOR_SECONDS)
    return Alert.objects.filter(
        Q(emailed_at__isnull=True, opened_at__lte=after, opened_at__gte=since)
        | Q(
            resolved_at__isnull=False,
            resolution_emailed_at__isnull=True,
            resolved_at__lte=after,
            resolved_at__gte=since,
        )
    ).order_by("opened_at", "id")


def mail_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Beat: e-mail what was not (the mail server failed, the task was lost); returns how many
    mails went out. One failure does not stop the others."""
    if not settings.ALERT_EMAIL_TO:
        return 0
    sent = 0
    for alert_id in list(unmailed(now).values_list("pk", flat=True)[:limit]):
        try:
            sent += mail(alert_id)
        except Exception as error:
            logger.warning("alert %s: e-mail failed again (%s)", alert_id, error)
    return sent

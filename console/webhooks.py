"""Webhooks out: the outbox, delivery with retries, redelivery, pausing a failing endpoint.

* :func:`emit` writes the event (:class:`~console.models.WebhookMessage`) and one
  :class:`~console.models.WebhookDelivery` per subscription that wants it, **in the caller's
  transaction**: nothing is announced that did not happen, nothing that happened goes unannounced.
  Each delivery's task is queued after commit.
* :func:`deliver` (one task per delivery, a short timeout) signs the body the Standard Webhooks
  way (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``; the ``standardwebhooks``
  package) and POSTs it once. Every attempt is a :class:`~console.models.WebhookAttempt` row. A
  failure is retried after ``WEBHOOK_RETRY_DELAYS`` (the last repeated) until the event is
  ``WEBHOOK_RETRY_FOR_SECONDS`` old (≥ 24 h); then the delivery is ``failed``, kept, and can be
  sent again (:func:`redeliver`). Short delays are Celery countdowns; longer ones wait for the
  sweeper (``console.jobs``), which sends every delivery whose ``lease_until`` has passed.
* An endpoint with no success for ``WEBHOOK_PAUSE_AFTER_SECONDS`` is paused with an alert; its
  deliveries wait, nothing is dropped, until :func:`resume`.
* One delivery is one task: a slow endpoint holds one worker for at most the timeout, and at
  most ``WEBHOOK_MAX_IN_FLIGHT`` workers at a time (its other deliveries step aside for a
  moment), so it never sits in front of another endpoint's events.

Apps name their events in ``AppConfig.ready()`` (:func:`register_events`); the kernel knows none.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import urllib3
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop
from standardwebhooks.webhooks import Webhook

from console import alerts, audit, jobs, teams
from console.choices import AlertKind, AuditAction, WebhookState
from console.models import (
    Application,
    WebhookAttempt,
    WebhookDelivery,
    WebhookMessage,
    WebhookSubscription,
)
from console.numbers import mask
from console.sql import prepared_cursor

logger = logging.getLogger(__name__)

# event type → what it means (apps register theirs; the admin offers them as choices).
EVENTS: dict[str, str] = {}
# Keys of a payload that hold a customer's real number: masked unless the subscription may
# receive real numbers (console.privacy's rule).
REAL_NUMBER_KEYS = frozenset(
    {
        "a_number",
        "b_number",
        "callback_num",
        "temporary_callee",
        "caller_num",
        "called_num",
        "fwd_dst_num",
    }
)
OPEN = (WebhookState.PENDING, WebhookState.RETRYING)
# One connection pool per worker process, kept alive between deliveries. urllib3 itself, not
# requests on top of it: a delivery is a plain POST, and requests' extra layer cost about a third
# of a delivery's CPU (docs/benchmarks.md, webhook_delivery). No retries here: the outbox retries.
_http = urllib3.PoolManager(num_pools=200, maxsize=8, block=False, retries=False)


def register_events(events: Mapping[str, str]) -> None:
    EVENTS.update(events)


def new_secret() -> str:
    """A Standard Webhooks signing secret (``whsec_`` + base64 of 32 random bytes)."""
    import base64
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# --- the outbox --------------------------------------------------------------------------------

_SUBSCRIBED_SQL = (
    f"SELECT 1 FROM {WebhookSubscription._meta.db_table} "  # noqa: S608 - our table, the id bound
    "WHERE application_id = %s AND is_active LIMIT 1"
)


def has_subscribers(application_id: int | None = None) -> bool:
    """Whether any active subscription exists (for this application): a cheap test before a
    service builds payloads nobody would receive.

    Asked for every binding made: for one application outside a team's scope it is one prepared
    statement, not a query compiled each time (issue 19).
    """
    if application_id is not None and teams.scope() is None:
        with prepared_cursor() as cursor:
            cursor.execute(_SUBSCRIBED_SQL, [application_id])
            return cursor.fetchone() is not None
    subscriptions = WebhookSubscription.objects.filter(is_active=True)
    if application_id is not None:
        subscriptions = subscriptions.filter(application_id=application_id)
    return subscriptions.exists()


def emit(application: Application | int, event_type: str, data: Mapping[str, Any]) -> int:
    """Announce one event of ``application``; call it inside the transaction of the change."""
    application_id = application if isinstance(application, int) else application.pk
    return emit_many([(application_id, event_type, data)])


def emit_many(events: Iterable[tuple[int, str, Mapping[str, Any]]]) -> int:
    """Announce many events (a set-based change) in the caller's transaction; returns how many
    deliveries were written. Nothing is written for an application nobody subscribed to."""
    events = list(events)
    if not events:
        return 0
    subscriptions: dict[int, list[WebhookSubscription]] = {}
    for subscription in WebhookSubscription.objects.filter(
        application_id__in={application_id for application_id, _t, _d in events}, is_active=True
    ):
        subscriptions.setdefault(subscription.application_id, []).append(subscription)
    if not subscriptions:
        return 0
    now = timezone.now()
    messages, targets = [], []
    for application_id, event_type, data in events:
        wanting = [s for s in subscriptions.get(application_id, ()) if s.wants(event_type)]
        if not wanting:
            continue
        messages.append(
            WebhookMessage(
                msg_id=f"msg_{uuid.uuid4().hex}",
                application_id=application_id,
                event_type=event_type,
                payload={"type": event_type, "timestamp": now.isoformat(), "data": dict(data)},
            )
        )
        targets.append(wanting)
    if not messages:
        return 0
    with transaction.atomic():
        WebhookMessage.objects.bulk_create(messages)
        if not all(m.pk for m in messages):  # SQLite before RETURNING: read the ids back
            ids = dict(
                WebhookMessage.objects.filter(msg_id__in=[m.msg_id for m in messages]).values_list(
                    "msg_id", "pk"
                )
            )
            for message in messages:
                message.pk = ids[message.msg_id]
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    message=message,
                    subscription=subscription,
                    # A paused endpoint's deliveries wait for resume(): no lease, not swept.
                    lease_until=None if subscription.paused_at else jobs.lease(),
                )
                for message, wanting in zip(messages, targets, strict=True)
                for subscription in wanting
            ]
        )
        if not all(d.pk for d in deliveries):
            deliveries = list(WebhookDelivery.objects.filter(message__in=messages))
        due = [(d.subscription_id, d.pk) for d in deliveries if d.lease_until is not None]
        if due:
            transaction.on_commit(lambda: _send(due))
    return len(deliveries)


def _send(due: Iterable[tuple[int, int]]) -> None:
    """Queue (subscription, delivery) pairs: one task per endpoint and ``WEBHOOK_BATCH_SIZE``
    deliveries, in id order (an endpoint hears its events in the order they happened)."""
    from console.tasks import deliver_webhook_task

    by_endpoint: dict[int, list[int]] = {}
    for subscription_id, delivery_id in due:
        by_endpoint.setdefault(subscription_id, []).append(delivery_id)
    size = max(int(settings.WEBHOOK_BATCH_SIZE), 1)
    for ids in by_endpoint.values():
        ids.sort()
        for start in range(0, len(ids), size):
            # A broker that cannot be reached: the lease runs out and the sweeper sends it.
            jobs.send(deliver_webhook_task, ids[start : start + size])


# --- delivery ----------------------------------------------------------------------------------


def body_for(delivery: WebhookDelivery) -> str:
    """The exact bytes sent (the same on every attempt): numbers masked unless allowed."""
    payload = delivery.message.payload
    if not delivery.subscription.real_numbers:
        payload = _masked(payload)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: mask(v) if k in REAL_NUMBER_KEYS and isinstance(v, str) and v else _masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def sign(secret: str, msg_id: str, body: str, at=None) -> dict[str, str]:
    """The Standard Webhooks headers of one request."""
    at = at or timezone.now()
    signature = Webhook(secret).sign(msg_id, at, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "privacy-number-console-webhooks/1",
    }


def _delay(attempts: int) -> float:
    delays = settings.WEBHOOK_RETRY_DELAYS or [60.0]
    return float(delays[min(attempts - 1, len(delays) - 1)])


def deliver(delivery_id: int) -> WebhookDelivery | None:
    """Send one delivery once (see :func:`deliver_many`); returns it as it was loaded."""
    found = _loaded([delivery_id])
    if found:
        _deliver_loaded(found)
    return found[0] if found else None


def deliver_many(ids: Iterable[int]) -> int:
    """Send each delivery of ``ids`` once, if it is due and nobody else is sending it, endpoint
    by endpoint in id order; schedule the next attempt of each failure. Safe to run any number
    of times. Returns how many were delivered.

    A batch costs one query to load, one to claim, one insert of its attempts and one update of
    its successes, and it reuses the worker's kept-alive connection to the endpoint: most of a
    delivery's cost is then its HTTP request. It holds one of the endpoint's in-flight slots and
    stops at the endpoint's first timeout or refused connection, or once it has taken
    ``WEBHOOK_TIMEOUT_SECONDS``; what it did not send is queued again at once (no attempt counted),
    behind other endpoints' events, so a slow endpoint never holds a worker for long.
    """
    by_endpoint: dict[int, list[WebhookDelivery]] = {}
    for delivery in _loaded(ids):
        by_endpoint.setdefault(delivery.subscription_id, []).append(delivery)
    return sum(_deliver_loaded(group) for group in by_endpoint.values())


def _loaded(ids: Iterable[int]) -> list[WebhookDelivery]:
    """Deliveries with their message and subscription, in id order (one query)."""
    return list(
        WebhookDelivery.objects.select_related("message", "subscription")
        .filter(pk__in=list(ids))
        .order_by("pk")
    )


def _deliver_loaded(deliveries: list[WebhookDelivery]) -> int:
    """One endpoint's deliveries, loaded with their message and subscription."""
    subscription = deliveries[0].subscription
    now = timezone.now()
    deliveries = [d for d in deliveries if d.state in OPEN]
    if not deliveries:
        return 0
    if subscription.paused_at or not subscription.is_active:
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(lease_until=None)
        return 0
    early = now + timedelta(seconds=1)
    # Early (a resend by the sweeper): its countdown or sweep comes later.
    deliveries = [d for d in deliveries if not (d.next_attempt_at and d.next_attempt_at > early)]
    if not deliveries:
        return 0
    if not _take_slot(subscription.pk):
        # This endpoint has WEBHOOK_MAX_IN_FLIGHT requests open already (it is slow): the worker
        # goes on to other endpoints' events; these come back in a moment (not an attempt).
        _send_later([d.pk for d in deliveries], settings.WEBHOOK_BUSY_RETRY_SECONDS)
        return 0
    try:
        return _attempt_many(_claim(deliveries), subscription)
    finally:
        _release_slot(subscription.pk)


def _slot_key(subscription_id: int) -> str:
    return f"webhook-in-flight:{subscription_id}"


def _take_slot(subscription_id: int) -> bool:
    """One of the endpoint's WEBHOOK_MAX_IN_FLIGHT slots (counted in the shared cache, with a
    TTL so a worker that died holding one cannot block the endpoint for long)."""
    key, ttl = _slot_key(subscription_id), int(settings.WEBHOOK_TIMEOUT_SECONDS) + 30
    cache.add(key, 0, ttl)
    try:
        taken = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, ttl)
        taken = 1
    if taken > settings.WEBHOOK_MAX_IN_FLIGHT:
        _release_slot(subscription_id)
        return False
    return True


def _release_slot(subscription_id: int) -> None:
    with contextlib.suppress(ValueError):
        cache.decr(_slot_key(subscription_id))


def _send_later(ids: list[int], seconds: float) -> None:
    from console.tasks import deliver_webhook_task

    try:
        deliver_webhook_task.apply_async((ids,), countdown=seconds)
    except Exception:
        logger.warning("webhook deliveries %s: could not be put off, left to the sweeper", ids)


def _claim(deliveries: list[WebhookDelivery]) -> list[WebhookDelivery]:
    """The deliveries this worker may send: a lease long enough for their requests, set by
    compare-and-set on each one's lease as it was loaded (one UPDATE), then read back.

    A delivery another worker is sending is not claimed, even by a copy of the task that loaded
    it after that claim (its loaded lease is then the claim itself): only one whose claim has
    ended (``WebhookDelivery.claimed_until``) or run out.
    """
    now = timezone.now()
    # Judged on the rows as loaded: a claim sets both fields together, and whatever ends one sets
    # another lease, which the compare-and-set below then refuses.
    deliveries = [
        d
        for d in deliveries
        if not (d.claimed_until and d.claimed_until == d.lease_until and d.lease_until > now)
    ]
    if not deliveries:
        return []
    claim = jobs.lease(settings.WEBHOOK_TIMEOUT_SECONDS * (len(deliveries) + 1) + 60, now=now)
    claim = claim.replace(microsecond=uuid.uuid4().int % 1_000_000)  # this claim's own mark
    loaded = Q()
    for delivery in deliveries:
        loaded |= Q(pk=delivery.pk, lease_until=delivery.lease_until)
    WebhookDelivery.objects.filter(loaded, state__in=OPEN).update(
        lease_until=claim, claimed_until=claim
    )
    mine = set(
        WebhookDelivery.objects.filter(
            pk__in=[d.pk for d in deliveries], lease_until=claim
        ).values_list("pk", flat=True)
    )
    return [d for d in deliveries if d.pk in mine]


def _attempt_many(deliveries: list[WebhookDelivery], subscription: WebhookSubscription) -> int:
    if not deliveries:
        return 0
    secret = subscription.get_secret()
    attempts: list[WebhookAttempt] = []
    delivered: dict[int, list[int]] = {}  # status code -> deliveries
    failed: list[tuple[WebhookDelivery, int | None, str]] = []
    began = time.monotonic()
    sent = 0
    for delivery in deliveries:
        if sent and time.monotonic() - began > settings.WEBHOOK_TIMEOUT_SECONDS:
            break  # this batch has had its share of the worker
        sent += 1
        body = body_for(delivery)
        headers = sign(secret, delivery.message.msg_id, body)
        started = time.monotonic()
        code, error, answer = None, "", ""
        try:
            response = _http.request(
                "POST",
                subscription.url,
                body=body.encode(),
                headers=headers,
                timeout=urllib3.Timeout(total=settings.WEBHOOK_TIMEOUT_SECONDS),
                redirect=False,
                retries=False,
            )
            code, answer = response.status, response.data[:500].decode(errors="replace")
        except (urllib3.exceptions.HTTPError, ValueError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        attempts.append(
            WebhookAttempt(
                delivery=delivery,
                status_code=code,
                duration_ms=int((time.monotonic() - started) * 1000),
                error=error,
                response_body=answer,
            )
        )
        if code is not None and 200 <= code < 300:
            delivered.setdefault(code, []).append(delivery.pk)
        else:
            failed.append((delivery, code, error or f"HTTP {code}"))
            if code is None:
                break  # timed out or refused: the rest would wait as long; they go back
    now = timezone.now()
    WebhookAttempt.objects.bulk_create(attempts)
    for code, ids in delivered.items():
        WebhookDelivery.objects.filter(pk__in=ids).update(
            state=WebhookState.DELIVERED,
            attempts=F("attempts") + 1,
            delivered_at=now,
            next_attempt_at=None,
            lease_until=None,
            claimed_until=None,
            last_status_code=code,
            last_error="",
        )
    if delivered:
        WebhookSubscription.objects.filter(pk=subscription.pk, failing_since__isnull=False).update(
            failing_since=None
        )
    for delivery, code, error in failed:
        _failed(delivery, delivery.attempts + 1, code, error, now)
    rest = [d.pk for d in deliveries[sent:]]
    if rest:
        # Not attempted: back in the queue now, behind other endpoints' events.
        WebhookDelivery.objects.filter(pk__in=rest).update(
            lease_until=jobs.lease(), claimed_until=None
        )
        _send_later(rest, 0)
    return sum(len(ids) for ids in delivered.values())


def _failed(delivery: WebhookDelivery, attempts: int, code, error: str, now) -> None:
    age = (now - delivery.message.created_at).total_seconds()
    fields: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": code,
        "last_error": error,
        "claimed_until": None,
    }
    if age >= settings.WEBHOOK_RETRY_FOR_SECONDS:
        fields.update(state=WebhookState.FAILED, next_attempt_at=None, lease_until=None)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        logger.warning(
            "webhook %s to %s: gave up after %s attempts",
            delivery.message.msg_id,
            delivery.subscription.url,
            attempts,
        )
    else:
        delay = _delay(attempts)
        at = now + timedelta(seconds=delay)
        countdown = delay <= 300
        fields.update(
            state=WebhookState.RETRYING,
            next_attempt_at=at,
            # In flight as a countdown: the sweeper waits a lease more; else it sends it at ``at``.
            lease_until=at + timedelta(seconds=settings.JOBS_LEASE_SECONDS) if countdown else at,
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        if countdown:
            from console.tasks import deliver_webhook_task

            try:
                deliver_webhook_task.apply_async(([delivery.pk],), countdown=delay)
            except Exception:
                WebhookDelivery.objects.filter(pk=delivery.pk).update(lease_until=at)
    _note_failure(delivery.subscription, now)


def _note_failure(subscription: WebhookSubscription, now) -> None:
    WebhookSubscription.objects.filter(pk=subscription.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    limit = now - timedelta(seconds=settings.WEBHOOK_PAUSE_AFTER_SECONDS)
    paused = WebhookSubscription.objects.filter(
        pk=subscription.pk, paused_at__isnull=True, failing_since__lte=limit
    ).update(paused_at=now)
    if paused:
        alerts.raise_alert(
            AlertKind.WEBHOOK_PAUSED,
            str(subscription.pk),
            title=gettext_noop("Webhook endpoint paused: %(url)s"),
            detail=gettext_noop(
                "It has failed every delivery since %(since)s. Its events are kept; resume it "
                "once the endpoint answers again."
            ),
            params={
                "url": subscription.url,
                "since": f"{subscription.failing_since or now:%Y-%m-%d %H:%M}",
            },
            application=subscription.application_id,
        )


# --- what an administrator does ----------------------------------------------------------------


def redeliver(deliveries: QuerySet[WebhookDelivery], *, user=None, request=None) -> int:
    """Send these deliveries again now, whatever their state (one, or a range); audited."""
    ids = list(deliveries.values_list("pk", flat=True))
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk__in=ids).update(
            state=WebhookState.PENDING, next_attempt_at=None, lease_until=jobs.lease()
        )
        for delivery in WebhookDelivery.objects.filter(pk__in=ids).select_related("message"):
            audit.record(
                AuditAction.REDELIVER,
                delivery,
                user=user,
                request=request,
                details={"event": delivery.message.msg_id},
            )
        due = list(WebhookDelivery.objects.filter(pk__in=ids).values_list("subscription_id", "pk"))
        transaction.on_commit(lambda: _send(due))
    return len(ids)


def resume(subscription: WebhookSubscription, *, user=None, request=None) -> int:
    """Resume a paused endpoint: its waiting deliveries are sent again; returns how many."""
    with transaction.atomic():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            paused_at=None, failing_since=None
        )
        waiting = WebhookDelivery.objects.filter(subscription=subscription, state__in=OPEN)
        ids = list(waiting.values_list("pk", flat=True))
        waiting.update(next_attempt_at=None, lease_until=jobs.lease())
        alerts.resolve_alert(AlertKind.WEBHOOK_PAUSED, str(subscription.pk))
        audit.record(AuditAction.RESUME, subscription, user=user, request=request)
        transaction.on_commit(lambda: _send((subscription.pk, pk) for pk in ids))
    return len(ids)


def stuck(now) -> QuerySet[WebhookDelivery]:
    """Deliveries whose lease ran out (the sweeper sends them): a retry that is due, or a task
    that was lost."""
    return (
        WebhookDelivery.objects.filter(state__in=OPEN, lease_until__lte=now)
        .filter(Q(subscription__paused_at__isnull=True), subscription__is_active=True)
        .order_by("lease_until")
    )


def requeue(delivery: WebhookDelivery) -> bool:
    from console.tasks import deliver_webhook_task

    return jobs.renew(delivery) and jobs.send(deliver_webhook_task, [delivery.pk])


def register_job() -> None:
    """The sweeper's kind of job (console.jobs)."""
    from django.utils.translation import gettext_lazy as _

    jobs.register(
        jobs.JobKind(
            name="webhook",
            label=_("Webhook deliveries"),
            stuck=stuck,
            requeue=requeue,
            permission="console.change_webhookdelivery",
        )
    )

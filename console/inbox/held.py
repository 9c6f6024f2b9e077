"""Held pushes: a right digest, but a header that cannot vouch for the body.

Kept and answered 200, applied only once what they say is corroborated by pushes signed afresh
(each kind's rule is its handler's ``corroborate``), or released by an administrator.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from console import alerts, audit, events
from console.choices import AlertKind, AuditAction, DeliveryKind, DeliveryState
from console.inbox.handlers import Verdict, handler_for
from console.inbox.receiving import (
    Answer,
    Parsed,
    Reprocessed,
    _apply,
    _failure_text,
    _mark_processed,
    _stored_body,
    digest_of,
    items_of,
    parse,
    receive,
)
from console.models import Application, Delivery
from privatenumber import schemas

logger = logging.getLogger(__name__)

# What was answered to a held Block push: the platform must not wait, and nothing unverified may
# connect a call or forward an SMS.
_HELD_BLOCK_ANSWERS: dict[str, dict[str, Any]] = {
    DeliveryKind.CALL_EVENT: schemas.CallinBlockAnswer(
        operation="close", close_info=schemas.CloseInfo()
    ).to_wire(),
    DeliveryKind.SMS: schemas.SmsBlockAnswer(
        actions=[schemas.SmsAction(operation="DiscardMessage")]
    ).to_wire(),
}
# Bodies already stored this way vouch for an identical held body: it is nothing new.
_RECEIVED = (DeliveryState.PROCESSED, DeliveryState.IGNORED, DeliveryState.DUPLICATE)


def hold(
    application: Application,
    endpoint: str,
    body: bytes,
    *,
    scheme: str,
    reason: str,
    nonce: str,
    signed_at,
) -> Answer:
    """Keep a push whose digest is right but whose header cannot vouch for its body.

    The signature covers Nonce and Created, not the body: a stale header may be a platform retry
    sent with its first header, or a captured header replayed with another body. So the push is
    answered 200 (the platform keeps no copy; it must not be lost) and kept, but applied only
    when the same bytes or its facts already arrived under a fresh signature (see
    :func:`corroborate`), or when an administrator releases it.
    """
    digest = digest_of(body)
    parsed = parse(application, body)
    existing = Delivery.objects.defer("body").filter(application=application, digest=digest)
    existing = existing.order_by("-id").first()
    if existing is not None and existing.state == DeliveryState.FAILED:
        # These very bytes arrived under a fresh signature and could not be applied then.
        return receive(application, endpoint, body, scheme=scheme, digest=digest)
    if existing is not None and existing.state in _RECEIVED:
        logger.info(
            "held push from %s (%s): the same body was received before; nothing to apply",
            application.app_key,
            reason,
        )
        return Answer(200, existing.answer, delivery_id=existing.pk, duplicate=True)
    answer = _HELD_BLOCK_ANSWERS.get(parsed.kind) if _is_block(parsed) else None
    if existing is not None:  # held (or discarded) before: one more copy of it
        Delivery.objects.filter(pk=existing.pk).update(attempts=F("attempts") + 1)
        return Answer(200, existing.answer, delivery_id=existing.pk, duplicate=True)
    error = parsed.error
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                application=application,
                endpoint=endpoint,
                kind=parsed.kind,
                state=DeliveryState.HELD,
                hold_reason=reason,
                nonce=nonce[:128],
                signed_at=signed_at,
                scheme=scheme,
                body=body,
                size=len(body),
                digest=digest,
                items=items_of(parsed.push) if parsed.push is not None else 0,
                answer=answer,
                error=str(error) if error else parsed.ignored,
                error_field=error.field[:200] if error else "",
            )
            events.announce_held(application, delivery)  # push.held, with the row
    except IntegrityError:  # the same bytes, held at the same moment by another worker
        return Answer(200, answer)
    logger.warning(
        "push %s from %s held (%s): digest right, header %s, signed %s",
        delivery.pk,
        application.app_key,
        parsed.kind or "unreadable",
        reason,
        signed_at.isoformat() if signed_at else "?",
    )
    if not corroborate(delivery.pk):
        _alert_held(application)
    return Answer(200, answer, delivery_id=delivery.pk)


def _is_block(parsed: Parsed) -> bool:
    return bool(getattr(parsed.push, "is_block", False))


def corroborate(delivery_id: int) -> str:
    """Judge one held push by its kind's rule; returns the outcome ("" when it stays held).

    ``duplicate``: it carries nothing that has not arrived under a fresh signature (marked so,
    nothing applied). ``corroborated``: what it says was confirmed by what arrived fresh, so it
    is applied, exactly as a push is. The rules are the owning apps' (their handlers'
    ``corroborate``).
    """
    delivery = (
        Delivery.objects.select_related("application")
        .filter(pk=delivery_id, state=DeliveryState.HELD)
        .first()
    )
    if delivery is None:
        return ""
    application = delivery.application
    parsed = parse(application, bytes(delivery.body))
    if parsed.error is not None or parsed.ignored:
        return ""
    judge = handler_for(parsed.kind).corroborate
    if judge is None:
        return ""
    verdict = judge(application, parsed.push)
    if verdict.outcome not in (Verdict.DUPLICATE, Verdict.CORROBORATED):
        return ""
    with transaction.atomic():
        locked = (
            Delivery.objects.select_for_update()
            .defer("body")
            .filter(pk=delivery_id, state=DeliveryState.HELD)
            .first()
        )
        if locked is None:
            return ""
        locked.note = verdict.note[:300]
        if verdict.outcome == Verdict.DUPLICATE:
            locked.state = DeliveryState.DUPLICATE
            locked.processed_at = timezone.now()
            locked.save(update_fields=["state", "note", "processed_at"])
        else:
            _apply(application, locked, parsed)  # a Block answer is moot: one was given
            _mark_processed(locked, items_of(parsed.push), locked.answer)
    logger.info("held push %s: %s (%s)", delivery_id, verdict.outcome, verdict.note)
    _resolve_held_alert(application)
    return verdict.outcome


def release(delivery_id: int, *, user=None, request=None) -> Reprocessed:
    """An administrator vouches for a held push: apply it as it is; audited."""
    stored = _stored_body(delivery_id, DeliveryState.HELD)
    if stored is None:
        return Reprocessed(delivery_id, ok=False, error="not a held push")
    application, body = stored
    parsed = parse(application, body)
    result: Reprocessed
    try:
        if parsed.error is not None:
            raise parsed.error
        with transaction.atomic():
            locked = (
                Delivery.objects.select_for_update()
                .defer("body")
                .get(pk=delivery_id, state=DeliveryState.HELD)
            )
            locked.note = f"released by {_who(user, request)}"[:300]
            if parsed.ignored:
                locked.state, locked.error = DeliveryState.IGNORED, parsed.ignored
                locked.save(update_fields=["state", "error", "note"])
            else:
                _apply(application, locked, parsed)
                _mark_processed(locked, items_of(parsed.push), locked.answer)
        result = Reprocessed(delivery_id, ok=True)
    except Exception as exc:
        text = _failure_text(exc)
        logger.warning("releasing held push %s failed: %s", delivery_id, text)
        Delivery.objects.filter(pk=delivery_id).update(error=text[:2000])
        result = Reprocessed(delivery_id, ok=False, error=text[:2000])
    audit.record(
        AuditAction.RELEASE,
        Delivery.objects.defer("body").get(pk=delivery_id),
        user=user,
        request=request,
        details={"ok": result.ok, "error": result.error},
    )
    _resolve_held_alert(application)
    return result


def _who(user, request) -> str:
    person = user or getattr(request, "user", None)
    return getattr(person, "username", "") or "?"


def discard(delivery_id: int, *, user=None, request=None) -> bool:
    """An administrator judges a held push unfounded: it is kept, never applied; audited."""
    discarded = Delivery.objects.filter(pk=delivery_id, state=DeliveryState.HELD).update(
        state=DeliveryState.DISCARDED, processed_at=timezone.now()
    )
    if not discarded:
        return False
    delivery = Delivery.objects.defer("body").select_related("application").get(pk=delivery_id)
    audit.record(AuditAction.DISCARD, delivery, user=user, request=request)
    _resolve_held_alert(delivery.application)
    return True


def corroborate_held(limit: int = 500) -> dict[str, int]:
    """Judge the held pushes again, oldest first (beat): what corroborates them may have arrived
    since. Returns how many ended in each outcome; alerts of applications left without held
    pushes are resolved."""
    ids = list(
        Delivery.objects.filter(state=DeliveryState.HELD)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    outcomes: dict[str, int] = {Verdict.DUPLICATE: 0, Verdict.CORROBORATED: 0, "held": 0}
    for delivery_id in ids:
        outcomes[corroborate(delivery_id) or "held"] += 1
    held_apps = set(
        Delivery.objects.filter(state=DeliveryState.HELD)
        .values_list("application_id", flat=True)
        .distinct()
    )
    for application in Application.objects.filter(
        alerts__kind=AlertKind.HELD_PUSHES, alerts__resolved_at__isnull=True
    ).exclude(pk__in=held_apps):
        _resolve_held_alert(application)
    return outcomes


HELD_COUNT_CAP = 1000


def held_count(application: Application | None = None) -> int:
    """How many pushes wait held, counted up to :data:`HELD_COUNT_CAP` (the dashboard's figure;
    the partial index ``delivery_held`` serves it)."""
    held = Delivery.objects.filter(state=DeliveryState.HELD)
    if application is not None:
        held = held.filter(application=application)
    return held.order_by()[:HELD_COUNT_CAP].count()


def _held_alert_key(application: Application) -> str:
    return f"application:{application.pk}"


def _alert_held(application: Application) -> None:
    alerts.raise_alert(
        AlertKind.HELD_PUSHES,
        _held_alert_key(application),
        application=application,
        title=gettext_noop("Pushes of %(application)s are held"),
        detail=gettext_noop(
            "%(count)s push(es) arrived with a right signature but a header that cannot vouch "
            "for the body: too old, used before with another body, or not checkable (the "
            "replay store was down). They are kept, not applied: each is applied when what it "
            "says is confirmed by pushes signed afresh, or when an administrator releases it "
            "from the held pushes page."
        ),
        params={"application": application.name, "count": held_count(application)},
    )


def _resolve_held_alert(application: Application) -> None:
    if not held_count(application):
        alerts.resolve_alert(AlertKind.HELD_PUSHES, _held_alert_key(application))

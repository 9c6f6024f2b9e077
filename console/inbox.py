"""The webhook inbox: every push is kept as a ``Delivery`` and applied in the same transaction.

``receive()`` is what the HTTP receiver (``console.hooks``) calls once the push is authenticated;
``reprocess()`` is what the admin action calls after a fix. Both apply a push through the same
dispatch table, keyed by the kind of message, to the service of the app that owns it. The table
names services by dotted path and imports them when first used, so this package does not import
the apps that depend on it (``billing``, ``bindings``).

Outcomes (see ``docs/notifications.md``):

* applied: the Delivery (state ``processed``) commits with its effects, then 200;
* a retry of a body already applied: nothing changes, 200 (with the same Block answer);
* a body that cannot be parsed: kept as ``failed`` with the reason, 400 naming the field;
* an unknown ``eventType``: kept as ``ignored``, 200 (the platform adds event types over time);
* a failure while applying (a bug, the database): rolled back, then kept as ``failed`` in a
  transaction of its own, 500 so that the platform retries; an administrator re-processes it;
* a push whose digest is right but whose header is stale, was used before with another body, or
  could not be checked (``hold()``): kept as ``held``, 200, applied only when corroborated
  (``corroborate()``, the owning app's rule) or released by an administrator (``release()``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_noop
from pydantic import ValidationError

from console import alerts, audit
from console.choices import AlertKind, AuditAction, DeliveryKind, DeliveryState
from console.models import Application, Delivery
from console.sql import prepared_cursor
from privatenumber import schemas
from privatenumber.schemas import SchemaError

logger = logging.getLogger(__name__)

# Kind of message → the service applying it: ``f(application, push, *, delivery) -> Applied``
# (billing) or ``f(application, push) -> int`` (bindings.services.apply_x_number_status).
HANDLERS: dict[str, str] = {
    DeliveryKind.FEE: "billing.services.apply_fee_push",
    DeliveryKind.CALL_EVENT: "billing.services.apply_call_event_push",
    DeliveryKind.SMS: "billing.services.apply_sms_push",
    DeliveryKind.NUM_STATUS: "bindings.services.apply_x_number_status",
}
# Kind of message → the service that judges a held push of that kind (``f(application, push) ->
# Verdict``): is it a harmless duplicate of what arrived under a fresh signature, or corroborated
# by it? X-number status has no judge: its bodies carry no id or time to check against.
CORROBORATORS: dict[str, str] = {
    DeliveryKind.FEE: "billing.services.corroborate_fee_push",
    DeliveryKind.CALL_EVENT: "billing.services.corroborate_call_event_push",
    DeliveryKind.SMS: "billing.services.corroborate_sms_push",
}
_KIND_OF_EVENT_TYPE = {
    "fee": DeliveryKind.FEE,
    "numStatus": DeliveryKind.NUM_STATUS,
    **dict.fromkeys(schemas.CALL_EVENT_TYPES, DeliveryKind.CALL_EVENT),
}


@dataclass(frozen=True)
class Answer:
    """What the receiver answers: HTTP status and JSON body (None: an empty 200)."""

    status: int
    body: dict[str, Any] | None = None
    delivery_id: int | None = None
    duplicate: bool = False


@dataclass(frozen=True)
class Parsed:
    kind: str
    push: Any = None
    error: SchemaError | None = None
    ignored: str = ""


def parse(application: Application, body: bytes) -> Parsed:
    """Decode and validate a pushed body; never raises for bad input."""
    if b'"fee"' in body:
        fast = _parse_fee(application, body)
        if fast is not None:
            return fast
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        return Parsed(
            DeliveryKind.UNKNOWN,
            error=SchemaError("body", f"not UTF-8 ({error.reason} at byte {error.start})"),
        )
    except json.JSONDecodeError as error:
        return Parsed(
            DeliveryKind.UNKNOWN,
            error=SchemaError("body", f"not JSON ({error.msg} at line {error.lineno})"),
        )
    if not isinstance(data, Mapping):
        return Parsed(DeliveryKind.UNKNOWN, error=SchemaError("body", "must be a JSON object"))
    event_type = data.get("eventType")
    if event_type is None:
        kind = DeliveryKind.SMS if ("smsEvent" in data or "appKey" in data) else ""
    elif isinstance(event_type, str) and event_type not in _KIND_OF_EVENT_TYPE:
        return Parsed(DeliveryKind.UNKNOWN, ignored=f"unknown eventType {event_type[:64]!r}")
    else:
        kind = _KIND_OF_EVENT_TYPE.get(event_type, "") if isinstance(event_type, str) else ""
    try:
        push = schemas.parse_model(schemas.push_model_for(data), data)
        _check_app_key(application, push)
    except SchemaError as error:
        return Parsed(kind, error=error)
    return Parsed(kind, push=push)


def _parse_fee(application: Application, body: bytes) -> Parsed | None:
    """A valid CDR push, read straight from the bytes by pydantic-core; None if it is not one.

    ``FeePush.model_validate_json`` decodes and validates in one pass, without building the
    Python dicts of ``json.loads`` first (half of the time of a 50-CDR push's parse). Only a
    success is used: anything it refuses (another kind, a bad field, bad UTF-8 or JSON) goes
    through the general path below, which finds the kind and words the error as always.
    """
    try:
        push = schemas.FeePush.model_validate_json(body)
    except ValidationError:
        return None
    try:
        _check_app_key(application, push)
    except SchemaError as error:
        return Parsed(DeliveryKind.FEE, error=error)
    return Parsed(DeliveryKind.FEE, push=push)


def _check_app_key(application: Application, push: Any) -> None:
    """A CDR or SMS notice names its appKey: it must be the one that signed the push."""
    if isinstance(push, schemas.FeePush):
        for index, fee in enumerate(push.fee_lst):
            if fee.app_key != application.app_key:
                raise SchemaError(f"feeLst.{index}.appKey", "is not the app_key that signed it")
    elif isinstance(push, schemas.SmsPush) and push.app_key != application.app_key:
        raise SchemaError("appKey", "is not the app_key that signed it")


def items_of(push: Any) -> int:
    if isinstance(push, schemas.FeePush):
        return len(push.fee_lst)
    if isinstance(push, schemas.NumStatusPush):
        return len(push.num_info)
    return 1


def handler_for(kind: str) -> Callable[..., Any]:
    return import_string(HANDLERS[kind])


def _apply(application: Application, delivery: Delivery, parsed: Parsed) -> dict[str, Any] | None:
    """Run the owning service; returns the Block answer, if any."""
    handler = handler_for(parsed.kind)
    if parsed.kind == DeliveryKind.NUM_STATUS:
        handler(application, parsed.push)
        return None
    return handler(application, parsed.push, delivery=delivery).answer


def digest_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _insert(
    application: Application,
    *,
    endpoint: str,
    kind: str,
    state: str,
    body: bytes,
    digest: str,
    scheme: str,
    items: int = 0,
    error: str = "",
    error_field: str = "",
) -> int | None:
    """INSERT the Delivery; None when the same body is stored already (a retry).

    ``ON CONFLICT DO NOTHING`` waits for a concurrent copy of the same body to commit or roll
    back, so two copies in flight at once are applied once.
    """
    now = timezone.now()
    table = Delivery._meta.db_table
    sql = (
        f"INSERT INTO {table} (received_at, application_id, endpoint, kind, state, error, "  # noqa: S608
        "error_field, scheme, body, size, digest, items, attempts, processed_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s) "
        "ON CONFLICT DO NOTHING RETURNING id"
    )
    processed_at = now if state == DeliveryState.PROCESSED else None
    with prepared_cursor() as cursor:  # the body travels as binary, not as hex in the text
        cursor.execute(
            sql,
            [
                now,
                application.pk,
                endpoint,
                kind,
                state,
                error,
                error_field[:200],
                scheme,
                body,
                len(body),
                digest,
                items,
                processed_at,
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _stored(application: Application, digest: str) -> Delivery | None:
    """The newest delivery of this body, locked (defer the body: it is not needed)."""
    return (
        Delivery.objects.select_for_update()
        .defer("body")
        .filter(application=application, digest=digest)
        .order_by("-id")
        .first()
    )


def receive(
    application: Application,
    endpoint: str,
    body: bytes,
    *,
    scheme: str = "",
    digest: str | None = None,
) -> Answer:
    """Keep and apply one authenticated push; the answer is decided only after commit."""
    digest = digest or digest_of(body)
    parsed = parse(application, body)
    if parsed.error is not None:
        delivery_id = _keep(application, endpoint, body, digest, scheme, parsed, parsed.error)
        logger.warning(
            "push %s from %s refused: %s", delivery_id, application.app_key, parsed.error
        )
        return Answer(
            400,
            {"error": str(parsed.error), "field": parsed.error.field},
            delivery_id=delivery_id,
        )
    if parsed.ignored:
        delivery_id = _keep(application, endpoint, body, digest, scheme, parsed, None)
        logger.info("push %s from %s ignored: %s", delivery_id, application.app_key, parsed.ignored)
        return Answer(200, None, delivery_id=delivery_id)
    try:
        with transaction.atomic():
            answer = _receive_valid(application, endpoint, body, digest, scheme, parsed)
    except Exception as exc:
        logger.exception("push from %s could not be applied", application.app_key)
        delivery_id = _keep(application, endpoint, body, digest, scheme, parsed, exc)
        return Answer(
            500, {"error": "could not be applied; kept for re-processing"}, delivery_id=delivery_id
        )
    return answer


def _receive_valid(
    application: Application,
    endpoint: str,
    body: bytes,
    digest: str,
    scheme: str,
    parsed: Parsed,
) -> Answer:
    """Inside the push's transaction: claim the body, apply it, record the answer."""
    items = items_of(parsed.push)
    delivery, fresh = _claim(application, endpoint, body, digest, scheme, parsed, items)
    if delivery.state not in _TAKEN_OVER and not fresh:
        return Answer(200, delivery.answer, delivery_id=delivery.pk, duplicate=True)
    answer = _apply(application, delivery, parsed)
    if not fresh:
        _mark_processed(delivery, items, answer)
    elif answer is not None:
        Delivery.objects.filter(pk=delivery.pk).update(answer=answer)
    return Answer(200, answer, delivery_id=delivery.pk)


def _claim(
    application: Application,
    endpoint: str,
    body: bytes,
    digest: str,
    scheme: str,
    parsed: Parsed,
    items: int,
) -> tuple[Delivery, bool]:
    """The delivery this body is applied under, and whether it is a new row.

    A new row is inserted already marked processed (it only commits if applying succeeds). A
    failed copy is taken over, and so is a held or discarded one: these bytes have now arrived
    under a fresh signature. An applied or ignored copy is returned as it is (a duplicate).
    X-number status bodies are not unique (see ``Delivery``): only such a copy is taken over.
    """

    def insert() -> int | None:
        return _insert(
            application,
            endpoint=endpoint,
            kind=parsed.kind,
            state=DeliveryState.PROCESSED,
            body=body,
            digest=digest,
            scheme=scheme,
            items=items,
        )

    def new(pk: int) -> Delivery:
        return Delivery(
            pk=pk,
            application=application,
            endpoint=endpoint,
            kind=parsed.kind,
            state=DeliveryState.PROCESSED,
            digest=digest,
            items=items,
        )

    unique = parsed.kind != DeliveryKind.NUM_STATUS
    if unique and (pk := insert()) is not None:
        return new(pk), True
    existing = _stored(application, digest)
    if existing is not None and existing.state in _TAKEN_OVER:
        if existing.state != DeliveryState.FAILED:
            existing.note = "the same body arrived under a fresh signature"
        existing.attempts += 1
        return existing, False
    if not unique:
        return new(insert()), True
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish
        raise IntegrityError("delivery conflict without a stored copy")
    return existing, False


# Stored states a copy of the same body arriving fresh (or re-processed) takes over and applies.
_TAKEN_OVER = (DeliveryState.FAILED, DeliveryState.HELD, DeliveryState.DISCARDED)


def _mark_processed(delivery: Delivery, items: int, answer: dict[str, Any] | None) -> None:
    delivery.state = DeliveryState.PROCESSED
    delivery.items = items
    delivery.answer = answer
    delivery.error = ""
    delivery.error_field = ""
    delivery.processed_at = timezone.now()
    delivery.save(
        update_fields=[
            "state",
            "items",
            "answer",
            "error",
            "error_field",
            "processed_at",
            "attempts",
            "note",
        ]
    )


def _keep(
    application: Application,
    endpoint: str,
    body: bytes,
    digest: str,
    scheme: str,
    parsed: Parsed,
    error: BaseException | None,
) -> int | None:
    """Store a push that was not applied (failed or ignored), in a transaction of its own."""
    state = DeliveryState.IGNORED if error is None else DeliveryState.FAILED
    if error is None:
        text, field = parsed.ignored, ""
    elif isinstance(error, SchemaError):
        text, field = str(error), error.field
    else:
        text, field = f"{type(error).__name__}: {error}"[:2000], ""
    with transaction.atomic():
        existing = _stored(application, digest)
        if existing is not None and existing.state in (*_TAKEN_OVER, DeliveryState.IGNORED):
            existing.attempts += 1
            existing.state = state  # a held copy's bytes arrived fresh: failed or ignored now
            existing.error, existing.error_field = text, field[:200]
            existing.save(update_fields=["attempts", "state", "error", "error_field"])
            return existing.pk
        if existing is not None and parsed.kind != DeliveryKind.NUM_STATUS:
            return existing.pk  # applied meanwhile by a concurrent copy
        return _insert(
            application,
            endpoint=endpoint,
            kind=parsed.kind,
            state=state,
            body=body,
            digest=digest,
            scheme=scheme,
            items=items_of(parsed.push) if parsed.push is not None else 0,
            error=text,
            error_field=field,
        )


@dataclass(frozen=True)
class Reprocessed:
    delivery_id: int
    ok: bool
    error: str = ""


def _stored_body(delivery_id: int, state: str) -> tuple[Application, bytes] | None:
    """The application and stored body of a delivery still in ``state`` (None: not any more)."""
    delivery = (
        Delivery.objects.select_related("application").filter(pk=delivery_id, state=state).first()
    )
    return None if delivery is None else (delivery.application, bytes(delivery.body))


def _failure_text(exc: Exception) -> str:
    """What an administrator reads about a failed apply: a schema error says it plainly."""
    return str(exc) if isinstance(exc, SchemaError) else f"{type(exc).__name__}: {exc}"


def reprocess(delivery_id: int, *, user=None, request=None) -> Reprocessed:
    """Apply a failed delivery again (after a fix); audited. Not failed any more: a no-op."""
    stored = _stored_body(delivery_id, DeliveryState.FAILED)
    if stored is None:
        return Reprocessed(delivery_id, ok=False, error="not a failed delivery")
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
                .get(pk=delivery_id, state=DeliveryState.FAILED)
            )
            locked.attempts += 1
            locked.kind = parsed.kind
            if parsed.ignored:
                locked.state, locked.error = DeliveryState.IGNORED, parsed.ignored
                locked.save(update_fields=["state", "error", "attempts", "kind"])
            else:
                answer = _apply(application, locked, parsed)
                locked.save(update_fields=["kind"])
                _mark_processed(locked, items_of(parsed.push), answer)
        result = Reprocessed(delivery_id, ok=True)
    except Exception as exc:
        text = _failure_text(exc)
        logger.warning("re-processing delivery %s failed: %s", delivery_id, text)
        Delivery.objects.filter(pk=delivery_id).update(
            attempts=F("attempts") + 1, error=text[:2000]
        )
        result = Reprocessed(delivery_id, ok=False, error=text[:2000])
    audit.record(
        AuditAction.REPROCESS,
        Delivery.objects.defer("body").get(pk=delivery_id),
        user=user,
        request=request,
        details={"ok": result.ok, "error": result.error},
    )
    return result


# ---------------------------------------------------------------------------------------------
# Held pushes: a right digest, but a header that cannot vouch for the body
# ---------------------------------------------------------------------------------------------

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


@dataclass(frozen=True)
class Verdict:
    """A judge's verdict on a held push: ``duplicate`` (nothing new: mark it so, apply nothing),
    ``corroborated`` (apply it), or "" (keep it held). ``note`` says why, for the admin page."""

    outcome: str = ""
    note: str = ""

    DUPLICATE = "duplicate"
    CORROBORATED = "corroborated"


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
    is applied, exactly as a push is. The rules are the owning apps' (:data:`CORROBORATORS`).
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
    if parsed.error is not None or parsed.ignored or parsed.kind not in CORROBORATORS:
        return ""
    verdict: Verdict = import_string(CORROBORATORS[parsed.kind])(application, parsed.push)
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

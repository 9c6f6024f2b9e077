"""Receiving a push: parse it, keep it as a ``Delivery`` and apply it in the same transaction;
re-process a failed one after a fix. See the package's docstring for the outcomes."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from pydantic import ValidationError

from console import audit
from console.choices import AuditAction, DeliveryKind, DeliveryState
from console.inbox.handlers import handler_for, kind_of
from console.models import Application, Delivery
from console.sql import prepared_cursor
from privatenumber import schemas
from privatenumber.schemas import SchemaError

logger = logging.getLogger(__name__)


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
    try:
        model = schemas.push_model_for(data)
    except SchemaError as error:
        if isinstance(event_type, str):  # the platform adds event types over time
            return Parsed(DeliveryKind.UNKNOWN, ignored=f"unknown eventType {event_type[:64]!r}")
        return Parsed(DeliveryKind.UNKNOWN, error=error)
    kind = kind_of(model)
    if kind is None:
        return Parsed(DeliveryKind.UNKNOWN, ignored=f"no app applies {model.__name__}")
    try:
        push = schemas.parse_model(model, data)
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


def _apply(application: Application, delivery: Delivery, parsed: Parsed) -> dict[str, Any] | None:
    """Run the owning app's handler (``console.inbox.handlers``); returns the Block answer, if
    any."""
    return handler_for(parsed.kind).apply(application, parsed.push, delivery=delivery)


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

"""HTTP receivers of the platform's pushes: ``POST /hooks/status|fee|sms|xstatus``.

Each request is authenticated before its body is read: the application is the one whose APP_Key
signs the ``Authorization``/``X-AKSK`` (or legacy ``X-WSSE``) headers, and the digest is checked
against its secret (``privatenumber.auth``, spec §2); a wrong digest is refused. Then the body is
read (at most ``HOOKS_MAX_BODY_BYTES``) and handed to ``console.inbox.receive``, which keeps it as
a ``Delivery`` and applies it in one transaction. A push whose digest is right but whose header
is stale, was used before with another body, or could not be checked for reuse is kept and held
instead (``console.inbox.hold``): answered 200, applied only once corroborated or released.
Answers, by case, are listed in ``docs/notifications.md``.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from console import inbox
from console.choices import DeliveryState, HoldReason
from console.models import Application, Delivery
from console.sql import prepared_cursor
from privatenumber import auth

logger = logging.getLogger(__name__)


def _refuse(status: int, payload: dict, **headers: str) -> JsonResponse:
    response = JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})
    for name, value in headers.items():
        response[name] = value
    return response


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "?")


@dataclass(frozen=True)
class Signed:
    """Who signed a push and how; ``stale``: its Created is outside the allowed skew."""

    application: Application
    verified: auth.Verified
    token: auth.UsernameToken
    stale: bool = False


def authenticate(request: HttpRequest) -> Signed:
    """The application that signed the request; :class:`privatenumber.auth.AuthError` if none.

    A right digest with a stale ``Created`` is not refused: the push may be a platform retry sent
    with its first header (spec §6.0), so it is kept and held (``Signed.stale``).
    """
    token = auth.parse_headers(request.headers)
    application = _application(token.app_key)
    if application is None or not application.has_secret:
        raise auth.AuthError(auth.CODE_UNKNOWN_APP_KEY, "Invalid app_key.", token.app_key)
    try:
        verified = auth.verify_token(
            token, application.get_secret(), max_skew=settings.HOOKS_MAX_CLOCK_SKEW
        )
    except auth.StaleCreated as stale:
        return Signed(application, stale.verified, token, stale=True)
    return Signed(application, verified, token)


def hold_reason(signed: Signed, digest: str) -> str:
    """Why this push must be held ("" when it may be applied): stale, replayed or unchecked.

    Each accepted header (nonce and Created) is remembered with the digest of its body for
    longer than the allowed skew. The same header with the same body again is a retry of what was
    accepted (the inbox's duplicate handling answers it); the same header with another body is a
    replay of a captured header, since the signature does not cover the body.
    """
    if signed.stale:
        return HoldReason.STALE
    if not settings.HOOKS_REJECT_REPLAYED_NONCE:
        return ""
    seen = _remember(signed.token, digest)
    if seen is None:
        return HoldReason.UNCHECKED
    if seen != digest:
        return HoldReason.REPLAYED
    if _store_failed_recently() and _held_with_another_body(signed, digest):
        # The store was down when this header first came: it could not remember it then.
        return HoldReason.REPLAYED
    return ""


@functools.cache
def _application_sql() -> tuple[str, list[str]]:
    fields = [field.attname for field in Application._meta.concrete_fields]
    table = Application._meta.db_table
    columns = ", ".join(connection.ops.quote_name(name) for name in fields)
    return f"SELECT {columns} FROM {table} WHERE app_key = %s ORDER BY id LIMIT 1", fields  # noqa: S608


def _application(app_key: str) -> Application | None:
    """The application with this APP_Key, read with one prepared statement.

    Same row as ``Application.objects.filter(app_key=…).first()``; compiling that query cost more
    CPU than PostgreSQL spent answering it, on every push.
    """
    sql, fields = _application_sql()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [app_key])
        row = cursor.fetchone()
    return None if row is None else Application.from_db(connection.alias, fields, row)


def _redis_client() -> Any:
    """The Redis client behind Django's ``RedisCache``, built once per cache instance.

    Django builds a new ``redis.Redis`` (and its table of response callbacks) on every cache
    call; the client is thread-safe and shares the cache's connection pool, so one will do.
    None when the cache is not Django's Redis backend.
    """
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, RedisCache):
        return None
    client = backend.__dict__.get("_hooks_client")
    if client is None:
        client = backend._hooks_client = backend._cache.get_client(write=True)
    return client


# When this process last found the replay store unreachable (time.monotonic()).
_store_failed_at: float | None = None


def _note_store_failure() -> None:
    global _store_failed_at
    _store_failed_at = time.monotonic()


def _store_failed_recently() -> bool:
    window = settings.HOOKS_MAX_CLOCK_SKEW.total_seconds() * 2 + 60
    return _store_failed_at is not None and time.monotonic() - _store_failed_at < window


def _held_with_another_body(signed: Signed, digest: str) -> bool:
    """Whether this header's push was held while the store was down, with another body."""
    return (
        Delivery.objects.filter(
            application=signed.application,
            state=DeliveryState.HELD,
            nonce=signed.token.nonce,
            signed_at=signed.verified.created,
        )
        .exclude(digest=digest)
        .exists()
    )


def remember_held_headers() -> int:
    """Put the headers of pushes held while the replay store was down into it, now that it
    answers (beat): a replay of such a header with another body is then recognised by every
    process, not only by those that saw the store fail. Returns how many were remembered."""
    since = timezone.now() - settings.HOOKS_MAX_CLOCK_SKEW * 2
    remembered = 0
    for held in Delivery.objects.filter(
        state=DeliveryState.HELD, hold_reason=HoldReason.UNCHECKED, signed_at__gte=since
    ).select_related("application"):
        token = auth.UsernameToken(
            scheme=auth.Scheme(held.scheme or "AKSK"),
            app_key=held.application.app_key,
            nonce=held.nonce,
            created=auth.format_created(held.signed_at),
            digest="",
        )
        if _remember(token, held.digest) is not None:
            remembered += 1
    return remembered


def _remember(token: auth.UsernameToken, digest: str) -> str | None:
    """Remember this header (nonce and Created) with its body's digest; returns the digest it
    was first seen with (``digest`` itself when it is new), or None when the replay store
    cannot be reached: then the push is held, never applied unchecked.
    """
    key = f"hooks:nonce:{token.app_key}:{token.nonce}:{token.created}"
    timeout = int(settings.HOOKS_MAX_CLOCK_SKEW.total_seconds() * 2) + 60
    try:
        client = _redis_client()
        if client is None:
            if cache.add(key, digest, timeout=timeout):
                return digest
            return cache.get(key)
        # what RedisCache.add does, on the kept client (one round trip for a fresh header)
        stored_key = cache.make_and_validate_key(key)
        if client.set(stored_key, digest, ex=timeout, nx=True):
            return digest
        seen = client.get(stored_key)
        return seen.decode() if isinstance(seen, bytes) else seen
    except Exception:
        _note_store_failure()
        logger.warning("replay store unavailable: the push is held", exc_info=True)
        return None


@csrf_exempt
def receive(request: HttpRequest, endpoint: str) -> HttpResponse:
    """One receiver for every push URL; the body's type decides where it goes."""
    if request.method != "POST":
        return _refuse(405, {"error": "only POST is accepted"}, Allow="POST")
    try:
        signed = authenticate(request)
    except auth.AuthError as error:
        logger.warning(
            "push to /hooks/%s refused from %s: %s %s (app_key %r)",
            endpoint,
            _client(request),
            error.code,
            error.message,
            error.app_key,
        )
        return _refuse(401, {"resultcode": error.code, "resultdesc": error.message})
    application = signed.application
    limit = settings.HOOKS_MAX_BODY_BYTES
    length = request.META.get("CONTENT_LENGTH") or ""
    if not length.isdigit():
        logger.warning("push from %s without Content-Length refused", application.app_key)
        return _refuse(411, {"error": "Content-Length is required"})
    if len(length) > 18 or int(length) > limit:
        logger.warning("push of %s bytes from %s refused", length, application.app_key)
        return _refuse(413, {"error": f"body larger than {limit} bytes"})
    body = request.read(limit + 1)
    if len(body) > limit:  # pragma: no cover - the WSGI stream stops at Content-Length
        return _refuse(413, {"error": f"body larger than {limit} bytes"})
    scheme = signed.verified.scheme.value
    digest = inbox.digest_of(body)
    reason = hold_reason(signed, digest)
    if reason:
        answer = inbox.hold(
            application,
            endpoint,
            body,
            scheme=scheme,
            reason=reason,
            nonce=signed.token.nonce,
            signed_at=signed.verified.created,
        )
    else:
        answer = inbox.receive(application, endpoint, body, scheme=scheme, digest=digest)
    if answer.status == 200 and answer.body is None:
        return HttpResponse(status=200)
    return JsonResponse(
        answer.body or {}, status=answer.status, json_dumps_params={"ensure_ascii": False}
    )

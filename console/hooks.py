"""HTTP receivers of the platform's pushes: ``POST /hooks/status|fee|sms|xstatus``.

Each request is authenticated before its body is read: the application is the one whose APP_Key
signs the ``Authorization``/``X-AKSK`` (or legacy ``X-WSSE``) headers, and the digest is checked
against its secret (``privatenumber.auth``, spec §2). Then the body is read (at most
``HOOKS_MAX_BODY_BYTES``) and handed to ``console.inbox.receive``, which keeps it as a
``Delivery`` and applies it in one transaction. Answers, by case, are listed in
``docs/notifications.md``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from console import inbox
from console.models import Application
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


def authenticate(request: HttpRequest) -> tuple[Application, auth.Verified]:
    """The application that signed the request; :class:`privatenumber.auth.AuthError` if none."""
    token = auth.parse_headers(request.headers)
    application = _application(token.app_key)
    if application is None or not application.has_secret:
        raise auth.AuthError(auth.CODE_UNKNOWN_APP_KEY, "Invalid app_key.", token.app_key)
    verified = auth.verify_token(
        token, application.get_secret(), max_skew=settings.HOOKS_MAX_CLOCK_SKEW
    )
    if settings.HOOKS_REJECT_REPLAYED_NONCE and not _first_use(token):
        raise auth.AuthError(auth.CODE_NO_NONCE, "Nonce already used.", token.app_key)
    return application, verified


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


def _first_use(token: auth.UsernameToken) -> bool:
    """Whether this exact header (nonce and Created) is seen for the first time.

    The signature does not cover the body, so a captured header could carry another body while
    ``Created`` is fresh. The platform signs every attempt anew, so a repeat is never genuine.
    If the cache is down, the push is let through (CDR intake matters more) and logged.
    """
    key = f"hooks:nonce:{token.app_key}:{token.nonce}:{token.created}"
    timeout = int(settings.HOOKS_MAX_CLOCK_SKEW.total_seconds() * 2) + 60
    try:
        client = _redis_client()
        if client is None:
            return bool(cache.add(key, 1, timeout=timeout))
        # what RedisCache.add does, on the kept client
        return bool(client.set(cache.make_and_validate_key(key), 1, ex=timeout, nx=True))
    except Exception:
        logger.warning("nonce cache unavailable; replay check skipped", exc_info=True)
        return True


@csrf_exempt
def receive(request: HttpRequest, endpoint: str) -> HttpResponse:
    """One receiver for every push URL; the body's type decides where it goes."""
    if request.method != "POST":
        return _refuse(405, {"error": "only POST is accepted"}, Allow="POST")
    try:
        application, verified = authenticate(request)
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
    answer = inbox.receive(application, endpoint, body, scheme=verified.scheme.value)
    if answer.status == 200 and answer.body is None:
        return HttpResponse(status=200)
    return JsonResponse(
        answer.body or {}, status=answer.status, json_dumps_params={"ensure_ascii": False}
    )

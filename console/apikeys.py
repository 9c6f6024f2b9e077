"""API keys: made once and shown once, kept as a hash, looked up by that hash, revocable.

A key reads ``pnc_<prefix>_<secret>``: the prefix (8 characters) is kept in clear so a person can
tell keys apart in the admin and in logs; the whole token is kept only as its SHA-256 (a random
32-byte token needs no slow hash: nobody can guess it, only steal it, and the hash is useless
to a thief of the database).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from console import audit
from console.choices import ApiScope, AuditAction
from console.models import ApiKey, Application

TOKEN_START = "pnc_"  # noqa: S105 - the visible start of every key, not a secret
# last_used_at is written at most this often per key (not one UPDATE per request).
LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh token and its prefix."""
    prefix = secrets.token_hex(4)
    return f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}", prefix


def create_key(
    name: str,
    *,
    applications: Iterable[Application],
    scopes: Iterable[str],
    user=None,
    request=None,
    rate_per_minute: int | None = None,
) -> tuple[ApiKey, str]:
    """Make a key; returns it and its token, which is never shown again."""
    scopes = [str(ApiScope(scope)) for scope in scopes]  # ValueError for an unknown scope
    token, prefix = new_token()
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name,
            prefix=prefix,
            hashed_key=hash_token(token),
            scopes=scopes,
            rate_per_minute=rate_per_minute,
            created_by=user if getattr(user, "pk", None) else None,
        )
        key.applications.set(list(applications))
        audit.record(
            AuditAction.CREATE, key, user=user, request=request, details={"scopes": scopes}
        )
    return key, token


def set_token(key: ApiKey) -> str:
    """Give an (unsaved or existing) key a fresh token; returns the token to show once."""
    token, prefix = new_token()
    key.prefix, key.hashed_key = prefix, hash_token(token)
    return token


def _cached(hashed: str) -> str:
    return f"api-key:{hashed}"


def key_for(token: str) -> ApiKey | None:
    """The active key of this token, or None (unknown, malformed or revoked).

    The key and the ids of its applications (``key.application_ids``) are kept in the shared
    cache for ``API_KEY_CACHE_SECONDS``, so a request costs no query for them: every change to a
    key (saved, its applications changed, revoked, deleted) drops that entry at once
    (:func:`forget`), so a revoked key stops working with its next request on every worker.
    """
    if not token.startswith(TOKEN_START):
        return None
    hashed = hash_token(token)
    key = cache.get(_cached(hashed))
    if key is None:
        key = ApiKey.objects.filter(hashed_key=hashed, revoked_at__isnull=True).first()
        if key is None:
            return None
        key.application_ids = list(key.applications.values_list("pk", flat=True))
        cache.set(_cached(hashed), key, settings.API_KEY_CACHE_SECONDS)
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
        cache.set(_cached(hashed), key, settings.API_KEY_CACHE_SECONDS)
    return key


def forget(key: ApiKey) -> None:
    """Drop a key from the cache of :func:`key_for` (it is read again on its next use)."""
    if key.hashed_key:
        cache.delete(_cached(key.hashed_key))


def _key_changed(sender, instance: ApiKey, **kwargs) -> None:
    forget(instance)


def _applications_changed(sender, instance, **kwargs) -> None:
    if isinstance(instance, ApiKey):
        forget(instance)
    else:  # an application's keys changed from its side
        for key in ApiKey.objects.filter(pk__in=kwargs.get("pk_set") or ()):
            forget(key)


def connect() -> None:
    """Drop a key's cache entry on every change to it (``AppConfig.ready``)."""
    post_save.connect(_key_changed, sender=ApiKey, dispatch_uid="apikey-saved")
    post_delete.connect(_key_changed, sender=ApiKey, dispatch_uid="apikey-deleted")
    m2m_changed.connect(
        _applications_changed,
        sender=ApiKey.applications.through,
        dispatch_uid="apikey-applications",
    )


def revoke(key: ApiKey, *, user=None, request=None) -> bool:
    """Revoke a key at once (audited); False if it was revoked already."""
    done = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    forget(key)
    if done:
        audit.record(AuditAction.REVOKE, key, user=user, request=request)
    return bool(done)

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

from django.db import transaction
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


def key_for(token: str) -> ApiKey | None:
    """The active key of this token, or None (unknown, malformed or revoked)."""
    if not token.startswith(TOKEN_START):
        return None
    key = ApiKey.objects.filter(hashed_key=hash_token(token), revoked_at__isnull=True).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def revoke(key: ApiKey, *, user=None, request=None) -> bool:
    """Revoke a key at once (audited); False if it was revoked already."""
    done = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if done:
        audit.record(AuditAction.REVOKE, key, user=user, request=request)
    return bool(done)

"""Encryption of secrets at rest (APP_Secret) with Fernet keys from the environment.

``FIELD_ENCRYPTION_KEY`` holds one key or several separated by commas: the first encrypts, all
decrypt, so keys can be rotated without a migration (add the new key first, re-save, drop the old).
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def _fernet(keys: str) -> MultiFernet:
    parts = [key.strip() for key in keys.split(",") if key.strip()]
    if not parts:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is not set: it is needed to store application secrets. "
            'Generate one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in parts])
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEY is not a valid Fernet key: {exc}"
        ) from None


def encrypt(plain: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(plain.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY: was the key changed "
            "without keeping the old one in the list?"
        ) from None

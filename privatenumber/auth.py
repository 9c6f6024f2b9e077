"""Authentication headers of the PrivateNumber platform (spec §2).

The same header pair signs every customer-to-platform request and every platform push, so this one
module builds them (client, simulator pushes) and verifies them (simulator, the console's push
receiver). Two schemes exist:

* ``AKSK`` (current): ``PasswordDigest = Base64(HMAC-SHA256(key=APP_Secret, msg=Nonce + Created))``
* ``WSSE`` (legacy):  ``PasswordDigest = Base64(SHA256(Nonce + Created + APP_Secret))``

Verification compares digests in constant time, checks that ``Created`` lies within a configurable
skew of the verifier's clock and that the nonce has the documented shape, and reports which app_key
signed and with which scheme. Secrets are never part of an exception message or a ``repr``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_MAX_SKEW = timedelta(minutes=5)
NONCE_RE = re.compile(r"^[0-9A-Za-z]{1,128}$")

# Result codes the platform gives for header problems (spec §2.3 and §7).
# UNCONFIRMED choices are kept here, in one place:
# * a wrong PasswordDigest has no legible code in the public pages; the spec's placeholder 1010012;
# * a malformed nonce or Created is reported with the code of the missing field it stands for.
CODE_NO_AUTHORIZATION = "1023006"
CODE_NO_REALM = "1023007"
CODE_NO_PROFILE = "1023008"
CODE_BAD_REALM = "1023009"
CODE_BAD_PROFILE = "1023010"
CODE_BAD_TYPE = "1023011"
CODE_NO_TYPE = "1023012"
CODE_NO_TOKEN_HEADER = "1023033"  # noqa: S105 (a result code, not a password)
CODE_NO_USERNAME = "1023034"
CODE_NO_NONCE = "1023035"
CODE_NO_CREATED = "1023036"
CODE_NO_DIGEST = "1023037"
CODE_NO_USERNAME_TOKEN = "1023038"  # noqa: S105 (a result code, not a password)
CODE_UNKNOWN_APP_KEY = "1010003"
CODE_BAD_DIGEST = "1010012"  # UNCONFIRMED (spec §2.3): invented placeholder
CODE_STALE_CREATED = "1010013"


class Scheme(StrEnum):
    """The two signing schemes; the value is the word that opens the Authorization header."""

    AKSK = "AKSK"
    WSSE = "WSSE"

    @property
    def token_header(self) -> str:
        return "X-AKSK" if self is Scheme.AKSK else "X-WSSE"


class AuthError(Exception):
    """A header pair that cannot be accepted. ``code`` is the platform's result code for it."""

    def __init__(self, code: str, message: str, app_key: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.app_key = app_key


class StaleCreated(AuthError):
    """The digest is right but ``Created`` is too far from the verifier's clock.

    ``verified`` says who signed: a receiver that must not lose a valid-digest push (a retry
    sent with its first header, spec §6.0) can keep it aside instead of refusing it.
    """

    def __init__(self, verified: Verified) -> None:
        super().__init__(CODE_STALE_CREATED, "Time out limit.", verified.app_key)
        self.verified = verified


@dataclass(frozen=True)
class UsernameToken:
    """The parsed contents of an ``X-AKSK`` / ``X-WSSE`` header."""

    scheme: Scheme
    app_key: str
    nonce: str
    created: str
    digest: str = field(repr=False)


@dataclass(frozen=True)
class Verified:
    """What a successful verification tells: who signed, and how."""

    app_key: str
    scheme: Scheme
    created: datetime


def format_created(moment: datetime) -> str:
    """``Created`` as the platform writes it: UTC, seconds, a literal ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("Created must be built from an aware datetime")
    return moment.astimezone(UTC).strftime(CREATED_FORMAT)


def new_nonce() -> str:
    """A fresh 32-character hexadecimal nonce (like the samples' UUID4 without dashes)."""
    return secrets.token_hex(16).upper()


def password_digest(scheme: Scheme | str, app_secret: str, nonce: str, created: str) -> str:
    """The PasswordDigest of ``scheme`` for one nonce and Created."""
    scheme = Scheme(scheme)
    if scheme is Scheme.AKSK:
        raw = hmac.new(app_secret.encode(), (nonce + created).encode(), hashlib.sha256).digest()
    else:
        raw = hashlib.sha256((nonce + created + app_secret).encode()).digest()
    return base64.b64encode(raw).decode("ascii")


def build_headers(
    app_key: str,
    app_secret: str,
    scheme: Scheme | str = Scheme.AKSK,
    *,
    nonce: str | None = None,
    created: datetime | str | None = None,
) -> dict[str, str]:
    """The ``Authorization`` and token headers that sign one request or push."""
    scheme = Scheme(scheme)
    nonce = nonce or new_nonce()
    if created is None:
        created = datetime.now(UTC)
    created_text = created if isinstance(created, str) else format_created(created)
    digest = password_digest(scheme, app_secret, nonce, created_text)
    return {
        "Authorization": f'{scheme.value} realm="SDP",profile="UsernameToken",type="Appkey"',
        scheme.token_header: (
            f'UsernameToken Username="{app_key}", PasswordDigest="{digest}", '
            f'Nonce="{nonce}", Created="{created_text}"'
        ),
    }


_PAIR_RE = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works on plain dicts too."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def parse_headers(headers: Mapping[str, str]) -> UsernameToken:
    """Parse the header pair; raise :class:`AuthError` with the code of the first fault."""
    authorization = (_header(headers, "Authorization") or "").strip()
    if not authorization:
        raise AuthError(CODE_NO_AUTHORIZATION, "Authorization not contained in the HTTP header.")
    word, _, params_text = authorization.partition(" ")
    try:
        scheme = Scheme(word.upper())
    except ValueError:
        raise AuthError(
            CODE_NO_AUTHORIZATION, "Authorization must start with AKSK or WSSE."
        ) from None
    params = dict(_PAIR_RE.findall(params_text))
    if "realm" not in params:
        raise AuthError(CODE_NO_REALM, "realm not contained in Authorization.")
    if "profile" not in params:
        raise AuthError(CODE_NO_PROFILE, "profile not contained in Authorization.")
    if "type" not in params:
        raise AuthError(CODE_NO_TYPE, "type not contained in Authorization.")
    if params["realm"] != "SDP":
        raise AuthError(CODE_BAD_REALM, "The value of realm in Authorization must be SDP.")
    if params["profile"] != "UsernameToken":
        raise AuthError(
            CODE_BAD_PROFILE, "The value of profile in Authorization must be UsernameToken."
        )
    if params["type"] != "Appkey":
        raise AuthError(CODE_BAD_TYPE, "The value of type in Authorization must be app_key.")

    token_text = (_header(headers, scheme.token_header) or "").strip()
    if not token_text:
        raise AuthError(CODE_NO_TOKEN_HEADER, f"HTTP header not found {scheme.token_header} field.")
    if not token_text.startswith("UsernameToken"):
        raise AuthError(
            CODE_NO_USERNAME_TOKEN, f"UsernameToken not contained in {scheme.token_header}."
        )
    fields = dict(_PAIR_RE.findall(token_text))
    for name, code in (
        ("Username", CODE_NO_USERNAME),
        ("Nonce", CODE_NO_NONCE),
        ("Created", CODE_NO_CREATED),
        ("PasswordDigest", CODE_NO_DIGEST),
    ):
        if not fields.get(name):
            raise AuthError(code, f"{name} not contained in {scheme.token_header}.")
    if not NONCE_RE.fullmatch(fields["Nonce"]):
        raise AuthError(CODE_NO_NONCE, "Nonce must be 1 to 128 letters or digits.")
    return UsernameToken(
        scheme=scheme,
        app_key=fields["Username"],
        nonce=fields["Nonce"],
        created=fields["Created"],
        digest=fields["PasswordDigest"],
    )


def verify_token(
    token: UsernameToken,
    app_secret: str,
    *,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> Verified:
    """Check one parsed token against the application's secret and the verifier's clock."""
    try:
        created = datetime.strptime(token.created, CREATED_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise AuthError(
            CODE_NO_CREATED,
            "Created must look like 2018-02-12T15:30:20Z (UTC, no milliseconds).",
            token.app_key,
        ) from None
    expected = password_digest(token.scheme, app_secret, token.nonce, token.created)
    if not hmac.compare_digest(expected.encode(), token.digest.encode()):
        raise AuthError(CODE_BAD_DIGEST, "Invalid PasswordDigest.", token.app_key)
    verified = Verified(app_key=token.app_key, scheme=token.scheme, created=created)
    now = now or datetime.now(UTC)
    if abs(now - created) > max_skew:
        raise StaleCreated(verified)
    return verified


def verify_headers(
    headers: Mapping[str, str],
    secret_for: Callable[[str], str | None],
    *,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> Verified:
    """Parse and verify in one step; ``secret_for(app_key)`` returns None for an unknown key."""
    token = parse_headers(headers)
    secret = secret_for(token.app_key)
    if secret is None:
        raise AuthError(CODE_UNKNOWN_APP_KEY, "Invalid app_key.", token.app_key)
    return verify_token(token, secret, now=now, max_skew=max_skew)

"""The signed download URL of a recording: who asked (the key), for which recording, until when.

The token is ``django.core.signing.dumps({"r": recording id, "k": key id})`` under its own salt,
timestamped: it works for ``API_RECORDING_URL_SECONDS`` after it was made, for that recording
only, and only while its key is active and still holds ``recordings:read`` and the recording's
application. It carries no number and grants nothing else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

SALT = "recordings.api.audio"


class UrlRefused(Exception):
    """A token that is not this console's, not for this recording, or out of time."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # "url_invalid" or "url_expired"


def token_for(recording_id: int, key_id: int) -> str:
    return signing.dumps({"r": recording_id, "k": key_id}, salt=SALT)


def signed_url(request, recording_id: int, key_id: int) -> tuple[str, datetime]:
    """The absolute signed URL of a recording's audio for this key, and when it stops working."""
    path = reverse("api:recording-audio", args=[recording_id])
    query = urlencode({"token": token_for(recording_id, key_id)})
    expires = timezone.now() + timedelta(seconds=settings.API_RECORDING_URL_SECONDS)
    return request.build_absolute_uri(f"{path}?{query}"), expires


def key_id_of(token: str, recording_id: int) -> int:
    """The id of the key that asked for this URL; raise :class:`UrlRefused`."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.API_RECORDING_URL_SECONDS)
    except signing.SignatureExpired:
        raise UrlRefused("url_expired") from None
    except signing.BadSignature:
        raise UrlRefused("url_invalid") from None
    if not isinstance(payload, dict) or payload.get("r") != recording_id:
        raise UrlRefused("url_invalid")
    key_id = payload.get("k")
    if not isinstance(key_id, int):
        raise UrlRefused("url_invalid")
    return key_id

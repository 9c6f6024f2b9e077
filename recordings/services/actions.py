"""What people do to recordings: retry now, and play or download one (audited once per playback)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from console import audit
from console.choices import AuditAction
from recordings.choices import CLAIMABLE_STATES
from recordings.models import Recording

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# People's actions
# ---------------------------------------------------------------------------------------------


def retry_now(recordings: Iterable[Recording], *, request=None) -> list[int]:
    """Queue failed or pending recordings again at once (before their deadline); audited."""
    now = timezone.now()
    wanted = [r for r in recordings if r.state in CLAIMABLE_STATES and r.deadline > now]
    ids = [r.pk for r in wanted]
    Recording.objects.filter(pk__in=ids, state__in=CLAIMABLE_STATES).update(next_attempt_at=now)
    for recording in wanted:
        audit.record(AuditAction.REPROCESS, recording, request=request)
    return ids


def record_playback(recording: Recording, request, *, download: bool, user=None) -> bool:
    """One audit row per listening or download, not one per request; True when a row was written.

    A player seeks with ranged requests, and a download manager resumes and splits a download
    into ranges: the first request of a user for a recording (per kind, play or download) within
    ``RECORDINGS_PLAY_AUDIT_WINDOW_SECONDS`` writes the row, the ranged requests that follow join
    it. A request for the whole file is a complete copy and always writes a row. A HEAD sends no
    audio and writes none. When the cache cannot be asked, the row is written (an audit trail
    errs on the side of too many rows, never too few). ``user``: who listens, if not the
    request's user (an API key's signed download URL: ``api:<key name>``).
    """
    if request.method == "HEAD":
        return False
    kind = "download" if download else "play"
    user = user if user is not None else request.user
    api_key = getattr(user, "key", None)  # an API key (console.api.authentication.ApiPrincipal)
    who = f"key-{api_key.pk}" if api_key is not None else user.pk
    key = f"recordings:{kind}:{who}:{recording.pk}"
    window = settings.RECORDINGS_PLAY_AUDIT_WINDOW_SECONDS
    try:
        if "Range" in request.headers:
            if not cache.add(key, 1, window):
                return False
        else:
            cache.set(key, 1, window)
    except Exception:
        logger.warning("the cache could not be asked; auditing this %s request", kind)
    audit.record(
        AuditAction.DOWNLOAD if download else AuditAction.PLAY,
        recording,
        user=user,
        request=request,
        details={"call_record": recording.call_record_id, "range": request.headers.get("Range")},
    )
    return True

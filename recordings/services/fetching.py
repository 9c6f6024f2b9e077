"""Fetching one recording: claim it, ask the platform for its address, stream it into the spool
(resuming with Range), check it is a WAV as long as the call, store it while still holding the
claim."""

from __future__ import annotations

import contextlib
import logging
import secrets
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language

from console import webhooks
from console.gateway import client_for
from console.models import Application
from console.numbers import mask_text
from console.sql import Added, CompiledQuery, update_where
from privatenumber.client import PrivateNumberClient
from privatenumber.errors import PlatformError
from recordings import events, storage, wav
from recordings.choices import CLAIMABLE_STATES, FailureCode, RecordingState
from recordings.download import (
    Downloaded,
    Downloader,
    DownloadFailed,
    UrlPolicy,
    pooled_session,
)
from recordings.models import Recording

logger = logging.getLogger(__name__)


# The platform's answers for a recording it does not have (spec §5.5).
MISSING_CODES = frozenset({"1012007", "1016001"})
# A file may be this much larger than the audio of the call (header, and some slack).
_SIZE_SLACK_BYTES = 1024 * 1024
# The largest plausible byte rate of a call recording (16-bit stereo at 48 kHz).
_MAX_BYTE_RATE = 48000 * 2 * 2


class RecordingTransientError(Exception):
    """A fetch that may succeed later; the recording was released (back to ``pending``)."""

    def __init__(self, recording_id: int, code: str, message: str) -> None:
        super().__init__(f"recording {recording_id}: {code}: {message}")
        self.recording_id = recording_id
        self.code = code
        self.message = message

    def __reduce__(self):
        # Celery pickles the exception between the retries and into on_failure.
        return (type(self), (self.recording_id, self.code, self.message))


class LeaseLost(Exception):
    """Another worker took the recording over (our lease ran out); this attempt stops."""


# ---------------------------------------------------------------------------------------------
# Fetching one recording
# ---------------------------------------------------------------------------------------------


def platform_client(application: Application) -> PrivateNumberClient:
    """The platform client of ``application``; every call it makes leaves a PlatformCall row."""
    return client_for(application)


def fetch(recording_id: int) -> str | None:
    """Fetch and store one recording if it can be claimed; returns the state it ended in.

    Returns None when the recording was not claimed (stored already, held by another worker,
    past its deadline, gone). Raises :class:`RecordingTransientError` after releasing the claim
    when a later attempt may succeed (the task retries it with backoff).
    """
    now = timezone.now()
    token = secrets.token_hex(16)
    claimed = _claim(recording_id, token, now)
    if claimed != 1:
        expire_overdue(now=now, ids=[recording_id])
        return None
    recording = _LOAD.first(recording_id)
    if recording is None:  # deleted right after its claim (its call's history was dropped)
        return None
    _discard_staged(recording)
    try:
        return _fetch_claimed(recording, token)
    except LeaseLost:
        logger.warning("%s: another worker took it over; this attempt stops", recording)
        return None


# A fetch's own statements (the claim, the load, the lease's renewals and staging, the stored
# mark, a failure written under the claim) are prepared, not compiled by the ORM for every
# recording (issue 19: compiling them cost several times what PostgreSQL spends answering them).
# They run in a worker, outside any team's scope, where ``Recording.objects`` is every recording
# too.
_CLAIM_WHERE = (
    "id = %s AND deadline > %s AND (state IN ({claimable}) OR (state = %s AND lease_until < %s))"
).format(claimable=", ".join(["%s"] * len(CLAIMABLE_STATES)))
_MINE = "id = %s AND claim_token = %s AND state = %s"
_LOAD = CompiledQuery(
    lambda pk: Recording._base_manager.select_related("application").filter(pk=pk).order_by()[:1],
    2_087_654_321,
)


def _claim(recording_id: int, token: str, now: datetime) -> int:
    """Take the recording (claimable, or fetching under a lease run out, and not past its
    deadline) with a lease; 1 if taken, else 0."""
    at = connection.ops.adapt_datetimefield_value(now)
    return update_where(
        Recording,
        {
            "state": RecordingState.FETCHING,
            "claim_token": token,
            "lease_until": now + timedelta(seconds=settings.RECORDINGS_LEASE_SECONDS),
            "attempts": Added(1),
            "last_attempt_at": now,
        },
        _CLAIM_WHERE,
        [recording_id, at, *CLAIMABLE_STATES, RecordingState.FETCHING, at],
    )


def _update_mine(recording_id: int, token: str, values: dict) -> int:
    """``values`` written if this claim still holds the recording; the rows updated (0 or 1)."""
    return update_where(Recording, values, _MINE, [recording_id, token, RecordingState.FETCHING])


def _fetch_claimed(recording: Recording, token: str) -> str:
    lease = _Lease(recording.pk, token)
    try:
        with _spool(recording) as (path, handle):
            downloaded = _download(recording, handle, lease)
            handle.flush()
            info = _check(recording, handle, downloaded)
            name = storage.file_name(
                recording.application_id, recording.pk, recording.call_started_at
            )
            lease.stage(name)
            try:
                saved = storage.save(name, path)
            except OSError as error:
                raise _StorageFailed(str(error)) from error
            return _finish(recording, token, saved, downloaded, info)
    except PlatformError as error:
        if not error.permanent:
            _release(recording, token, error.code, str(error))
        if error.code in MISSING_CODES:
            return _gone(recording, token, error.code, str(error))
        return _fail(recording, token, error.code, str(error))
    except DownloadFailed as failure:
        if failure.transient:
            _release(recording, token, failure.code, failure.message)
        if failure.gone:
            return _gone(recording, token, failure.code, failure.message)
        return _fail(recording, token, failure.code, failure.message)
    except wav.InvalidRecording as invalid:
        return _fail(recording, token, invalid.code, invalid.message)
    except _StorageFailed as failure:
        _release(recording, token, FailureCode.STORAGE, str(failure))
    except requests.RequestException as error:
        _release(recording, token, "CONNECTION", f"{type(error).__name__} while downloading")
    except SoftTimeLimitExceeded:
        _release(recording, token, "TIMEOUT", "the task ran out of time; it will resume later")
    raise AssertionError("unreachable")  # pragma: no cover - every branch returns or raises


class _StorageFailed(Exception):
    pass


class _Lease:
    """Renews the claim while the file streams in; raises LeaseLost if it was taken over."""

    def __init__(self, recording_id: int, token: str) -> None:
        self.recording_id = recording_id
        self.token = token
        self.seconds = settings.RECORDINGS_LEASE_SECONDS
        self.renewed = time.monotonic()

    def _update(self, values: dict) -> None:
        if _update_mine(self.recording_id, self.token, values) != 1:
            raise LeaseLost

    def renew(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.renewed < self.seconds / 5:
            return
        self._update({"lease_until": timezone.now() + timedelta(seconds=self.seconds)})
        self.renewed = time.monotonic()

    def progress(self, _bytes: int) -> None:
        self.renew()

    def stage(self, name: str) -> None:
        until = timezone.now() + timedelta(seconds=self.seconds)
        self._update({"staged_name": name, "lease_until": until})


@contextlib.contextmanager
def _spool(recording: Recording) -> Iterator[tuple[Path, IO[bytes]]]:
    """A fresh file in the spool directory, always removed afterwards (stored files are moved
    away first)."""
    spool = Path(settings.RECORDINGS_SPOOL_DIR)
    spool.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed and removed below
        prefix=f"{recording.pk}-", suffix=".part", dir=spool, delete=False
    )
    path = Path(handle.name)
    try:
        yield path, handle
    finally:
        handle.close()
        path.unlink(missing_ok=True)


def _download(recording: Recording, handle: IO[bytes], lease: _Lease) -> Downloaded:
    with contextlib.ExitStack() as stack:
        if recording.record_domain:
            client = stack.enter_context(platform_client(recording.application))

            def address(refresh: bool) -> str | None:
                # Still ours before the platform is asked again (a refresh comes after a long
                # download); the first address follows the claim by milliseconds, whose lease is
                # then renewed only if a fifth of it has passed.
                lease.renew(force=refresh)
                return client.recording_download_url(recording.file_name, recording.record_domain)

        else:

            def address(refresh: bool) -> str | None:
                return None if refresh else recording.download_url

        policy = download_policy(recording.application)
        downloader = Downloader(
            # The process's kept-alive session for this policy (issue 19), not one per recording.
            pooled_session(policy),
            timeout=(
                settings.RECORDINGS_DOWNLOAD_CONNECT_TIMEOUT,
                settings.RECORDINGS_DOWNLOAD_READ_TIMEOUT,
            ),
            attempts=settings.RECORDINGS_RESUME_ATTEMPTS,
            max_bytes=max_bytes(recording.call_seconds),
            on_progress=lease.progress,
            policy=policy,
        )
        return downloader.fetch(address, handle)


def download_policy(application: Application) -> UrlPolicy:
    """Recordings come from the platform itself (the application's base URL) or from the hosts
    of ``RECORDINGS_DOWNLOAD_HOSTS``, at public addresses only; a CDR's
    ``recordFileDownloadUrl`` and every redirect included."""
    return UrlPolicy.for_platform([application.base_url], settings.RECORDINGS_DOWNLOAD_HOSTS)


def max_bytes(call_seconds: int | None) -> int | None:
    """The largest file a call of this length can plausibly produce (None: no limit known)."""
    if call_seconds is None:
        return None
    tolerance = wav.tolerance_for(
        call_seconds,
        settings.RECORDINGS_LENGTH_TOLERANCE_SECONDS,
        settings.RECORDINGS_LENGTH_TOLERANCE_RATIO,
    )
    return int((call_seconds + tolerance) * _MAX_BYTE_RATE) + _SIZE_SLACK_BYTES


def _check(recording: Recording, handle: IO[bytes], downloaded: Downloaded) -> wav.WavInfo:
    info = wav.inspect(handle, downloaded.size)
    tolerance = wav.tolerance_for(
        recording.call_seconds,
        settings.RECORDINGS_LENGTH_TOLERANCE_SECONDS,
        settings.RECORDINGS_LENGTH_TOLERANCE_RATIO,
    )
    wav.check_length(info, recording.call_seconds, tolerance)
    return info


def _finish(
    recording: Recording, token: str, saved: str, downloaded: Downloaded, info: wav.WavInfo
) -> str:
    """Mark it stored if this claim still holds it; otherwise remove the file just stored."""
    channels = "mono" if info.channels == 1 else f"{info.channels} channels"
    fields = {
        "state": RecordingState.STORED,
        "file": saved,
        "staged_name": "",
        "size": downloaded.size,
        "sha256": downloaded.sha256,
        "duration": round(info.seconds, 3),
        "audio_format": (
            f"{info.format_name} {info.sample_rate} Hz {channels} {info.bits_per_sample}-bit"
        )[:64],
        "stored_at": timezone.now(),
        "claim_token": "",
        "lease_until": None,
        "next_attempt_at": None,
        "last_error_code": "",
        "last_error": "",
    }
    if webhooks.has_subscribers(recording.application_id):
        with transaction.atomic():  # stored and announced together (console.webhooks)
            updated = _update_mine(recording.pk, token, fields)
            if updated == 1:
                events.announce(recording.pk, "recording.stored", subscribed=True)
    else:
        # Nobody to announce it to: one statement, without the BEGIN and COMMIT round trips of a
        # transaction (issue 19). A subscription made meanwhile is as if made a moment after the
        # recording was stored, which it could always be: in the transaction, one made after
        # announce()'s test and before the COMMIT missed the event too.
        updated = _update_mine(recording.pk, token, fields)
    if updated != 1:
        storage.delete(saved)
        raise LeaseLost
    logger.info(
        "%s stored: %d bytes, %.1f s, sha256 %s (%d requests, %d resumed)",
        recording,
        downloaded.size,
        info.seconds,
        downloaded.sha256,
        downloaded.requests,
        downloaded.resumed,
    )
    return RecordingState.STORED


def _release(recording: Recording, token: str, code: str, message: str) -> None:
    """Give the claim back after a transient failure and raise for the task to retry."""
    _update_mine(
        recording.pk,
        token,
        {
            "state": RecordingState.PENDING,
            "claim_token": "",
            "lease_until": None,
            "last_error_code": code[:32],
            "last_error": _plain(message),
            # Beat leaves it to the task's retries meanwhile.
            "next_attempt_at": _later(settings.RECORDINGS_REQUEUE_GRACE_SECONDS),
        },
    )
    logger.info("%s: transient failure %s: %s", recording, code, message)
    raise RecordingTransientError(recording.pk, code, message)


def _fail(recording: Recording, token: str, code: str, message: str) -> str:
    """A refusal or a bad file: ``failed``, tried again by beat until the deadline."""
    _update_mine(
        recording.pk,
        token,
        {
            "state": RecordingState.FAILED,
            "claim_token": "",
            "lease_until": None,
            "staged_name": "",
            "last_error_code": code[:32],
            "last_error": _plain(message),
            "next_attempt_at": _later(settings.RECORDINGS_FAILED_RETRY_SECONDS),
        },
    )
    logger.warning("%s failed: %s: %s", recording, code, message)
    return RecordingState.FAILED


def _gone(recording: Recording, token: str, code: str, message: str) -> str:
    """The platform does not have the file: expired after the deadline, none for a very short
    call, else a failure (wrong name, arrears …) that beat tries again."""
    now = timezone.now()
    if now >= recording.deadline:
        state = RecordingState.EXPIRED
    elif (
        recording.call_seconds is not None
        and recording.call_seconds <= settings.RECORDINGS_MIN_SECONDS + 1
    ):
        state = RecordingState.NONE_EXPECTED
        code = FailureCode.TOO_SHORT
    else:
        return _fail(recording, token, code, message)
    with transaction.atomic():
        lost = _update_mine(
            recording.pk,
            token,
            {
                "state": state,
                "claim_token": "",
                "lease_until": None,
                "staged_name": "",
                "last_error_code": code[:32],
                "last_error": _plain(message),
                "next_attempt_at": None,
            },
        )
        if lost and state == RecordingState.EXPIRED:
            events.announce(recording.pk, "recording.lost")
    logger.warning("%s: %s (%s)", recording, state, message)
    return state


def _discard_staged(recording: Recording) -> None:
    """Remove the file a previous claim was storing when it died (it was never marked)."""
    if recording.staged_name and recording.staged_name != recording.file.name:
        storage.delete(recording.staged_name)
        Recording.objects.filter(pk=recording.pk, staged_name=recording.staged_name).update(
            staged_name=""
        )
        logger.warning(
            "%s: removed %s, left by a worker that died", recording, recording.staged_name
        )


def give_up(recording_id: int) -> None:
    """The task's retries are used up: ``failed`` (beat tries again later), if still pending."""
    Recording.objects.filter(pk=recording_id, state=RecordingState.PENDING).update(
        state=RecordingState.FAILED,
        next_attempt_at=_later(settings.RECORDINGS_FAILED_RETRY_SECONDS),
    )


def _later(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)


def _plain(message: str) -> str:
    return mask_text(message)[:2000]


def explain(code: str) -> str:
    """A failure code in plain words, in the active language."""
    if not code:
        return ""
    if code in FailureCode.values:
        return str(FailureCode(code).label)
    error = PlatformError(code, "")
    return error.meaning_en if (get_language() or "").startswith("en") else error.meaning_zh


def expire_overdue(*, now: datetime | None = None, ids: list[int] | None = None) -> int:
    """Mark ``expired`` what was not stored by its deadline (a live claim is left to finish)."""
    now = now or timezone.now()
    overdue = Recording.objects.filter(deadline__lte=now).filter(
        Q(state__in=CLAIMABLE_STATES) | Q(state=RecordingState.FETCHING, lease_until__lt=now)
    )
    if ids is not None:
        overdue = overdue.filter(pk__in=ids)
    with transaction.atomic():
        lost: list[int] = []
        if webhooks.has_subscribers():
            # Announced in this transaction: lock the rows first, so the set is exactly these.
            lost = list(overdue.select_for_update().values_list("pk", flat=True))
            overdue = overdue.filter(pk__in=lost)
        never_tried = overdue.filter(last_error_code="").update(
            state=RecordingState.EXPIRED,
            last_error_code=FailureCode.DEADLINE,
            claim_token="",
            lease_until=None,
            next_attempt_at=None,
        )
        tried = overdue.update(
            state=RecordingState.EXPIRED, claim_token="", lease_until=None, next_attempt_at=None
        )
        for recording_id in lost:
            events.announce(recording_id, "recording.lost")
    count = never_tried + tried
    if count:
        logger.warning("%d recording(s) expired on the platform before they were stored", count)
    return count

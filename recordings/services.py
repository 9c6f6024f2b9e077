"""The verbs of recordings: create them from CDRs, fetch them, re-queue, expire, alert, purge.

Life of a recording (docs/recordings.md):

* :func:`create_for_call_records` (the ``cdrs_ingested`` receiver) adds one row per recorded CDR,
  with its deadline: the CDR push + ``RECORDING_RETENTION_SECONDS`` (7 days).
* :func:`fetch` claims the row (a conditional UPDATE; it acts only if that returned 1), asks the
  platform for the download address (the 301 ``Location``), streams the file into the spool
  directory (resuming with HTTP Range), checks it is a WAV as long as the call, stores it and
  marks it ``stored`` only if it still holds the claim.
* Beat: :func:`requeue_due` (earliest deadline first), :func:`expire_overdue`,
  :func:`raise_alerts` (once per recording) and :func:`purge_stored` (local retention).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext, ngettext

from console import audit
from console.choices import AuditAction
from console.gateway import client_for
from console.models import Application
from console.numbers import mask_text
from privatenumber.client import PrivateNumberClient
from privatenumber.errors import PlatformError
from recordings import storage, wav
from recordings.choices import CLAIMABLE_STATES, OUTSTANDING_STATES, FailureCode, RecordingState
from recordings.download import Downloaded, Downloader, DownloadFailed, UrlPolicy
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
# Creation, from the CDRs billing ingested
# ---------------------------------------------------------------------------------------------


def create_for_call_records(
    application: Application, call_records: Iterable[Any], *, now: datetime | None = None
) -> list[Recording]:
    """One Recording per recorded CDR (``recordFlag`` 1); returns those created.

    Runs inside billing's ingest transaction. Calls under ``RECORDINGS_MIN_SECONDS`` and CDRs
    that name no file get a row in ``none_expected`` (so the call page can say why there is no
    recording); the others start ``pending``.
    """
    now = now or timezone.now()
    rows = [
        _new_recording(application, record, now)
        for record in call_records
        if record.record_flag == 1
    ]
    if not rows:
        return []
    return Recording.objects.bulk_create(rows)


def _new_recording(application: Application, record: Any, now: datetime) -> Recording:
    pushed = record.received_at or now
    seconds = expected_seconds(record)
    recording = Recording(
        call_record=record,
        application=application,
        file_name=record.record_object_name or "",
        record_domain=record.record_domain or "",
        bucket_name=record.record_bucket_name or "",
        download_url="" if record.record_domain else (record.record_file_download_url or ""),
        call_started_at=record.started_at,
        call_seconds=seconds,
        pushed_at=pushed,
        deadline=deadline_for(pushed, record.call_end_time),
        state=RecordingState.PENDING,
        next_attempt_at=now + timedelta(seconds=settings.RECORDINGS_REQUEUE_GRACE_SECONDS),
    )
    if not (recording.file_name and recording.record_domain) and not recording.download_url:
        recording.state = RecordingState.NONE_EXPECTED
        recording.last_error_code = FailureCode.NO_FILE
        recording.next_attempt_at = None
    elif seconds is not None and seconds < settings.RECORDINGS_MIN_SECONDS:
        recording.state = RecordingState.NONE_EXPECTED
        recording.last_error_code = FailureCode.TOO_SHORT
        recording.next_attempt_at = None
    return recording


def deadline_for(pushed_at: datetime, call_end: datetime | None) -> datetime:
    """When the platform deletes the file: its CDR push + ``RECORDING_RETENTION_SECONDS``.

    The push time is when the CDR reached us, unless the platform had to retry the push: then the
    first push was earlier, by at most ``RECORDING_PUSH_RETRY_WINDOW_SECONDS`` (its retries span
    300 minutes, spec §6.0), and never before the call ended. The earliest possible push is used,
    so the deadline is never later than the platform's.
    """
    pushed = pushed_at
    if call_end is not None and call_end < pushed_at:
        window = timedelta(seconds=settings.RECORDING_PUSH_RETRY_WINDOW_SECONDS)
        pushed = max(call_end, pushed_at - window)
    return pushed + timedelta(seconds=settings.RECORDING_RETENTION_SECONDS)


def expected_seconds(record: Any) -> int | None:
    """How long the recording should last: from the recording's start (else the answer) to the
    end of the call; None when the CDR does not say."""
    end = record.call_end_time
    start = record.record_start_time or record.fwd_answer_time
    if end is None or start is None:
        return None
    return max(0, int((end - start).total_seconds()))


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
    claimed = Recording.objects.filter(
        Q(state__in=CLAIMABLE_STATES) | Q(state=RecordingState.FETCHING, lease_until__lt=now),
        pk=recording_id,
        deadline__gt=now,
    ).update(
        state=RecordingState.FETCHING,
        claim_token=token,
        lease_until=now + timedelta(seconds=settings.RECORDINGS_LEASE_SECONDS),
        attempts=F("attempts") + 1,
        last_attempt_at=now,
    )
    if claimed != 1:
        expire_overdue(now=now, ids=[recording_id])
        return None
    recording = Recording.objects.select_related("application").get(pk=recording_id)
    _discard_staged(recording)
    try:
        return _fetch_claimed(recording, token)
    except LeaseLost:
        logger.warning("%s: another worker took it over; this attempt stops", recording)
        return None


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

    def _mine(self):
        return Recording.objects.filter(
            pk=self.recording_id, claim_token=self.token, state=RecordingState.FETCHING
        )

    def renew(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.renewed < self.seconds / 5:
            return
        until = timezone.now() + timedelta(seconds=self.seconds)
        if self._mine().update(lease_until=until) != 1:
            raise LeaseLost
        self.renewed = time.monotonic()

    def progress(self, _bytes: int) -> None:
        self.renew()

    def stage(self, name: str) -> None:
        until = timezone.now() + timedelta(seconds=self.seconds)
        if self._mine().update(staged_name=name, lease_until=until) != 1:
            raise LeaseLost


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
                lease.renew(force=True)
                return client.recording_download_url(recording.file_name, recording.record_domain)

        else:

            def address(refresh: bool) -> str | None:
                return None if refresh else recording.download_url

        session = stack.enter_context(requests.Session())
        session.trust_env = False
        downloader = Downloader(
            session,
            timeout=(
                settings.RECORDINGS_DOWNLOAD_CONNECT_TIMEOUT,
                settings.RECORDINGS_DOWNLOAD_READ_TIMEOUT,
            ),
            attempts=settings.RECORDINGS_RESUME_ATTEMPTS,
            max_bytes=max_bytes(recording.call_seconds),
            on_progress=lease.progress,
            policy=download_policy(recording.application),
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


def _mine(recording: Recording, token: str):
    return Recording.objects.filter(
        pk=recording.pk, claim_token=token, state=RecordingState.FETCHING
    )


def _finish(
    recording: Recording, token: str, saved: str, downloaded: Downloaded, info: wav.WavInfo
) -> str:
    """Mark it stored if this claim still holds it; otherwise remove the file just stored."""
    channels = "mono" if info.channels == 1 else f"{info.channels} channels"
    updated = _mine(recording, token).update(
        state=RecordingState.STORED,
        file=saved,
        staged_name="",
        size=downloaded.size,
        sha256=downloaded.sha256,
        duration=round(info.seconds, 3),
        audio_format=(
            f"{info.format_name} {info.sample_rate} Hz {channels} {info.bits_per_sample}-bit"
        )[:64],
        stored_at=timezone.now(),
        claim_token="",
        lease_until=None,
        next_attempt_at=None,
        last_error_code="",
        last_error="",
    )
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
    _mine(recording, token).update(
        state=RecordingState.PENDING,
        claim_token="",
        lease_until=None,
        last_error_code=code[:32],
        last_error=_plain(message),
        # Beat leaves it to the task's retries meanwhile.
        next_attempt_at=_later(settings.RECORDINGS_REQUEUE_GRACE_SECONDS),
    )
    logger.info("%s: transient failure %s: %s", recording, code, message)
    raise RecordingTransientError(recording.pk, code, message)


def _fail(recording: Recording, token: str, code: str, message: str) -> str:
    """A refusal or a bad file: ``failed``, tried again by beat until the deadline."""
    _mine(recording, token).update(
        state=RecordingState.FAILED,
        claim_token="",
        lease_until=None,
        staged_name="",
        last_error_code=code[:32],
        last_error=_plain(message),
        next_attempt_at=_later(settings.RECORDINGS_FAILED_RETRY_SECONDS),
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
    _mine(recording, token).update(
        state=state,
        claim_token="",
        lease_until=None,
        staged_name="",
        last_error_code=code[:32],
        last_error=_plain(message),
        next_attempt_at=None,
    )
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


# ---------------------------------------------------------------------------------------------
# Beat: re-queue, expire, alert, purge
# ---------------------------------------------------------------------------------------------


def requeue_due(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Ids of the recordings to queue now, earliest deadline first (after expiring the overdue).

    Due: ``pending``/``failed`` whose next attempt has come, and ``fetching`` whose claim has run
    out. Each one queued is left alone by beat for ``RECORDINGS_REQUEUE_GRACE_SECONDS``, so a
    long queue is not filled twice.
    """
    now = now or timezone.now()
    limit = limit or settings.RECORDINGS_REQUEUE_BATCH
    expire_overdue(now=now)
    due = (
        Recording.objects.filter(deadline__gt=now, state__in=OUTSTANDING_STATES)
        .filter(
            Q(state__in=CLAIMABLE_STATES, next_attempt_at__isnull=True)
            | Q(state__in=CLAIMABLE_STATES, next_attempt_at__lte=now)
            | Q(state=RecordingState.FETCHING, lease_until__lt=now)
        )
        .order_by("deadline", "id")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(due)
    if ids:
        Recording.objects.filter(pk__in=ids).update(
            next_attempt_at=now + timedelta(seconds=settings.RECORDINGS_REQUEUE_GRACE_SECONDS)
        )
    return ids


def expire_overdue(*, now: datetime | None = None, ids: list[int] | None = None) -> int:
    """Mark ``expired`` what was not stored by its deadline (a live claim is left to finish)."""
    now = now or timezone.now()
    overdue = Recording.objects.filter(deadline__lte=now).filter(
        Q(state__in=CLAIMABLE_STATES) | Q(state=RecordingState.FETCHING, lease_until__lt=now)
    )
    if ids is not None:
        overdue = overdue.filter(pk__in=ids)
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
    count = never_tried + tried
    if count:
        logger.warning("%d recording(s) expired on the platform before they were stored", count)
    return count


@dataclass(frozen=True)
class Alert:
    """Recordings that have just come within the alert window without being stored."""

    recordings: list[Recording]

    def subject(self) -> str:
        count = len(self.recordings)
        return ngettext(
            "%(count)d recording may be lost: not stored before its deadline is near",
            "%(count)d recordings may be lost: not stored before their deadlines are near",
            count,
        ) % {"count": count}

    def body(self) -> str:
        lines = [self.subject(), ""]
        for recording in self.recordings[:200]:
            lines.append(
                gettext(
                    "#%(id)s %(application)s, deadline %(deadline)s, %(state)s, "
                    "%(attempts)s attempts: %(error)s"
                )
                % {
                    "id": recording.pk,
                    "application": recording.application.name,
                    "deadline": timezone.localtime(recording.deadline).strftime("%Y-%m-%d %H:%M"),
                    "state": recording.get_state_display(),
                    "attempts": recording.attempts,
                    "error": explain(recording.last_error_code) or "—",
                }
            )
        if len(self.recordings) > 200:
            lines.append(gettext("… and %(more)d more.") % {"more": len(self.recordings) - 200})
        lines += ["", settings.CONSOLE_BASE_URL.rstrip("/") + reverse("recordings:at_risk")]
        return "\n".join(lines)

    def payload(self) -> dict[str, Any]:
        return {
            "event": "recordings_at_risk",
            "count": len(self.recordings),
            "recordings": [
                {
                    "id": recording.pk,
                    "application": recording.application.name,
                    "deadline": recording.deadline.isoformat(),
                    "state": recording.state,
                    "attempts": recording.attempts,
                    "last_error_code": recording.last_error_code,
                }
                for recording in self.recordings
            ],
            "url": settings.CONSOLE_BASE_URL.rstrip("/") + reverse("recordings:at_risk"),
        }


def raise_alerts(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Alert once for every recording not stored ``RECORDING_ALERT_BEFORE_SECONDS`` before its
    deadline (or lost without an alert); returns their ids.

    The rows are claimed under ``SELECT … FOR UPDATE SKIP LOCKED`` and marked ``alerted_at``
    before anything is sent, so two beat runs never alert for the same recording. The alert is
    the administrators' banner (it reads ``alerted_at``), one log line per recording, and when
    configured one e-mail and one webhook POST for the whole batch.
    """
    now = now or timezone.now()
    horizon = now + timedelta(seconds=settings.RECORDING_ALERT_BEFORE_SECONDS)
    with transaction.atomic():
        ids = list(
            Recording.objects.select_for_update(skip_locked=True)
            .filter(alerted_at__isnull=True, deadline__lte=horizon)
            .filter(state__in=[*OUTSTANDING_STATES, RecordingState.EXPIRED])
            .order_by("deadline", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Recording.objects.filter(pk__in=ids).update(alerted_at=now)
    if not ids:
        return []
    cache.delete(BANNER_CACHE_KEY)  # the banner shows them at once
    recordings = list(
        Recording.objects.filter(pk__in=ids).select_related("application").order_by("deadline")
    )
    for recording in recordings:
        logger.warning(
            "ALERT %s of application %s is not stored; the platform deletes it at %s "
            "(state %s, %d attempts, last error %s)",
            recording,
            recording.application_id,
            recording.deadline.isoformat(),
            recording.state,
            recording.attempts,
            recording.last_error_code or "none",
        )
    with translation.override(settings.LANGUAGE_CODE):
        alert = Alert(recordings)
        _send_mail(alert)
        _post_webhook(alert)
    return ids


def _send_mail(alert: Alert) -> None:
    if not settings.RECORDING_ALERT_EMAILS:
        return
    try:
        send_mail(alert.subject(), alert.body(), None, settings.RECORDING_ALERT_EMAILS)
    except Exception:
        logger.exception("the recordings alert e-mail could not be sent")


def _post_webhook(alert: Alert) -> None:
    if not settings.RECORDING_ALERT_WEBHOOK:
        return
    try:
        response = requests.post(
            settings.RECORDING_ALERT_WEBHOOK,
            json=alert.payload(),
            timeout=settings.RECORDING_ALERT_WEBHOOK_TIMEOUT,
        )
        response.raise_for_status()
    except requests.RequestException as error:
        logger.error("the recordings alert webhook failed: %s", type(error).__name__)


def at_risk(*, now: datetime | None = None):
    """Recordings not stored whose deadline is within the alert horizon, earliest first."""
    now = now or timezone.now()
    horizon = now + timedelta(seconds=settings.RECORDING_ALERT_BEFORE_SECONDS)
    return (
        Recording.objects.select_related("application", "call_record")
        .filter(state__in=OUTSTANDING_STATES, deadline__lte=horizon)
        .order_by("deadline", "id")
    )


def at_risk_count() -> int:
    """Recordings alerted about and still not stored (the administrators' banner)."""
    return Recording.objects.filter(alerted_at__isnull=False, state__in=OUTSTANDING_STATES).count()


# The banner on every administrator's page reads the count through the cache for this long;
# :func:`raise_alerts` clears it so that new alerts show at once.
BANNER_CACHE_KEY = "recordings:at-risk-count"
BANNER_CACHE_SECONDS = 30


def banner_count() -> int:
    """:func:`at_risk_count`, cached for the banner (``recordings_alert_banner``)."""
    count = cache.get(BANNER_CACHE_KEY)
    if count is None:
        count = at_risk_count()
        cache.set(BANNER_CACHE_KEY, count, BANNER_CACHE_SECONDS)
    return count


def purge_stored(*, now: datetime | None = None, batch: int = 500) -> list[int]:
    """Delete stored copies older than ``RECORDINGS_LOCAL_RETENTION_DAYS`` (0: never).

    Batch by batch, each under row locks: the files are deleted, the rows marked ``deleted``,
    and one audit row per batch lists the recording ids.
    """
    days = settings.RECORDINGS_LOCAL_RETENTION_DAYS
    if days <= 0:
        return []
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    purged: list[int] = []
    while True:
        with transaction.atomic():
            rows = list(
                Recording.objects.select_for_update(skip_locked=True)
                .filter(state=RecordingState.STORED, stored_at__lte=cutoff)
                .order_by("stored_at", "id")
                .values_list("pk", "file")[:batch]
            )
            if not rows:
                break
            for _pk, name in rows:
                storage.delete(name)
            ids = [pk for pk, _name in rows]
            Recording.objects.filter(pk__in=ids).update(
                state=RecordingState.DELETED, file="", deleted_at=now
            )
            audit.record(
                AuditAction.DELETE,
                None,
                details={
                    "what": "recordings",
                    "reason": "retention",
                    "retention_days": days,
                    "recordings": ids,
                },
            )
        purged.extend(ids)
        logger.info("deleted %d stored recording(s) older than %d days", len(ids), days)
        if len(rows) < batch:
            break
    return purged


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


def record_playback(recording: Recording, request, *, download: bool) -> bool:
    """One audit row per listening or download, not one per request; True when a row was written.

    A player seeks with ranged requests, and a download manager resumes and splits a download
    into ranges: the first request of a user for a recording (per kind, play or download) within
    ``RECORDINGS_PLAY_AUDIT_WINDOW_SECONDS`` writes the row, the ranged requests that follow join
    it. A request for the whole file is a complete copy and always writes a row. A HEAD sends no
    audio and writes none. When the cache cannot be asked, the row is written (an audit trail
    errs on the side of too many rows, never too few).
    """
    if request.method == "HEAD":
        return False
    kind = "download" if download else "play"
    key = f"recordings:{kind}:{request.user.pk}:{recording.pk}"
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
        request=request,
        details={"call_record": recording.call_record_id, "range": request.headers.get("Range")},
    )
    return True

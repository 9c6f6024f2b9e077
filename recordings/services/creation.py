"""Recordings are created from the CDRs billing ingested, each with the deadline by which it
must be fetched (the platform keeps a recording for 7 days)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from console.models import Application
from recordings.choices import FailureCode, RecordingState
from recordings.models import Recording

logger = logging.getLogger(__name__)


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

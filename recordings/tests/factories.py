"""Recordings for tests that need rows, not the platform (CDRs through billing's real ingest)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from billing import services as billing_services
from billing.models import CallRecord
from billing.tests.factories import fee, platform_time
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo
from recordings import storage
from recordings.choices import RecordingState
from recordings.models import Recording
from simulator.recordings import stream

CALLER = "+8613912345678"
CALLEE = "+8613887654321"
X = "+8617012340022"


def make_recording(application=None, *, talk: int = 30, **fields: Any) -> Recording:
    """A recorded call's Recording (pending unless ``fields`` say otherwise)."""
    application = application or ApplicationFactory()
    ended = timezone.now() - timedelta(minutes=1)
    answered = ended - timedelta(seconds=talk)
    body = fee(
        application,
        started=answered - timedelta(seconds=5),
        answered=answered,
        talk=talk,
        callerNum=CALLER,
        fwdDstNum=CALLEE,
        bindNum=X,
        calleeNum=X,
        fwdDisplayNum=X,
        recordFlag=1,
        recordStartTime=platform_time(answered),
        recordObjectName=f"{answered:%Y%m%d%H%M%S}-{talk}.wav",
        recordBucketName="bucket",
        recordDomain="record.example",
    )
    with transaction.atomic():
        billing_services.ingest_cdrs(application, [FeeInfo.model_validate(body)])
    record = CallRecord.objects.get(application=application, session_id=body["sessionId"])
    recording = Recording.objects.get(call_record=record)
    if fields:
        Recording.objects.filter(pk=recording.pk).update(**fields)
        recording.refresh_from_db()
    return recording


def make_stored_recording(application=None, *, talk: int = 30, **fields: Any) -> Recording:
    """A Recording in ``stored`` state with a real WAV file (the simulator's audio) in storage."""
    recording = make_recording(application, talk=talk)
    data = b"".join(stream(f"seed-{recording.pk}", talk))
    name = storage.recordings_storage().save(
        storage.file_name(recording.application_id, recording.pk, recording.call_started_at),
        ContentFile(data),
    )
    import hashlib

    values = {
        "state": RecordingState.STORED,
        "file": name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "duration": float(talk),
        "audio_format": "PCM 8000 Hz mono 16-bit",
        "stored_at": timezone.now(),
        "next_attempt_at": None,
        **fields,
    }
    Recording.objects.filter(pk=recording.pk).update(**values)
    recording.refresh_from_db()
    recording.data = data  # the exact bytes, for tests to compare with
    return recording

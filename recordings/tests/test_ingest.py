"""Recorded CDRs become Recording rows, inside billing's ingest transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from billing import services as billing_services
from billing.tests.factories import fee, platform_time
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo
from recordings import tasks
from recordings.choices import RecordingState
from recordings.models import Recording
from recordings.services import deadline_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def ingest(application, *bodies, now=None):
    with transaction.atomic():
        billing_services.ingest_cdrs(
            application, [FeeInfo.model_validate(body) for body in bodies], now=now
        )


def recorded_fee(application, *, talk=60, ended=None, **extra):
    ended = ended or timezone.now()
    answered = ended - timedelta(seconds=talk)
    return fee(
        application,
        started=answered - timedelta(seconds=5),
        answered=answered,
        talk=talk,
        recordFlag=1,
        recordStartTime=platform_time(answered),
        recordObjectName=f"{answered:%Y%m%d%H%M%S}-abc{talk}.wav",
        recordBucketName="bucket",
        recordDomain="record.example",
        **extra,
    )


def test_a_recorded_cdr_gets_a_pending_recording_due_seven_days_after_the_push(
    django_capture_on_commit_callbacks, settings
):
    # given
    application = ApplicationFactory()
    now = timezone.now().replace(microsecond=0)
    body = recorded_fee(application, talk=75, ended=now)
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(application, body, now=now)
    # then
    recording = Recording.objects.select_related("call_record").get()
    assert recording.state == RecordingState.PENDING
    assert (recording.file_name, recording.record_domain, recording.bucket_name) == (
        body["recordObjectName"],
        "record.example",
        "bucket",
    )
    assert recording.call_seconds == 75
    assert recording.pushed_at == now
    assert recording.deadline == now + timedelta(days=7)
    assert recording.call_record.session_id == body["sessionId"]
    # and its fetch is queued once the transaction has committed
    assert len(callbacks) == 1


def test_the_fetches_of_one_push_are_queued_by_one_callback_after_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    # given
    application = ApplicationFactory()
    sent = []
    monkeypatch.setattr(
        tasks.fetch_recording_task,
        "apply_async",
        lambda args, **options: sent.append((args, "producer" in options)),
    )
    bodies = [recorded_fee(application, talk=60 + i) for i in range(3)]
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ingest(application, *bodies, recorded_fee(application, talk=2))
    # then: one callback, one task per pending recording, on one producer
    pending = Recording.objects.filter(state=RecordingState.PENDING).order_by("pk")
    assert len(callbacks) == 1
    assert sent == [((pk,), True) for pk in pending.values_list("pk", flat=True)]
    assert len(sent) == 3


def test_calls_not_recorded_get_no_recording():
    application = ApplicationFactory()
    ingest(application, fee(application), fee(application, recordFlag=0))
    assert not Recording.objects.exists()


def test_a_call_under_three_seconds_expects_no_recording(django_capture_on_commit_callbacks):
    application = ApplicationFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(application, recorded_fee(application, talk=2))
    recording = Recording.objects.get()
    assert (recording.state, recording.last_error_code) == (
        RecordingState.NONE_EXPECTED,
        "TOO_SHORT",
    )
    assert callbacks == []


def test_a_cdr_naming_no_file_expects_no_recording():
    application = ApplicationFactory()
    body = recorded_fee(application)
    body.pop("recordObjectName")
    ingest(application, body)
    assert Recording.objects.get().last_error_code == "NO_FILE"


def test_without_a_domain_the_direct_download_url_is_used():
    application = ApplicationFactory()
    body = recorded_fee(application, recordFileDownloadUrl="https://obs.example/r.wav?sig=1")
    body["recordDomain"] = ""
    ingest(application, body)
    recording = Recording.objects.get()
    assert (recording.state, recording.download_url) == (
        RecordingState.PENDING,
        "https://obs.example/r.wav?sig=1",
    )


def test_a_push_seen_twice_creates_one_recording():
    application = ApplicationFactory()
    body = recorded_fee(application)
    ingest(application, body)
    ingest(application, body)
    assert Recording.objects.count() == 1


def test_the_deadline_of_a_late_cdr_counts_from_the_earliest_possible_push(settings):
    # given a CDR received 10 hours after its call ended (the platform retried it)
    ended = timezone.now() - timedelta(hours=10)
    received = timezone.now()
    # then its first push was at most 301 minutes before it arrived
    assert deadline_for(received, ended) == received - timedelta(minutes=301) + timedelta(days=7)
    # and never before the call ended
    assert deadline_for(received, received - timedelta(minutes=3)) == (
        received - timedelta(minutes=3) + timedelta(days=7)
    )
    # and a time-scaled retention scales it
    settings.RECORDING_RETENTION_SECONDS = 600
    settings.RECORDING_PUSH_RETRY_WINDOW_SECONDS = 0
    assert deadline_for(received, ended) == received + timedelta(seconds=600)

"""Fetching one recording: claim, 301 address, download, WAV check, store, mark; and failures."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from console.models import PlatformCall
from recordings import services, storage
from recordings.choices import RecordingState
from recordings.models import Recording
from recordings.services import RecordingTransientError
from recordings.tests.conftest import A, B

pytestmark = [pytest.mark.postgres, pytest.mark.simulator]


def stored_bytes(recording: Recording) -> bytes:
    with storage.recordings_storage().open(recording.file.name, "rb") as handle:
        return handle.read()


def test_a_recording_is_fetched_checked_and_stored_byte_exact(platform):
    # given a recorded 40-second call whose CDR was ingested
    recording = platform.recorded(40)
    info = platform.control.recording_info(recording.file_name)
    # when
    outcome = services.fetch(recording.pk)
    # then
    recording.refresh_from_db()
    assert outcome == RecordingState.STORED == recording.state
    assert (recording.size, recording.sha256) == (info["size"], info["sha256"])
    assert hashlib.sha256(stored_bytes(recording)).hexdigest() == info["sha256"]
    assert recording.duration == pytest.approx(info["seconds"])
    assert recording.audio_format == "PCM 8000 Hz mono 16-bit"
    assert (recording.attempts, recording.claim_token, recording.staged_name) == (1, "", "")
    assert recording.stored_at is not None


def test_the_stored_name_reveals_no_phone_number(platform):
    recording = platform.recorded(20)
    services.fetch(recording.pk)
    recording.refresh_from_db()
    when = recording.call_started_at.astimezone(UTC)
    assert re.fullmatch(
        rf"recordings/{platform.application.pk}/{when:%Y}/{when:%m}/{recording.pk}-[0-9a-f]{{16}}\.wav",
        recording.file.name,
    )
    for number in (A, B, A.lstrip("+"), A[3:], B[3:]):
        assert number not in recording.file.name


def test_asking_for_the_address_leaves_a_platform_call_row(platform):
    recording = platform.recorded(20)
    services.fetch(recording.pk)
    call = PlatformCall.objects.get(interface="recording_download_url")
    assert (call.application, call.http_status, call.result_code) == (
        platform.application,
        301,
        "",
    )


def test_the_spool_is_left_empty(platform, settings):
    recording = platform.recorded(20)
    services.fetch(recording.pk)
    assert list(settings.RECORDINGS_SPOOL_DIR.iterdir()) == []


def test_a_stored_recording_is_never_fetched_again(platform):
    recording = platform.recorded(20)
    services.fetch(recording.pk)
    first = Recording.objects.get(pk=recording.pk).file.name
    # when the task runs again (beat re-queued it, or a message was delivered twice)
    assert services.fetch(recording.pk) is None
    # then nothing changed and there is still one file
    again = Recording.objects.get(pk=recording.pk)
    assert (again.file.name, again.attempts) == (first, 1)
    assert storage.stored_names() == [first]


def test_a_recording_held_by_another_worker_is_left_alone(platform):
    recording = platform.recorded(20)
    Recording.objects.filter(pk=recording.pk).update(
        state=RecordingState.FETCHING,
        claim_token="someone-else",
        lease_until=timezone.now() + timedelta(minutes=5),
    )
    assert services.fetch(recording.pk) is None
    assert Recording.objects.get(pk=recording.pk).claim_token == "someone-else"


def test_the_claim_of_a_worker_that_died_runs_out_and_is_taken_over(platform):
    # given a claim whose lease ran out, and the file its worker stored without marking it
    recording = platform.recorded(20)
    leftover = storage.recordings_storage().save("recordings/leftover.wav", _content(b"x"))
    Recording.objects.filter(pk=recording.pk).update(
        state=RecordingState.FETCHING,
        claim_token="dead-worker",
        lease_until=timezone.now() - timedelta(seconds=1),
        staged_name=leftover,
        attempts=1,
    )
    # when
    assert services.fetch(recording.pk) == RecordingState.STORED
    # then the leftover is gone and exactly one file remains, the right one
    recording.refresh_from_db()
    assert recording.attempts == 2
    assert storage.stored_names() == [recording.file.name]


def test_a_worker_that_lost_its_claim_removes_what_it_stored(platform, monkeypatch):
    # given another worker takes the recording over while this one is storing the file
    recording = platform.recorded(20)
    real_save = storage.save

    def save_then_lose_the_claim(name, path):
        saved = real_save(name, path)
        Recording.objects.filter(pk=recording.pk).update(claim_token="the-other-worker")
        return saved

    monkeypatch.setattr(storage, "save", save_then_lose_the_claim)
    # when
    assert services.fetch(recording.pk) is None
    # then it did not mark the row and left no file behind
    assert Recording.objects.get(pk=recording.pk).state == RecordingState.FETCHING
    assert storage.stored_names() == []


def test_a_platform_refusal_fails_with_its_code_in_plain_words(platform):
    # given a CDR naming a recording the platform does not have
    recording = platform.recorded(20)
    Recording.objects.filter(pk=recording.pk).update(file_name="20190101000000-nothing.wav")
    # when
    outcome = services.fetch(recording.pk)
    # then it is failed (tried again by beat until the deadline), with the reason
    recording.refresh_from_db()
    assert outcome == RecordingState.FAILED == recording.state
    assert recording.last_error_code == "1012007"
    assert "1012007" in recording.last_error
    assert recording.next_attempt_at > timezone.now()
    assert storage.stored_names() == []


def test_a_transient_failure_releases_the_claim_for_a_retry(platform):
    # given the platform's address interface failing with 503
    recording = platform.recorded(20)
    platform.control.set_faults("record.url", http5xx_rate=1.0, http_status=503)
    # when
    with pytest.raises(RecordingTransientError) as caught:
        services.fetch(recording.pk)
    # then it is pending again, free to claim, with the error recorded
    recording.refresh_from_db()
    assert caught.value.code == "1010001"  # the platform's "internal error", with HTTP 503
    assert (recording.state, recording.claim_token, recording.last_error_code) == (
        RecordingState.PENDING,
        "",
        "1010001",
    )
    # and the next attempt stores it
    platform.control.clear_faults()
    assert services.fetch(recording.pk) == RecordingState.STORED


def test_a_file_shorter_than_the_call_is_refused_and_not_stored(platform):
    # given a CDR that says the call lasted far longer than the recording does
    recording = platform.recorded(20)
    Recording.objects.filter(pk=recording.pk).update(call_seconds=200)
    # when
    assert services.fetch(recording.pk) == RecordingState.FAILED
    # then
    recording.refresh_from_db()
    assert recording.last_error_code == "WRONG_LENGTH"
    assert "lasts 20.0 s but the call lasted 200 s" in recording.last_error
    assert storage.stored_names() == []


def test_the_direct_download_url_is_used_when_the_cdr_has_no_domain(platform):
    # given a CDR with only recordFileDownloadUrl (here, an address the platform gave)
    recording = platform.recorded(20)
    with platform.client() as client:
        url = client.recording_download_url(recording.file_name, recording.record_domain)
    Recording.objects.filter(pk=recording.pk).update(record_domain="", download_url=url)
    # when
    assert services.fetch(recording.pk) == RecordingState.STORED
    # then the platform was not asked for an address
    assert not PlatformCall.objects.exists()


def test_after_its_deadline_a_recording_is_expired_not_fetched(platform):
    recording = platform.recorded(20)
    Recording.objects.filter(pk=recording.pk).update(deadline=timezone.now())
    assert services.fetch(recording.pk) is None
    recording.refresh_from_db()
    assert (recording.state, recording.last_error_code) == (RecordingState.EXPIRED, "DEADLINE")


def _content(data: bytes):
    from django.core.files.base import ContentFile

    return ContentFile(data)

"""The fetch task: retries transient failures, then leaves the recording failed for beat."""

from __future__ import annotations

import pytest
from django.utils import timezone

from console.models import PlatformCall
from recordings import tasks
from recordings.choices import RecordingState
from recordings.models import Recording

pytestmark = [pytest.mark.postgres, pytest.mark.simulator]


def test_the_task_stores_a_recording(platform):
    recording = platform.recorded(15)
    tasks.fetch_recording_task.apply(args=[recording.pk])
    assert Recording.objects.get(pk=recording.pk).state == RecordingState.STORED


def test_when_the_retries_are_used_up_the_recording_is_failed_for_beat(platform, settings):
    # given a platform that keeps failing the address request with 503
    recording = platform.recorded(15)
    platform.control.set_faults("record.url", http5xx_rate=1.0, http_status=503)
    # when the task runs with all its retries (eagerly: no waiting between them)
    result = tasks.fetch_recording_task.apply(args=[recording.pk])
    # then it tried 1 + max_retries times and gave the recording to beat
    assert result.failed()
    recording.refresh_from_db()
    retries = tasks.fetch_recording_task.max_retries
    assert recording.attempts == retries + 1
    assert PlatformCall.objects.filter(interface="recording_download_url").count() == retries + 1
    assert (recording.state, recording.last_error_code) == (RecordingState.FAILED, "1010001")
    assert recording.next_attempt_at > timezone.now()
    assert recording.claim_token == ""


def test_a_missing_recording_is_a_quiet_no_op(db):
    result = tasks.fetch_recording_task.apply(args=[987654321])
    assert result.successful()


def test_fetches_go_to_the_recordings_queue_and_platform_calls_to_the_default_one():
    from django.conf import settings

    from bindings.tasks import bind_binding_task
    from recordings.tasks import fetch_recording_task
    from shell.celery import app

    assert settings.CELERY_TASK_ROUTES[fetch_recording_task.name] == {
        "queue": settings.RECORDINGS_QUEUE
    }
    assert app.amqp.router.route({}, bind_binding_task.name)["queue"].name == (
        settings.CELERY_TASK_DEFAULT_QUEUE
    )

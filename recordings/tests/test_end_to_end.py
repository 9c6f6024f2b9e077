"""The whole way: a recorded call on the platform, its CDR pushed to the console's receiver,
ingested, the recording fetched by the real worker, and played by customer service."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from console.testing import wait_until
from recordings.choices import RecordingState
from recordings.models import Recording
from recordings.tests.conftest import simulator_config

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.simulator, pytest.mark.slow]


@pytest.fixture
def pushing_platform(platform_tx, live_server):
    """The platform pushes this app's CDRs to the console under test."""
    app = simulator_config()["apps"][0]
    platform_tx.control.add_app({**app, "fee_url": f"{live_server.url}/hooks/fee"})
    yield platform_tx
    platform_tx.control.add_app(app)


def test_a_recorded_call_is_pushed_fetched_stored_and_played(
    pushing_platform, celery_worker, make_user
):
    # given a recorded call of 25 seconds on the platform
    cdr = pushing_platform.call(25)
    info = pushing_platform.control.recording_info(cdr["recordObjectName"])
    # when its CDR is pushed and the worker has done its part
    recording = wait_until(
        lambda: Recording.objects.filter(
            file_name=cdr["recordObjectName"], state=RecordingState.STORED
        ).first(),
        timeout=30,
    )
    # then it is stored exactly
    assert (recording.size, recording.sha256) == (info["size"], info["sha256"])
    # and someone allowed to play recordings plays it (groups made by migrations do not survive
    # the flush of a transactional test, so the permission is given directly)
    listener = make_user("kefu")
    listener.user_permissions.add(
        Permission.objects.get(content_type__app_label="recordings", codename="play_recording")
    )
    browser = Client()
    browser.force_login(listener)
    response = browser.get(reverse("recordings:audio", args=[recording.pk]))
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == info["sha256"]

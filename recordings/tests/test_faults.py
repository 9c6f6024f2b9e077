"""Under faults, through the real worker: every recording ends stored, exact, once, in time.

A simulator whose 7 days last 5 minutes (``--time-scale 2016``; its download addresses then live
under a second) fails 30 % of the file downloads with HTTP 500 and cuts 30 % of them mid-file,
and fails 10 % of the download-address requests. A real Celery worker on the real broker fetches
what the CDR ingest queued; the test plays beat (re-queue, expire) every two seconds.
"""

from __future__ import annotations

import hashlib
import random
import time

import pytest

from console.models import PlatformCall
from recordings import services, storage, tasks
from recordings.choices import RecordingState
from recordings.models import Recording
from recordings.tests.conftest import Platform, _platform, simulator_config
from simulator.testing import run_simulator

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.simulator, pytest.mark.slow]

TIME_SCALE = 2016  # 7 days -> 300 s
RETENTION = 7 * 24 * 3600 // TIME_SCALE


@pytest.fixture
def scaled_platform(transactional_db, settings):
    settings.RECORDING_RETENTION_SECONDS = RETENTION
    settings.RECORDING_PUSH_RETRY_WINDOW_SECONDS = 0
    settings.RECORDINGS_FAILED_RETRY_SECONDS = 2
    settings.RECORDINGS_REQUEUE_GRACE_SECONDS = 20
    with run_simulator(simulator_config(), time_scale=TIME_SCALE) as sim:
        yield _platform(sim)


def test_every_recording_is_stored_exactly_once_before_its_deadline_despite_faults(
    scaled_platform: Platform, celery_worker
):
    # given recorded calls of 5 to 90 seconds, and a platform that fails often
    platform = scaled_platform
    rng = random.Random(6)
    cdrs = [platform.call(rng.randint(5, 90)) for _ in range(24)]
    platform.control.set_faults("record.download", fail_rate=0.3, drop_mid_rate=0.3)
    platform.control.set_faults("record.url", http5xx_rate=0.1, http_status=503)
    # when their CDRs are ingested (the fetches are queued after commit) and beat runs
    recordings = platform.ingest(*cdrs)
    ids = [recording.pk for recording in recordings]
    give_up_at = time.monotonic() + RETENTION
    while time.monotonic() < give_up_at:
        if Recording.objects.filter(pk__in=ids, state=RecordingState.STORED).count() == len(ids):
            break
        for recording_id in services.requeue_due():
            tasks.fetch_recording_task.delay(recording_id)
        time.sleep(2)
    # then every one is stored, byte-exact, before its deadline
    stored = list(Recording.objects.filter(pk__in=ids).order_by("pk"))
    assert [r.state for r in stored] == [RecordingState.STORED] * len(ids), [
        (r.pk, r.state, r.last_error_code, r.last_error) for r in stored
    ]
    platform.control.clear_faults()
    for recording in stored:
        info = platform.control.recording_info(recording.file_name)
        assert (recording.size, recording.sha256) == (info["size"], info["sha256"])
        with storage.recordings_storage().open(recording.file.name, "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == info["sha256"]
        assert recording.stored_at < recording.deadline
    # and there is exactly one file per recording in storage, and nothing else
    assert storage.stored_names() == sorted(r.file.name for r in stored)
    assert len({r.file.name for r in stored}) == len(ids)
    # and the faults did bite: retried and refreshed addresses (a PlatformCall row each)
    asked = PlatformCall.objects.filter(interface="recording_download_url").count()
    assert asked > len(ids)

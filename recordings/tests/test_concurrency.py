"""Two workers never fetch the same recording: claims under real concurrency, real commits."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection

from console.models import PlatformCall
from recordings import services, storage
from recordings.choices import RecordingState
from recordings.models import Recording

pytestmark = [pytest.mark.postgres, pytest.mark.simulator, pytest.mark.slow]


def test_four_workers_racing_for_the_same_recordings_store_each_exactly_once(platform_tx):
    # given eight recorded calls, ingested
    cdrs = [platform_tx.call(seconds) for seconds in (8, 12, 20, 30, 45, 60, 75, 90)]
    recordings = platform_tx.ingest(*cdrs)
    ids = [recording.pk for recording in recordings]
    outcomes: list[str | None] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        try:
            order = ids[:]
            random.shuffle(order)
            start.wait()
            for recording_id in order * 2:  # every worker tries every recording twice
                outcomes.append(services.fetch(recording_id))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    # when four workers fetch them all at the same time
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    # then each recording was fetched once, by one worker, and stored once
    assert errors == []
    assert outcomes.count(RecordingState.STORED) == len(ids)
    assert outcomes.count(None) == len(ids) * 8 - len(ids)
    stored = Recording.objects.filter(pk__in=ids)
    assert {r.state for r in stored} == {RecordingState.STORED}
    assert {r.attempts for r in stored} == {1}
    assert storage.stored_names() == sorted(r.file.name for r in stored)
    assert PlatformCall.objects.filter(interface="recording_download_url").count() == len(ids)
    for recording in stored:
        info = platform_tx.control.recording_info(recording.file_name)
        assert recording.sha256 == info["sha256"]

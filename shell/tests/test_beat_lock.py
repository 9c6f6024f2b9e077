"""Two beats never both schedule: the second stands by and takes over when the first is gone
(issue 20, shell/beat.py)."""

from __future__ import annotations

import threading
import time

import pytest
from celery.beat import Service
from django.db import connections

from shell import beat
from shell.beat import BeatLock, SingleBeatScheduler
from shell.celery import app


@pytest.fixture(autouse=True)
def free_lock():
    client = beat._redis_client()
    if client is not None:
        client.delete(beat.LOCK_KEY)
    yield
    if client is not None:
        client.delete(beat.LOCK_KEY)


@pytest.mark.redis
def test_one_lock_holder_at_a_time_on_redis_and_a_dead_holders_lock_runs_out():
    first, second = BeatLock(seconds=0.5), BeatLock(seconds=0.5)
    assert first.hold()
    assert not second.hold()
    assert first.hold()  # renewed by its holder
    time.sleep(0.8)  # the holder stops renewing (its host is lost)
    assert second.hold()
    assert not first.hold()  # the old holder finds it taken and stands by
    second.release()
    assert first.hold()


def test_on_the_embedded_configuration_the_lock_is_a_file_lock(settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    path = tmp_path / "beat.lock"
    first, second = BeatLock(path=path), BeatLock(path=path)
    assert first.hold()
    assert not second.hold()
    first.release()
    assert second.hold()
    second.release()


class RecordingScheduler(SingleBeatScheduler):
    """Sends nothing to the broker: notes which beat would have sent what."""

    sent: list[tuple[str, str]] = []

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        RecordingScheduler.sent.append((self.lock.token, entry.name))


def _run(service: Service) -> None:
    try:
        service.start()
    finally:
        connections.close_all()


@pytest.mark.redis
@pytest.mark.postgres
def test_a_second_beat_stands_by_and_takes_over_when_the_first_stops(transactional_db, monkeypatch):
    monkeypatch.setitem(
        app.conf,
        "beat_schedule",
        {"tick": {"task": "console.tasks.record_worker_heartbeat_task", "schedule": 0.3}},
    )
    RecordingScheduler.sent = []
    first = Service(app, max_interval=0.2, scheduler_cls=RecordingScheduler)
    first_thread = threading.Thread(target=_run, args=(first,), daemon=True)
    first_thread.start()
    deadline = time.monotonic() + 20
    while not RecordingScheduler.sent and time.monotonic() < deadline:
        time.sleep(0.1)
    second = Service(app, max_interval=0.2, scheduler_cls=RecordingScheduler)
    second_thread = threading.Thread(target=_run, args=(second,), daemon=True)
    second_thread.start()
    time.sleep(3)
    # then exactly one beat sent, several times over
    senders = {token for token, _name in RecordingScheduler.sent}
    assert len(senders) == 1, senders
    assert len([name for _token, name in RecordingScheduler.sent if name == "tick"]) >= 3
    (leader,) = senders
    # when the first stops, the second takes over
    first.stop()
    first_thread.join(timeout=10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if {token for token, _name in RecordingScheduler.sent} - {leader}:
            break
        time.sleep(0.1)
    second.stop()
    second_thread.join(timeout=10)
    assert not first_thread.is_alive()
    assert not second_thread.is_alive()
    assert {token for token, _name in RecordingScheduler.sent} - {leader}

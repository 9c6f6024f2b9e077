"""Beat jobs: re-queue earliest deadline first, expire, alert once, purge stored copies."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from console.choices import AlertKind
from console.models import Alert, AuditLog, WebhookMessage
from console.testing.factories import ApplicationFactory
from recordings import services, storage
from recordings.choices import RecordingState
from recordings.models import Recording
from recordings.tests.factories import make_recording, make_stored_recording

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def at(recording: Recording, **fields) -> Recording:
    Recording.objects.filter(pk=recording.pk).update(**fields)
    recording.refresh_from_db()
    return recording


# --- re-queue ------------------------------------------------------------------------------------


def test_due_recordings_are_queued_earliest_deadline_first():
    # given recordings due with different deadlines, and some that are not due
    now = timezone.now()
    late = at(make_recording(), next_attempt_at=None, deadline=now + timedelta(days=6))
    soon = at(make_recording(), next_attempt_at=now, deadline=now + timedelta(hours=3))
    failed = at(
        make_recording(),
        state=RecordingState.FAILED,
        next_attempt_at=now - timedelta(minutes=1),
        deadline=now + timedelta(days=1),
    )
    at(make_recording(), next_attempt_at=now + timedelta(minutes=5))  # its task is running
    at(make_recording(), state=RecordingState.NONE_EXPECTED, next_attempt_at=None)
    # when
    ids = services.requeue_due(now=now)
    # then
    assert ids == [soon.pk, failed.pk, late.pk]


def test_a_queued_recording_is_not_queued_again_while_its_task_has_time(settings):
    now = timezone.now()
    recording = at(make_recording(), next_attempt_at=None)
    assert services.requeue_due(now=now) == [recording.pk]
    assert services.requeue_due(now=now + timedelta(seconds=60)) == []
    later = now + timedelta(seconds=settings.RECORDINGS_REQUEUE_GRACE_SECONDS + 1)
    assert services.requeue_due(now=later) == [recording.pk]


def test_a_claim_that_ran_out_is_queued_again():
    now = timezone.now()
    dead = at(
        make_recording(),
        state=RecordingState.FETCHING,
        claim_token="x",
        lease_until=now - timedelta(seconds=1),
    )
    at(make_recording(), state=RecordingState.FETCHING, lease_until=now + timedelta(minutes=1))
    assert services.requeue_due(now=now) == [dead.pk]
    # it went back to pending, its old claim void, and waits its grace like any queued fetch
    dead.refresh_from_db()
    assert (dead.state, dead.claim_token, dead.lease_until) == (RecordingState.PENDING, "", None)
    assert services.requeue_due(now=now + timedelta(seconds=60)) == []


def test_the_sweeper_sends_a_lost_fetch_once_not_at_every_sweep():
    from console import jobs as console_jobs
    from recordings import jobs

    now = timezone.now()
    lost = at(
        make_recording(),
        state=RecordingState.FETCHING,
        claim_token="x",
        lease_until=now - timedelta(seconds=1),
    )
    kind = console_jobs.KINDS["recording"]
    assert list(kind.stuck(timezone.now())) == [lost]
    assert jobs.requeue(lost) is True
    # the next sweep does not find it stuck while its task waits; a second send of the copy it
    # had does nothing
    assert list(kind.stuck(timezone.now())) == []
    assert jobs.requeue(lost) is False
    lost.refresh_from_db()
    assert lost.state == RecordingState.PENDING


def test_the_batch_is_bounded(settings):
    settings.RECORDINGS_REQUEUE_BATCH = 2
    now = timezone.now()
    for _ in range(3):
        at(make_recording(), next_attempt_at=None)
    assert len(services.requeue_due(now=now)) == 2


def test_the_beat_task_queues_the_fetches(monkeypatch):
    from recordings import tasks

    recording = at(make_recording(), next_attempt_at=None)
    queued = []
    monkeypatch.setattr(tasks.fetch_recording_task, "delay", queued.append)
    tasks.requeue_recordings_task()
    assert queued == [recording.pk]


# --- expiry --------------------------------------------------------------------------------------


def test_recordings_past_their_deadline_expire_keeping_their_last_error():
    now = timezone.now()
    never = at(make_recording(), deadline=now - timedelta(seconds=1))
    failed = at(
        make_recording(),
        state=RecordingState.FAILED,
        last_error_code="1012007",
        deadline=now - timedelta(seconds=1),
    )
    working = at(
        make_recording(),
        state=RecordingState.FETCHING,
        lease_until=now + timedelta(minutes=1),
        deadline=now - timedelta(seconds=1),
    )
    future = make_recording()
    # when
    assert services.expire_overdue(now=now) == 2
    # then
    states = dict(Recording.objects.values_list("pk", "state"))
    assert states[never.pk] == states[failed.pk] == RecordingState.EXPIRED
    assert states[working.pk] == RecordingState.FETCHING  # a live claim may still finish
    assert states[future.pk] == RecordingState.PENDING
    codes = dict(Recording.objects.values_list("pk", "last_error_code"))
    assert (codes[never.pk], codes[failed.pk]) == ("DEADLINE", "1012007")


# --- alerts --------------------------------------------------------------------------------------


@pytest.fixture
def subscribed():
    """Every application made from now on has a webhook subscription, as soon as it exists."""
    from console import webhooks
    from console.models import WebhookSubscription

    def subscribe(application):
        subscription = WebhookSubscription(application=application, url="http://127.0.0.1:9/")
        subscription.set_secret(webhooks.new_secret())
        subscription.save()
        return application

    return subscribe


def test_an_alert_is_raised_once_for_each_recording_not_stored_a_day_before_its_deadline(
    settings, subscribed, caplog, mailoutbox, django_capture_on_commit_callbacks
):
    from shell.celery import app

    # given
    settings.ALERT_EMAIL_TO = ["ops@example.com"]
    now = timezone.now()
    application = subscribed(ApplicationFactory(name="Rides"))
    risky = at(make_recording(application), deadline=now + timedelta(hours=20), attempts=4)
    failing = at(
        make_recording(application),
        state=RecordingState.FAILED,
        last_error_code="1012007",
        deadline=now + timedelta(hours=2),
    )
    at(make_recording(application), deadline=now + timedelta(days=3))  # not yet
    make_stored_recording(application)  # stored: no alert whatever its deadline
    # when beat runs twice (its mail task runs at once here)
    app.conf.task_always_eager = True
    try:
        with (
            caplog.at_level(logging.WARNING, logger="recordings.services"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            first = services.raise_alerts(now=now)
            second = services.raise_alerts(now=now + timedelta(minutes=1))
    finally:
        app.conf.task_always_eager = False
    # then each recording was alerted once, earliest deadline first
    assert first == [failing.pk, risky.pk]
    assert second == []
    assert Recording.objects.filter(alerted_at__isnull=False).count() == 2
    # a log line per recording
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ALERT ")]
    lines = [line for line in lines if "recording #" in line]
    assert len(lines) == 2
    assert f"recording #{risky.pk}" in lines[1]
    # one recording.at_risk event per recording, written with alerted_at
    events = WebhookMessage.objects.filter(event_type="recording.at_risk").order_by("pk")
    assert [e.payload["data"]["id"] for e in events] == [failing.pk, risky.pk]
    assert events[0].payload["data"]["last_error_code"] == "1012007"
    # one alert of the application, announced and e-mailed once (never a phone number)
    alert = Alert.objects.get(kind=AlertKind.RECORDINGS_AT_RISK)
    assert (alert.application_id, alert.count, alert.params["count"]) == (application.pk, 1, 2)
    assert WebhookMessage.objects.filter(event_type="alert.opened").count() == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ops@example.com"]
    assert "Recordings of Rides may be lost" in mailoutbox[0].subject
    assert f"recording #{failing.pk}" in mailoutbox[0].body
    assert "/recordings/at-risk/" in mailoutbox[0].body
    assert "+86" not in mailoutbox[0].body
    assert "+86" not in json.dumps([e.payload for e in WebhookMessage.objects.all()])


def test_the_alert_of_an_application_resolves_itself_once_its_recordings_are_stored_or_lost():
    now = timezone.now()
    application = ApplicationFactory()
    waiting = at(make_recording(application), deadline=now + timedelta(hours=2))
    assert services.raise_alerts(now=now) == [waiting.pk]
    # still waiting: the alert stays open
    services.raise_alerts(now=now + timedelta(minutes=1))
    assert Alert.objects.get(kind=AlertKind.RECORDINGS_AT_RISK).resolved_at is None
    # nothing left to wait for (here it expired: lost for good): the next run resolves it
    at(waiting, state=RecordingState.EXPIRED)
    services.raise_alerts(now=now + timedelta(minutes=2))
    assert Alert.objects.get(kind=AlertKind.RECORDINGS_AT_RISK).resolved_at is not None


def test_the_alert_window_is_a_setting(settings):
    settings.RECORDING_ALERT_BEFORE_SECONDS = 60
    now = timezone.now()
    at(make_recording(), deadline=now + timedelta(minutes=5))
    assert services.raise_alerts(now=now) == []
    assert len(services.raise_alerts(now=now + timedelta(minutes=4, seconds=1))) == 1


def test_a_recording_lost_without_an_alert_is_alerted_too():
    now = timezone.now()
    lost = at(make_recording(), state=RecordingState.EXPIRED, deadline=now - timedelta(hours=1))
    assert services.raise_alerts(now=now) == [lost.pk]


# --- local retention -----------------------------------------------------------------------------


def test_stored_copies_older_than_the_retention_are_deleted_and_audited(settings):
    # given
    settings.RECORDINGS_LOCAL_RETENTION_DAYS = 30
    now = timezone.now()
    old = make_stored_recording(stored_at=now - timedelta(days=31))
    older = make_stored_recording(stored_at=now - timedelta(days=90))
    recent = make_stored_recording(stored_at=now - timedelta(days=29))
    # when
    purged = services.purge_stored(now=now)
    # then
    assert purged == [older.pk, old.pk]
    assert storage.stored_names() == [recent.file.name]
    for recording in (old, older):
        recording.refresh_from_db()
        assert (recording.state, recording.file.name) == (RecordingState.DELETED, "")
        assert recording.deleted_at == now
    entry = AuditLog.objects.get(action="delete")
    assert entry.details["recordings"] == [older.pk, old.pk]
    assert (entry.details["reason"], entry.details["retention_days"]) == ("retention", 30)


def test_without_a_retention_nothing_is_deleted(settings):
    settings.RECORDINGS_LOCAL_RETENTION_DAYS = 0
    make_stored_recording(stored_at=timezone.now() - timedelta(days=3650))
    assert services.purge_stored() == []
    assert len(storage.stored_names()) == 1

"""Recordings announce stored and lost to the outbox in the transaction of the change."""

from __future__ import annotations

import pytest
from django.utils import timezone

from console import webhooks
from console.models import WebhookMessage, WebhookSubscription
from recordings import services
from recordings.choices import RecordingState
from recordings.models import Recording

pytestmark = [pytest.mark.postgres, pytest.mark.simulator]


def subscribe(application) -> None:
    subscription = WebhookSubscription(application=application, url="http://127.0.0.1:9/")
    subscription.set_secret(webhooks.new_secret())
    subscription.save()


def test_a_stored_recording_is_announced(platform):
    recording = platform.recorded(40)
    subscribe(recording.application)
    assert services.fetch(recording.pk) == RecordingState.STORED
    message = WebhookMessage.objects.get()
    assert message.event_type == "recording.stored"
    data = message.payload["data"]
    assert data["id"] == recording.pk
    assert data["state"] == RecordingState.STORED
    assert data["size"] > 0


def test_a_recording_past_its_deadline_is_announced_lost_once(platform):
    recording = platform.recorded(20)
    subscribe(recording.application)
    Recording.objects.filter(pk=recording.pk).update(deadline=timezone.now())
    assert services.fetch(recording.pk) is None
    assert services.fetch(recording.pk) is None  # again: nothing more
    message = WebhookMessage.objects.get()
    assert message.event_type == "recording.lost"
    assert message.payload["data"]["last_error_code"] == "DEADLINE"

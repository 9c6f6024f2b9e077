"""Bindings announce their life to the outbox in the transaction of each change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bindings import services
from bindings.choices import BindingStatus
from bindings.models import Binding
from bindings.services.base import BindingRefused
from console import webhooks
from console.models import WebhookMessage, WebhookSubscription

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def subscribe(application, events=()):
    subscription = WebhookSubscription(
        application=application, url="http://127.0.0.1:9/hook", events=list(events)
    )
    subscription.set_secret(webhooks.new_secret())
    subscription.save()
    return subscription


def events_of(binding) -> list[str]:
    return list(
        WebhookMessage.objects.filter(payload__data__id=binding.pk)
        .order_by("pk")
        .values_list("event_type", flat=True)
    )


def test_a_binding_announces_created_active_modified_and_ended(platform):
    application = platform.application("AX")
    subscribe(application)
    binding = services.create_binding(application, {"a_number": "+8613800000001"})
    services.bind(binding.pk)
    binding.refresh_from_db()
    services.modify_binding(binding, {"order_ref": "o-1"})
    services.end_binding(binding)
    services.unbind(binding.pk)
    assert events_of(binding) == [
        "binding.created",
        "binding.active",
        "binding.modified",
        "binding.ended",
    ]
    ended = WebhookMessage.objects.get(event_type="binding.ended")
    assert ended.payload["data"]["status"] == BindingStatus.ENDED
    assert ended.payload["data"]["x_number"] == binding.x_number


def test_a_refused_bind_announces_failed(platform):
    application = platform.application("AXB")
    subscribe(application, events=["binding.failed"])
    platform.control.set_faults("axb.bind", error_rate=1, error_code="1010002", times=1)
    binding = services.create_binding(
        application, {"a_number": "+8613800000001", "b_number": "+8613900000001"}
    )
    services.bind(binding.pk)
    assert events_of(binding) == ["binding.failed"]  # only the events subscribed to
    data = WebhookMessage.objects.get().payload["data"]
    assert data["last_result_code"] == "1010002"


def test_a_refused_create_announces_nothing(platform):
    application = platform.application("AXB")
    subscribe(application)
    with pytest.raises(BindingRefused):
        services.create_binding(application, {"a_number": "+8613800000001"})
    assert not WebhookMessage.objects.exists()


def test_expiry_announces_each_expired_binding_once(platform):
    application = platform.application("AX")
    subscribe(application, events=["binding.expired"])
    made = [
        services.create_binding(application, {"a_number": f"+861380000000{i}", "duration": 60})
        for i in range(3)
    ]
    for binding in made:
        services.bind(binding.pk)
    Binding.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    services.expire_due()
    services.expire_due()
    for binding in made:
        services.unbind(binding.pk)
    expired = WebhookMessage.objects.filter(event_type="binding.expired")
    assert sorted(m.payload["data"]["id"] for m in expired) == sorted(b.pk for b in made)


def test_nobody_subscribed_nothing_written(platform):
    application = platform.application("AX")
    binding = services.create_binding(application, {"a_number": "+8613800000001"})
    services.bind(binding.pk)
    assert not WebhookMessage.objects.exists()

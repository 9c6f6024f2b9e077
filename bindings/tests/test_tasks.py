"""Tasks on a real Celery worker and Redis, against the simulator: bind, retry, end, modify."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bindings import services
from bindings.choices import BindingStatus, EndReason, NumberState
from bindings.models import Binding, XNumber
from console.models import AuditLog, PlatformCall
from console.testing import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.simulator]

A, B = "+8613800000001", "+8613900000002"


def settled(binding: Binding, *statuses: str) -> Binding | None:
    binding.refresh_from_db()
    return binding if binding.status in statuses else None


def active(application, **data) -> Binding:
    data.setdefault("a_number", A)
    if application.mode in ("AXB", "AXYB"):
        data.setdefault("b_number", B)
    binding = services.create_binding(application, data)
    wait_until(lambda: settled(binding, BindingStatus.ACTIVE, BindingStatus.FAILED), timeout=30)
    assert binding.status == BindingStatus.ACTIVE, binding.last_result_desc
    return binding


def test_a_created_binding_is_bound_by_the_worker(platform, celery_worker):
    binding = active(platform.application("AXB"), duration=600)
    assert binding.subscription_id
    assert binding.expires_at is not None
    assert len(platform.control.bindings()) == 1


def test_the_bind_task_retries_a_dropped_request_and_binds_exactly_once(platform, celery_worker):
    # given: the first bind request is cut off
    platform.control.set_faults("axb.bind", drop_rate=1, times=1)
    # when
    binding = active(platform.application("AXB"))
    # then
    interfaces = list(
        PlatformCall.objects.filter(binding=binding)
        .order_by("at", "pk")
        .values_list("interface", "result_code")
    )
    assert interfaces == [
        ("axb_bind", "CONNECTION"),
        ("axb_query", "1016001"),
        ("axb_bind", "0"),
    ]
    assert len(platform.control.bindings()) == 1


def test_a_refused_bind_fails_on_the_worker_with_the_platform_code(platform, celery_worker):
    application = platform.application("AX")
    binding = services.create_binding(application, {"a_number": A})
    wait_until(lambda: settled(binding, BindingStatus.ACTIVE, BindingStatus.FAILED), timeout=30)
    assert binding.status == BindingStatus.ACTIVE
    # a second application key the platform does not know: 1010003
    application.app_key = "unknownKey000000000000000000001"
    application.save()
    second = services.create_binding(application, {"a_number": "+8613800000002"})
    wait_until(lambda: settled(second, BindingStatus.ACTIVE, BindingStatus.FAILED), timeout=30)
    assert (second.status, second.last_result_code) == (BindingStatus.FAILED, "1010003")


def test_ending_a_binding_unbinds_it_and_the_x_cools_down(platform, celery_worker, settings):
    # given
    settings.X_COOLDOWN_SECONDS = 600
    binding = active(platform.application("AX"))
    # when
    services.end_binding(binding)
    # then
    wait_until(lambda: settled(binding, BindingStatus.ENDED), timeout=30)
    assert binding.end_reason == EndReason.REQUESTED
    assert platform.control.bindings() == []
    x = XNumber.objects.get(pk=binding.x_id)
    assert (x.binding_count, x.state) == (0, NumberState.COOLING)
    assert x.cooling_until > timezone.now() + timedelta(seconds=590)
    assert AuditLog.objects.filter(action="end", target_id=str(binding.pk)).exists()


def test_a_modification_is_sent_by_the_worker_and_then_shown(platform, celery_worker):
    # given
    binding = active(platform.application("AXB"), duration=600)
    # when
    services.modify_binding(binding, {"duration": 7200, "record_flag": True})
    # then
    wait_until(lambda: not Binding.objects.get(pk=binding.pk).pending_changes, timeout=30)
    binding.refresh_from_db()
    assert (binding.duration, binding.record_flag, binding.last_result_code) == (7200, True, "0")
    assert binding.expires_at > timezone.now() + timedelta(seconds=7100)
    (on_platform,) = platform.control.bindings()
    assert on_platform["data"]["duration"] == 7200
    assert on_platform["data"]["recordFlag"] == "true"


def test_a_sync_ends_a_binding_the_platform_no_longer_has(platform, celery_worker):
    # given: the platform lost the binding (e.g. the number was moved)
    binding = active(platform.application("AXB"))
    platform.control.reset()
    # when
    services.request_sync(binding)
    # then
    wait_until(lambda: settled(binding, BindingStatus.ENDED), timeout=30)
    assert binding.end_reason == EndReason.LOST
    assert XNumber.objects.get(pk=binding.x_id).binding_count == 0

"""Reconciliation: bindings the platform lost are ended here, unknown ones are reported."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bindings import services
from bindings.choices import BindingStatus, EndReason
from bindings.models import Binding, XNumber
from console import gateway

pytestmark = [pytest.mark.postgres, pytest.mark.simulator, pytest.mark.django_db]


def active(application, a: str, b: str = "") -> Binding:
    data = {"a_number": a}
    if b:
        data["b_number"] = b
    binding = services.create_binding(application, data)
    services.bind(binding.pk)
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE
    return binding


def test_it_ends_what_the_platform_lost_and_reports_what_only_the_platform_has(platform):
    # given: three bindings; the platform lost one and holds one the console never made
    application = platform.application("AXB")
    kept = active(application, "+8613800000001", "+8613900000001")
    lost = active(application, "+8613800000002", "+8613900000002")
    also_kept = active(application, "+8613800000003", "+8613900000003")
    with gateway.client_for(application) as client:
        client.axb_unbind(subscription_id=lost.subscription_id)
        stranger = client.axb_bind(
            relation_num=kept.x_number, caller_num="+8613700000009", callee_num="+8613600000009"
        )
    # when
    run = services.reconcile(application)
    # then
    assert (run.matched, run.lost, run.unknown, run.failures) == (2, 1, 1, 0)
    assert run.numbers_checked == XNumber.objects.filter(application=application).count()
    lost.refresh_from_db()
    assert (lost.status, lost.end_reason) == (BindingStatus.ENDED, EndReason.LOST)
    assert f"#{run.pk}" in lost.note
    assert XNumber.objects.get(pk=lost.x_id).binding_count == 0
    for binding in (kept, also_kept):
        binding.refresh_from_db()
        assert binding.status == BindingStatus.ACTIVE
    (unknown,) = run.details["unknown"]
    assert unknown["subscriptionId"] == stranger.subscription_id
    assert unknown["a"] == "+86137****0009"  # masked in the report
    assert run.finished_at is not None


def test_a_lost_binding_whose_time_was_up_ends_as_expired(platform):
    application = platform.application("AXB")
    binding = active(application, "+8613800000001", "+8613900000001")
    Binding.objects.filter(pk=binding.pk).update(expires_at=timezone.now() - timedelta(seconds=5))
    platform.control.reset()
    services.reconcile(application)
    binding.refresh_from_db()
    assert (binding.status, binding.end_reason) == (BindingStatus.EXPIRED, EndReason.LOST)


def test_a_number_that_cannot_be_queried_ends_nothing_and_is_reported(platform):
    application = platform.application("AX")
    binding = active(application, "+8613800000001")
    platform.control.reset()
    platform.control.set_faults("ax.query", http5xx_rate=1)
    run = services.reconcile(application)
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE
    assert run.failures == run.numbers_checked
    assert run.details["failures"][0]["code"] == "1010001"  # internal error, HTTP 500


def test_bindings_made_while_it_runs_are_not_taken_for_lost(platform):
    application = platform.application("AX")
    binding = active(application, "+8613800000001")
    Binding.objects.filter(pk=binding.pk).update(bound_at=timezone.now() + timedelta(minutes=1))
    platform.control.reset()
    run = services.reconcile(application)
    assert run.lost == 0
    assert Binding.objects.get(pk=binding.pk).status == BindingStatus.ACTIVE


def test_axyb_relations_match_on_their_x_and_on_their_y(platform):
    application = platform.application("AXYB")
    active(application, "+8613800000001", "+8613900000001")
    active(application, "+8613800000002", "+8613900000002")
    run = services.reconcile(application)
    assert (run.lost, run.unknown, run.failures) == (0, 0, 0)
    assert run.matched == 2


def test_it_can_check_only_some_numbers(platform):
    application = platform.application("AXE")
    binding = active(application, "+8613800000001")
    platform.control.reset()
    others = XNumber.objects.exclude(pk=binding.x_id)
    assert services.reconcile(application, numbers=others).lost == 0
    assert services.reconcile(application, numbers=XNumber.objects.all()).lost == 1

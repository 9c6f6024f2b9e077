"""Binding against the simulator: one request, refusals explained, never a binding made twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bindings import services
from bindings.choices import BindingStatus, EndReason
from bindings.models import Binding, XNumber
from bindings.tests.conftest import POOLS
from console import gateway
from console.models import PlatformCall, WebhookSubscription
from console.testing import wait_until
from privatenumber.errors import PlatformTransientError

pytestmark = [pytest.mark.postgres, pytest.mark.simulator, pytest.mark.django_db]

A, B = "+8613800000001", "+8613900000002"


def create(application, **data) -> Binding:
    data.setdefault("a_number", A)
    if application.mode in ("AXB", "AXYB"):
        data.setdefault("b_number", B)
    return services.create_binding(application, data)


def calls(binding, interface=None) -> list[str]:
    rows = PlatformCall.objects.filter(binding=binding).order_by("at", "pk")
    if interface:
        rows = rows.filter(interface=interface)
    return [f"{row.interface}:{row.result_code}" for row in rows]


def test_a_bind_stores_the_subscription_id_and_the_expiry_and_logs_the_call(platform):
    # given
    binding = create(platform.application("AXB"), area_code="0755", duration=3600)
    # when
    services.bind(binding.pk)
    # then
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE
    (on_platform,) = platform.control.bindings()
    assert binding.subscription_id == on_platform["subscriptionId"]
    assert binding.expires_at - binding.bound_at == timedelta(seconds=3600)
    call = PlatformCall.objects.get(binding=binding)
    assert (call.interface, call.method, call.result_code, call.http_status) == (
        "axb_bind",
        "POST",
        "0",
        200,
    )
    assert call.latency_ms is not None
    assert call.application_id == binding.application_id


@pytest.mark.parametrize("mode", ["AXB", "AX", "AXE", "AXYB"])
def test_the_platform_gets_the_numbers_the_console_chose(platform, mode):
    # given
    binding = create(platform.application(mode))
    # when
    services.bind(binding.pk)
    # then
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE, binding.last_result_desc
    held = platform.control.bindings()
    main = next(b for b in held if b["kind"] != "YB")
    assert main["x"] == binding.x_number
    assert main["a"] == binding.a_number
    if mode == "AXE":
        assert main["ext"] == binding.extension
    if mode == "AXYB":  # the platform chose X and Y in their cities; the console took them
        (yb,) = [b for b in held if b["kind"] == "YB"]
        assert (yb["y"], yb["b"]) == (binding.y_number, binding.b_number)
        assert binding.yb_subscription_id == yb["subscriptionId"]


def test_a_permanent_refusal_fails_the_binding_with_its_meaning_and_gives_x_back(platform):
    # given: the platform paused the X, and the push has not reached the console yet
    binding = create(platform.application("AXB"))
    platform.set_number_status(binding.x_number, "9")
    # when
    services.bind(binding.pk)
    # then
    binding.refresh_from_db()
    assert binding.status == BindingStatus.FAILED
    assert binding.end_reason == EndReason.REFUSED
    assert binding.last_result_code == "1012001"
    assert "not to be applied" in binding.last_result_desc
    assert gateway.result_meaning("1012001", "en")
    assert gateway.result_meaning("1012001", "zh-hans") != gateway.result_meaning("1012001", "en")
    x = XNumber.objects.get(pk=binding.x_id)
    assert x.binding_count == 0
    assert platform.control.bindings() == []


@pytest.mark.parametrize("mode", ["AXE", "AXB"])
def test_a_refused_bind_gives_its_x_back_at_once_without_a_cool_down(platform, settings, mode):
    """One refused AXE attempt used to take a number serving 200 A numbers out for 30 minutes."""
    # given a pool of one X, and a platform that refuses the next bind
    settings.X_COOLDOWN_SECONDS = 1800
    application = platform.application(mode, numbers=1)
    refused = create(application)
    platform.control.set_faults(f"{mode.lower()}.bind", error_rate=1, error_code="1010002", times=1)
    # when
    services.bind(refused.pk)
    # then the X is available again, and the next binding takes it and binds
    refused.refresh_from_db()
    assert refused.status == BindingStatus.FAILED
    x = XNumber.objects.get(pk=refused.x_id)
    assert (x.state, x.cooling_until, x.binding_count) == ("available", None, 0)
    second = create(application, a_number="+8613800000077")
    assert second.x_id == x.pk
    services.bind(second.pk)
    second.refresh_from_db()
    assert second.status == BindingStatus.ACTIVE


def test_an_ended_binding_still_cools_its_x_down(platform, settings):
    # given
    settings.X_COOLDOWN_SECONDS = 1800
    binding = create(platform.application("AXE", numbers=1))
    services.bind(binding.pk)
    binding.refresh_from_db()
    # when
    services.end_binding(binding)
    services.unbind(binding.pk)
    # then
    x = XNumber.objects.get(pk=binding.x_id)
    assert x.state == "cooling"
    assert x.cooling_until is not None


def test_a_transient_failure_is_raised_for_celery_and_the_retry_binds_exactly_once(platform):
    # given: the connection is cut before the platform handles the request
    binding = create(platform.application("AXB"))
    platform.control.set_faults("axb.bind", drop_rate=1, times=1)
    # when
    with pytest.raises(PlatformTransientError):
        services.bind(binding.pk)
    binding.refresh_from_db()
    assert (binding.status, binding.bind_attempts) == (BindingStatus.PENDING, 1)
    services.bind(binding.pk)  # what the retry does
    # then
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE
    assert calls(binding) == ["axb_bind:CONNECTION", "axb_query:1016001", "axb_bind:0"]
    assert len(platform.control.bindings()) == 1


def test_a_bind_whose_answer_was_lost_is_adopted_and_never_sent_again(platform, settings):
    # given: the platform answers after our read timeout, but it does create the binding
    settings.BINDINGS_PLATFORM_READ_TIMEOUT = 0.3
    binding = create(platform.application("AXB"))
    platform.control.set_faults("axb.bind", latency_ms=1200)
    with pytest.raises(PlatformTransientError) as lost:
        services.bind(binding.pk)
    assert lost.value.may_have_landed
    wait_until(lambda: platform.control.bindings(), timeout=10)
    platform.control.clear_faults()
    # when: the retry runs
    services.bind(binding.pk)
    # then
    binding.refresh_from_db()
    (on_platform,) = platform.control.bindings()
    assert binding.status == BindingStatus.ACTIVE
    assert binding.subscription_id == on_platform["subscriptionId"]
    assert calls(binding, "axb_bind") == ["axb_bind:TIMEOUT"]


def test_binding_again_an_active_binding_sends_nothing(platform):
    binding = create(platform.application("AX"))
    services.bind(binding.pk)
    services.bind(binding.pk)
    assert calls(binding) == ["ax_bind:0"]


def test_axyb_whose_y_step_is_refused_removes_its_a_x_part_and_fails(platform):
    # given: on the platform, every number of the city but the console's X is unavailable, so
    # the X step lands on it and no Y is left for the Y step
    binding = create(platform.application("AXYB"))
    for number, _city in POOLS["AXYB"]:
        if number != binding.x_number:
            platform.set_number_status(number, "10", "2")
    # when
    services.bind(binding.pk)
    # then
    binding.refresh_from_db()
    assert binding.status == BindingStatus.FAILED
    assert binding.last_result_code == "1012008"
    assert platform.control.bindings() == []
    assert calls(binding) == ["axyb_bind:0", "axyb_bind:1012008", "axyb_unbind:0"]
    counts = XNumber.objects.filter(pk__in=[binding.x_id, binding.y_id]).values_list(
        "binding_count", "y_binding_count"
    )
    assert set(counts) == {(0, 0)}


def test_axyb_records_the_x_and_y_the_platform_chose_and_counts_them(platform):
    # given: the X and the Y the console counted the binding on are taken on the platform by
    # a binding the console does not know, so the platform chooses others in the same city
    binding = create(platform.application("AXYB"))
    counted_x, counted_y = binding.x_number, binding.y_number
    platform.set_number_status(counted_x, "9")
    platform.set_number_status(counted_y, "9")
    # when
    services.bind(binding.pk)
    # then
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE, binding.last_result_desc
    (ax,) = platform.control.bindings(kind="AXYB")
    (yb,) = platform.control.bindings(kind="YB")
    assert (binding.x_number, binding.y_number) == (ax["x"], yb["y"])
    assert binding.x_number != counted_x
    assert binding.y_number != counted_y
    counts = dict(
        XNumber.objects.filter(number__in=[counted_x, counted_y, ax["x"], yb["y"]]).values_list(
            "number", "binding_count"
        )
    )
    assert (counts[counted_x], counts[ax["x"]]) == (0, 1)
    y_counts = dict(
        XNumber.objects.filter(number__in=[counted_y, yb["y"]]).values_list(
            "number", "y_binding_count"
        )
    )
    assert (y_counts[counted_y], y_counts[yb["y"]]) == (0, 1)


def test_giving_up_adopts_a_bind_that_landed_after_all(platform, settings):
    settings.BINDINGS_PLATFORM_READ_TIMEOUT = 0.3
    binding = create(platform.application("AX"))
    platform.control.set_faults("ax.bind", latency_ms=1000)
    with pytest.raises(PlatformTransientError) as lost:
        services.bind(binding.pk)
    wait_until(lambda: platform.control.bindings(), timeout=10)
    platform.control.clear_faults()
    # when the retries are used up
    services.abandon_bind(binding.pk, lost.value)
    # then
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE


def test_giving_up_on_a_bind_that_never_landed_fails_it_with_the_last_error(platform):
    binding = create(platform.application("AX"))
    platform.control.set_faults("ax.bind", drop_rate=1)
    with pytest.raises(PlatformTransientError) as lost:
        services.bind(binding.pk)
    services.abandon_bind(binding.pk, lost.value)
    binding.refresh_from_db()
    assert (binding.status, binding.last_result_code) == (BindingStatus.FAILED, "CONNECTION")
    assert XNumber.objects.get(pk=binding.x_id).binding_count == 0


@pytest.mark.parametrize("display", ["0", "1"])
def test_an_ax_bind_sends_the_applications_callee_num_display(platform, display):
    application = platform.application("AX")
    application.callee_num_display = display
    application.save()
    binding = create(application)
    services.bind(binding.pk)
    (bound,) = platform.control.bindings(kind="AX")
    assert bound["data"]["calleeNumDisplay"] == display


def test_a_first_bind_renews_the_lease_in_its_claim_and_clears_its_mark_on_failure(
    platform, settings
):
    # given a pending binding whose lease (set when its task was queued) is nearly up
    settings.JOBS_LEASE_SECONDS = 300
    binding = create(platform.application("AXB"))
    Binding.objects.filter(pk=binding.pk).update(lease_until=timezone.now())
    platform.control.set_faults("axb.bind", drop_rate=1, times=1)
    # when the bind's request is cut
    before = timezone.now()
    with pytest.raises(PlatformTransientError):
        services.bind(binding.pk)
    # then the claim renewed the lease and counted the attempt; the failure cleared the mark
    binding.refresh_from_db()
    assert binding.lease_until >= before + timedelta(seconds=299)
    assert (binding.bind_attempts, binding.bind_sent_at) == (1, None)


def test_a_first_bind_gives_no_lease_to_a_binding_that_had_none(platform):
    binding = create(platform.application("AXB"))
    Binding.objects.filter(pk=binding.pk).update(lease_until=None)
    platform.control.set_faults("axb.bind", drop_rate=1, times=1)
    with pytest.raises(PlatformTransientError):
        services.bind(binding.pk)
    binding.refresh_from_db()
    assert (binding.lease_until, binding.bind_attempts) == (None, 1)


def test_a_first_bind_is_five_statements_and_asks_nobody_about_subscriptions(platform):
    # given an application nobody subscribed to (its webhooks_on flag is off)
    binding = create(platform.application("AXB"))
    # when
    with CaptureQueriesContext(connection) as queries:
        services.bind(binding.pk)
    # then: the binding loaded, the claim, the pause check, the call's log row, the activation
    # (in a savepoint here, because the test runs inside a transaction; a worker's is a statement)
    statements = [
        query["sql"].split()[0]
        for query in queries.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    assert statements == ["SELECT", "UPDATE", "SELECT", "INSERT", "UPDATE"], statements
    subscriptions = WebhookSubscription._meta.db_table
    assert not any(subscriptions in query["sql"] for query in queries.captured_queries)
    binding.refresh_from_db()
    assert (binding.status, binding.bind_sent_at, binding.lease_until) == (
        BindingStatus.ACTIVE,
        None,
        None,
    )

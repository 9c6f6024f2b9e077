"""Expiry: set-based statements end what is due; the platform's own expiries are only mirrored."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bindings import pool, release, services
from bindings.choices import BindingStatus, EndReason, NumberState
from bindings.models import Binding, XNumber
from bindings.tests.factories import BindingFactory, XNumberFactory
from console import webhooks
from console.models import PlatformCall, WebhookMessage, WebhookSubscription
from console.testing import wait_until
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PAST = timedelta(minutes=-1)
FUTURE = timedelta(hours=1)


def recount() -> None:
    """Set every number's counts from its live bindings (what the services keep up to date)."""
    live = Binding.objects.filter(status__in=pool.LIVE)
    XNumber.objects.update(
        binding_count=Coalesce(
            Subquery(
                live.filter(x=OuterRef("pk"))
                .order_by()
                .values("x")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            0,
        ),
        y_binding_count=Coalesce(
            Subquery(
                live.filter(y=OuterRef("pk"), yb_ended_at__isnull=True)
                .order_by()
                .values("y")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            0,
        ),
        state=NumberState.IN_USE,
    )


def binding(application, x, due: timedelta | None, **fields) -> Binding:
    expires = timezone.now() + due if due is not None else None
    return BindingFactory(application=application, x=x, expires_at=expires, **fields)


def test_platform_side_expiries_are_mirrored_without_calling_the_platform(settings):
    # given: AXB and AXE bindings, some due, one not, one already ending
    settings.X_COOLDOWN_SECONDS = 300
    axb = ApplicationFactory(mode="AXB")
    axe = ApplicationFactory(mode="AXE")
    x1, x2 = XNumberFactory.create_batch(2, application=axb)
    (e1,) = XNumberFactory.create_batch(1, application=axe, city_code="0571")
    due = [
        binding(axb, x1, PAST),
        binding(axb, x1, PAST),
        binding(axb, x2, PAST),
        binding(axe, e1, PAST),
    ]
    later = binding(axb, x2, FUTURE)
    ending = binding(axb, x2, PAST, status=BindingStatus.ENDING)
    recount()
    # when
    result = services.expire_due()
    # then
    assert result["expired"] == 4
    for b in due:
        b.refresh_from_db()
        assert (b.status, b.end_reason) == (BindingStatus.EXPIRED, EndReason.EXPIRED)
        assert b.ended_at is not None
    assert Binding.objects.get(pk=later.pk).status == BindingStatus.ACTIVE
    assert Binding.objects.get(pk=ending.pk).status == BindingStatus.ENDING
    counts = dict(XNumber.objects.values_list("number", "binding_count"))
    assert counts == {x1.number: 0, x2.number: 2, e1.number: 0}
    x1.refresh_from_db()
    assert x1.state == NumberState.COOLING
    assert x1.cooling_until > timezone.now() + timedelta(seconds=290)
    assert not PlatformCall.objects.exists()


def test_expiry_is_set_based_its_queries_do_not_grow_with_the_number_due():
    def queries_for(count: int) -> int:
        Binding.objects.all().delete()
        XNumber.objects.all().delete()
        axb = ApplicationFactory(mode="AXB")
        numbers = XNumberFactory.create_batch(5, application=axb)
        for i in range(count):
            binding(axb, numbers[i % 5], PAST)
        recount()
        with CaptureQueriesContext(connection) as captured:
            result = services.expire_due()
        assert result["expired"] == count
        assert set(XNumber.objects.values_list("binding_count", flat=True)) == {0}
        return len(captured)

    assert queries_for(5) == queries_for(300)


def test_console_side_expiries_are_marked_ending_and_queued_for_unbinding(
    django_capture_on_commit_callbacks,
):
    # given: AX bindings never expire on the platform; the console ends them
    ax = ApplicationFactory(mode="AX")
    numbers = XNumberFactory.create_batch(3, application=ax)
    due = [binding(ax, numbers[0], PAST), binding(ax, numbers[1], PAST)]
    later = binding(ax, numbers[2], FUTURE)
    recount()
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = services.expire_due()
    # then
    assert result["ending"] == 2
    assert len(callbacks) == 2
    for b in due:
        b.refresh_from_db()
        assert (b.status, b.end_reason) == (BindingStatus.ENDING, EndReason.EXPIRED)
    assert Binding.objects.get(pk=later.pk).status == BindingStatus.ACTIVE
    # they still hold their X until the platform confirms the unbind
    assert XNumber.objects.filter(binding_count=1).count() == 3


def test_an_axyb_y_b_part_that_expired_gives_its_y_back_and_keeps_its_x():
    axyb = ApplicationFactory(mode="AXYB")
    x, y = XNumberFactory.create_batch(2, application=axyb, city_code="028")
    b = binding(axyb, x, FUTURE, y=y, y_number=y.number, yb_expires_at=timezone.now() + PAST)
    recount()
    assert XNumber.objects.get(pk=y.pk).y_binding_count == 1
    result = services.expire_due()
    assert result["yb_ended"] == 1
    b.refresh_from_db()
    assert b.status == BindingStatus.ACTIVE
    assert b.yb_ended_at is not None
    assert XNumber.objects.get(pk=y.pk).y_binding_count == 0
    assert XNumber.objects.get(pk=x.pk).binding_count == 1
    # and when the binding ends, the Y is not given back a second time
    release.end_bindings(Q(pk=b.pk), to_status=BindingStatus.ENDED)
    assert XNumber.objects.get(pk=y.pk).y_binding_count == 0
    assert XNumber.objects.get(pk=x.pk).binding_count == 0


def test_numbers_whose_cooldown_is_over_become_available_again():
    axb = ApplicationFactory(mode="AXB")
    rested = XNumberFactory(
        application=axb, state=NumberState.COOLING, cooling_until=timezone.now() + PAST
    )
    resting = XNumberFactory(
        application=axb, state=NumberState.COOLING, cooling_until=timezone.now() + FUTURE
    )
    assert services.expire_due()["cooled"] == 1
    rested.refresh_from_db()
    resting.refresh_from_db()
    assert (rested.state, rested.cooling_until) == (NumberState.AVAILABLE, None)
    assert resting.state == NumberState.COOLING


def test_without_a_cooldown_a_released_number_is_available_at_once(settings):
    settings.X_COOLDOWN_SECONDS = 0
    axb = ApplicationFactory(mode="AXB")
    x = XNumberFactory(application=axb)
    binding(axb, x, PAST)
    recount()
    services.expire_due()
    x.refresh_from_db()
    assert (x.binding_count, x.state, x.cooling_until) == (0, NumberState.AVAILABLE, None)


def test_the_generic_release_path_gives_the_same_counts_as_postgresql(monkeypatch):
    # given: the SQLite path (three statements in one serialised transaction)
    monkeypatch.setattr(pool, "is_postgresql", lambda: False)
    axyb = ApplicationFactory(mode="AXYB")
    x1, x2, y = XNumberFactory.create_batch(3, application=axyb, city_code="028")
    binding(axyb, x1, PAST, y=y, y_number=y.number)
    binding(axyb, x2, PAST, y=y, y_number=y.number)
    recount()
    # when
    assert services.expire_due()["expired"] == 2
    # then
    counts = set(XNumber.objects.values_list("binding_count", "y_binding_count", "state"))
    assert counts == {(0, 0, NumberState.COOLING)}


def test_a_retired_number_stays_retired_when_its_last_binding_ends():
    axb = ApplicationFactory(mode="AXB")
    x = XNumberFactory(application=axb)
    binding(axb, x, PAST)
    recount()
    XNumber.objects.filter(pk=x.pk).update(state=NumberState.RETIRED)
    services.expire_due()
    x.refresh_from_db()
    assert (x.binding_count, x.state) == (0, NumberState.RETIRED)


@pytest.mark.redis
@pytest.mark.simulator
def test_an_expired_ax_binding_is_unbound_on_the_platform_by_the_worker(platform, celery_worker):
    # given
    application = platform.application("AX")
    created = services.create_binding(application, {"a_number": "+8613800000001"})
    wait_until(
        lambda: Binding.objects.filter(pk=created.pk, status=BindingStatus.ACTIVE).exists(),
        timeout=30,
    )
    Binding.objects.filter(pk=created.pk).update(expires_at=timezone.now() + PAST)
    # when
    services.expire_due()
    # then
    wait_until(
        lambda: Binding.objects.filter(pk=created.pk, status=BindingStatus.EXPIRED).exists(),
        timeout=30,
    )
    assert platform.control.bindings() == []
    assert XNumber.objects.get(pk=created.x_id).binding_count == 0


@pytest.mark.parametrize("raw", [True, False], ids=["postgresql", "generic"])
def test_an_expiry_in_several_batches_announces_each_binding_once(settings, monkeypatch, raw):
    # given five due AXB bindings, batches of two, and a subscriber to binding.expired
    monkeypatch.setattr(pool, "is_postgresql", lambda: raw)
    settings.BINDINGS_EXPIRE_BATCH = 2
    axb = ApplicationFactory(mode="AXB")
    subscription = WebhookSubscription(
        application=axb, url="http://127.0.0.1:9/hook", events=["binding.expired"]
    )
    subscription.set_secret(webhooks.new_secret())
    subscription.save()
    numbers = XNumberFactory.create_batch(2, application=axb)
    due = [binding(axb, numbers[i % 2], PAST) for i in range(5)]
    recount()
    # when
    assert services.expire_due()["expired"] == 5
    # then each is announced once, not again by the batches after its own
    announced = WebhookMessage.objects.filter(event_type="binding.expired")
    assert sorted(m.payload["data"]["id"] for m in announced) == sorted(b.pk for b in due)
    assert set(XNumber.objects.values_list("binding_count", flat=True)) == {0}


@pytest.mark.django_db(transaction=True)
def test_a_binding_a_worker_holds_is_skipped_not_waited_for(settings):
    # given three due bindings, batches of one, and another transaction holding the second
    settings.BINDINGS_EXPIRE_BATCH = 1
    axb = ApplicationFactory(mode="AXB")
    x = XNumberFactory(application=axb)
    first, held, last = (binding(axb, x, timedelta(minutes=-m)) for m in (3, 2, 1))
    recount()
    holding, done = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Binding.objects.select_for_update().get(pk=held.pk)
                holding.set()
                done.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        # when
        started = time.monotonic()
        result = services.expire_due()
        took = time.monotonic() - started
    finally:
        done.set()
        holder.join()
    # then the others expired at once; the held one is left for the next run
    assert took < 10
    statuses = dict(Binding.objects.values_list("pk", "status"))
    assert statuses[first.pk] == statuses[last.pk] == BindingStatus.EXPIRED
    assert statuses[held.pk] == BindingStatus.ACTIVE
    assert XNumber.objects.get(pk=x.pk).binding_count == 1
    assert result["expired"] == 2
    assert services.expire_due()["expired"] == 1
    assert XNumber.objects.get(pk=x.pk).binding_count == 0

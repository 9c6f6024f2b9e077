"""Parallel creates never choose a combination the platform would refuse (PostgreSQL, simulator)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from bindings import services
from bindings.choices import BindingStatus
from bindings.models import Binding, XNumber
from console.models import PlatformCall
from console.testing import wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.simulator,
    pytest.mark.slow,
]


def run_in_parallel(application, rows: list[dict]) -> list[int | str]:
    """Create one binding per row, all at once from as many threads; ids or refusal rules."""
    start = threading.Barrier(len(rows))

    def create(row: dict) -> int | str:
        try:
            start.wait()
            return services.create_binding(application, row).pk
        except services.BindingRefused as refusal:
            return refusal.rule
        finally:
            connection.close()

    with ThreadPoolExecutor(len(rows)) as pool:
        return list(pool.map(create, rows))


def all_settled(ids: list[int]) -> bool:
    return not Binding.objects.filter(pk__in=ids, status=BindingStatus.PENDING).exists()


def test_twenty_parallel_axb_creates_of_one_a_land_on_twenty_different_x(
    platform, celery_worker, transactional_db
):
    # given: exactly 20 X in Shenzhen; one A with 20 different B (a user number once per X)
    application = platform.application("AXB", numbers=20)
    rows = [
        {"a_number": "+8613800000001", "b_number": f"+86139{i:08d}", "area_code": "0755"}
        for i in range(20)
    ]
    # when
    results = run_in_parallel(application, rows)
    # then
    assert all(isinstance(r, int) for r in results), results
    wait_until(lambda: all_settled(results), timeout=60)
    statuses = Counter(Binding.objects.filter(pk__in=results).values_list("status", flat=True))
    assert statuses == {BindingStatus.ACTIVE: 20}
    assert not PlatformCall.objects.exclude(result_code="0").exists()
    x_ids = list(Binding.objects.filter(pk__in=results).values_list("x_id", flat=True))
    assert len(set(x_ids)) == 20
    assert set(XNumber.objects.values_list("binding_count", flat=True)) == {1}
    assert len(platform.control.bindings()) == 20


def test_parallel_ax_creates_give_each_a_five_x_and_refuse_the_sixth_here(
    platform, celery_worker, transactional_db
):
    # given: 4 A numbers ask for 6 X each, 24 creates at once; 25 X in Shenzhen
    application = platform.application("AX")
    rows = [{"a_number": f"+8613800000{a:03d}", "area_code": "0755"} for a in range(4)] * 6
    # when
    results = run_in_parallel(application, rows)
    # then: the sixth of each A is refused by the console, not by the platform
    created = [r for r in results if isinstance(r, int)]
    assert Counter(r for r in results if isinstance(r, str)) == {"a_holds_5": 4}
    wait_until(lambda: all_settled(created), timeout=60)
    per_a = Counter(
        Binding.objects.filter(pk__in=created, status=BindingStatus.ACTIVE).values_list(
            "a_number", flat=True
        )
    )
    assert sorted(per_a.values()) == [5, 5, 5, 5]
    assert not PlatformCall.objects.exclude(result_code="0").exists()
    counts = Counter(XNumber.objects.values_list("binding_count", flat=True))
    assert counts[1] == 20
    assert set(counts) <= {0, 1}


def test_a_bind_run_twice_while_its_request_is_in_flight_sends_one_request(
    platform, transactional_db
):
    # given a pending binding, and a platform that takes 1.5 s to answer a bind
    from shell.celery import app

    application = platform.application("AXB")
    binding = services.create_binding(
        application,
        {"a_number": "+8613800000001", "b_number": "+8613900000001", "area_code": "0755"},
    )
    app.control.purge()  # its queued task: the two runs below are this test's own
    platform.control.set_faults("axb.bind", latency_ms=1500)

    def run() -> None:
        try:
            services.bind(binding.pk)
        finally:
            connection.close()

    # when a run of the bind is in the middle of its request, and a second run starts (the same
    # message given back by Redis, or sent again by the sweeper once the lease ran out)
    first = threading.Thread(target=run)
    first.start()
    wait_until(lambda: Binding.objects.get(pk=binding.pk).bind_attempts == 1, timeout=10)
    run()
    first.join(timeout=15)
    # then the platform was asked to bind once, and the binding is active with that bind
    assert PlatformCall.objects.filter(binding=binding, interface="axb_bind").count() == 1
    binding.refresh_from_db()
    assert (binding.status, binding.bind_attempts) == (BindingStatus.ACTIVE, 1)
    (landed,) = platform.control.bindings(application.app_key)
    assert landed["subscriptionId"] == binding.subscription_id

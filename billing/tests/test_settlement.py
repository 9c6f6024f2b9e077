"""Hourly settlement: packages first, the excess at the tariff, by the hour a call ended.

Every expectation is computed by hand in the comments. Prices: 0.10 per started minute for
direction 0 (to A), 0.12 for direction 1 (from A). Times are UTC (Beijing is UTC+8).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import packages, services, settlement
from billing.models import Package, PackageDraw, SettledHour
from billing.tests.factories import ApplicationFactory, TariffFactory, fee, utc
from console.choices import AlertKind
from console.models import Alert
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

MARCH = date(2026, 3, 1)
SHANGHAI_MARCH = (utc(2026, 2, 28, 16), utc(2026, 3, 31, 16))  # [start, end) of March in Beijing


@pytest.fixture
def application():
    app = ApplicationFactory()
    TariffFactory(
        application=app,
        valid_from=date(2026, 1, 1),
        price_to_a="0.10",
        price_from_a="0.12",
        monthly_rent_per_number="0",
    )
    return app


def call(application, ended: datetime, seconds: int, direction: int = 1, received=None) -> str:
    """Store one answered call of ``seconds`` that ended at ``ended``; returns its icid."""
    answered = ended - timedelta(seconds=seconds)
    body = fee(
        application,
        answered=answered,
        talk=seconds,
        started=answered - timedelta(seconds=5),
        direction=direction,
    )
    services.ingest_cdrs(application, [FeeInfo.model_validate(body)], now=received)
    return body["icid"]


def package(application, minutes, *, start=SHANGHAI_MARCH[0], end=SHANGHAI_MARCH[1], **extra):
    return Package.objects.create(
        application=application,
        name=extra.pop("name", f"P{minutes}"),
        minutes=minutes,
        price=Decimal("10.00"),
        valid_from=start,
        valid_until=end,
        **extra,
    )


def hour_of(application, hour) -> SettledHour:
    return SettledHour.objects.get(application=application, hour=hour)


def test_a_call_of_exactly_60_s_is_one_minute_and_61_s_two(application):
    # given calls of 60 s and 61 s that ended at 10:20 and 10:30
    call(application, utc(2026, 3, 10, 10, 20), 60)
    call(application, utc(2026, 3, 10, 10, 30), 61)
    # when the hour is settled
    settlement.settle_application(application, until=utc(2026, 3, 10, 11))
    # then 1 + 2 = 3 minutes, all excess (no package): 3 × 0.12 = 0.36
    hour = hour_of(application, utc(2026, 3, 10, 10))
    assert (hour.calls, hour.minutes, hour.package_minutes, hour.excess_minutes) == (2, 3, 0, 3)
    figures = services.compute_statement(application, MARCH)
    assert (figures.minutes, figures.excess_minutes) == (3, 3)
    assert figures.call_charges == Decimal("0.36")


def test_a_call_across_an_hour_boundary_is_billed_whole_in_the_hour_it_ended(application):
    # given a call answered at 10:59:30 that ended at 11:01:10 (100 s: 2 minutes)
    call(application, utc(2026, 3, 10, 11, 1, 10), 100)
    # when
    settlement.settle_application(application, until=utc(2026, 3, 10, 12))
    # then nothing in the hour it started, both minutes in the hour it ended
    assert not SettledHour.objects.filter(hour=utc(2026, 3, 10, 10)).exists()
    hour = hour_of(application, utc(2026, 3, 10, 11))
    assert (hour.calls, hour.minutes) == (1, 2)


def test_a_package_exhausted_mid_hour_covers_the_calls_that_ended_first(application):
    # given a 5-minute package and, in one hour, calls of 3 min (from A), 4 min (to A) and
    # 2 min (from A) that ended in that order
    five = package(application, 5)
    call(application, utc(2026, 3, 10, 10, 10), 180, direction=1)
    call(application, utc(2026, 3, 10, 10, 20), 240, direction=0)
    call(application, utc(2026, 3, 10, 10, 30), 120, direction=1)
    # when
    settlement.settle_application(application, until=utc(2026, 3, 10, 11))
    # then the package gives 5 of the hour's 9 minutes: all 3 of the first call, 2 of the
    # second's 4; the second's other 2 and the third's 2 are the excess
    hour = hour_of(application, utc(2026, 3, 10, 10))
    assert (hour.minutes, hour.package_minutes, hour.excess_minutes) == (9, 5, 4)
    assert hour.lines["1"] == {"calls": 2, "minutes": 5, "package_minutes": 3, "excess_minutes": 2}
    assert hour.lines["0"] == {"calls": 1, "minutes": 4, "package_minutes": 2, "excess_minutes": 2}
    assert list(PackageDraw.objects.values_list("package_id", "minutes")) == [(five.pk, 5)]
    # and the statement charges the excess: 2 × 0.12 + 2 × 0.10 = 0.44
    figures = services.compute_statement(application, MARCH)
    assert (figures.minutes, figures.package_minutes, figures.excess_minutes) == (9, 5, 4)
    assert figures.call_charges == Decimal("0.44")
    lines = {line["direction"]: line for line in figures.lines}
    assert (lines[1]["excess_minutes"], lines[1]["charge"]) == (2, "0.24")
    assert (lines[0]["excess_minutes"], lines[0]["charge"]) == (2, "0.20")
    assert packages.balances(application, now=utc(2026, 3, 20))[0].remaining == 0


def test_two_overlapping_packages_are_drawn_on_in_their_order(application):
    # given a 10-minute package used second and a 4-minute one used first
    second = package(application, 10, priority=2, name="second")
    first = package(application, 4, priority=1, name="first")
    # 6 minutes in the 10:00 hour, 10 minutes in the 11:00 hour
    call(application, utc(2026, 3, 10, 10, 30), 360)
    call(application, utc(2026, 3, 10, 11, 30), 600)
    # when
    settlement.settle_application(application, until=utc(2026, 3, 10, 12))
    # then 10:00: the first package's 4, then 2 of the second; 11:00: the second's last 8, and
    # 2 minutes of excess
    draws = sorted(PackageDraw.objects.values_list("hour", "package_id", "minutes"))
    assert draws == [
        (utc(2026, 3, 10, 10), second.pk, 2),
        (utc(2026, 3, 10, 10), first.pk, 4),
        (utc(2026, 3, 10, 11), second.pk, 8),
    ]
    assert hour_of(application, utc(2026, 3, 10, 11)).excess_minutes == 2
    figures = services.compute_statement(application, MARCH)
    assert (figures.package_minutes, figures.excess_minutes, figures.call_charges) == (
        14,
        2,
        Decimal("0.24"),
    )


def test_a_package_that_expires_mid_month_covers_only_its_hours(application):
    # given a 100-minute package valid from 1 March to 15 March 00:00 Beijing (14 March 16:00 UTC)
    half = package(application, 100, end=utc(2026, 3, 14, 16))
    # a 5-minute call that ended at 23:30 Beijing on the 14th, one that ended at 00:20 on the 15th
    call(application, utc(2026, 3, 14, 15, 30), 300)
    call(application, utc(2026, 3, 14, 16, 20), 300)
    # when
    settlement.settle_application(application, until=utc(2026, 3, 15))
    # then the first is covered, the second is charged: 5 × 0.12 = 0.60; 95 minutes expired unused
    figures = services.compute_statement(application, MARCH)
    assert (figures.package_minutes, figures.excess_minutes, figures.call_charges) == (
        5,
        5,
        Decimal("0.60"),
    )
    balance = packages.balances(application, now=utc(2026, 3, 14, 12))[0]
    assert (balance.package, balance.remaining) == (half, 95)


def test_without_the_beat_the_statement_derives_the_hours_it_has_not_settled(application):
    # given the 5-minute package and the three calls of the mid-hour case, nothing settled
    package(application, 5)
    call(application, utc(2026, 3, 10, 10, 10), 180, direction=1)
    call(application, utc(2026, 3, 10, 10, 20), 240, direction=0)
    call(application, utc(2026, 3, 10, 10, 30), 120, direction=1)
    # when / then the same figures as once settled
    figures = services.compute_statement(application, MARCH)
    assert (figures.package_minutes, figures.excess_minutes, figures.call_charges) == (
        5,
        4,
        Decimal("0.44"),
    )
    assert not SettledHour.objects.exists()


def a_month_with_packages(application):
    package(application, 5)
    package(application, 3, priority=0, end=utc(2026, 3, 14, 16))
    call(application, utc(2026, 3, 2, 1, 10), 130, direction=0)  # 3 min
    call(application, utc(2026, 3, 2, 1, 50), 61)  # 2 min
    call(application, utc(2026, 3, 20, 8, 1), 600)  # 10 min
    call(application, utc(2026, 3, 31, 15, 59, 59), 59)  # 1 min, 23:59:59 on 31 March Beijing
    call(application, utc(2026, 3, 31, 16, 0, 1), 59)  # 00:00:01 on 1 April Beijing: April


def test_a_closed_month_recomputed_from_its_cdrs_gives_identical_figures(application):
    # given a month with two packages, closed (its hours settled and stored)
    a_month_with_packages(application)
    statement = services.refresh_statement(application, MARCH, close=True)
    # 3 + 2 minutes on 2 March: the 3-minute package first (priority 0), then 2 of the 5;
    # 20 March: the 5-minute package's last 3 of 10 (the other expired on the 14th); 31 March: 1
    assert (statement.minutes, statement.package_minutes, statement.excess_minutes) == (16, 8, 8)
    assert statement.call_charges == Decimal("0.96")  # 8 × 0.12 (the to-A call was covered)
    assert SettledHour.objects.filter(application=application).count() == 3
    # when prices, packages and the pool change afterwards
    TariffFactory(application=application, valid_from=date(2026, 4, 1), price_from_a="9.99")
    package(application, 1000, start=utc(2026, 3, 31, 16), end=utc(2027, 3, 31, 16))
    statement.refresh_from_db()
    # then recomputing March from its CDRs gives the same figures, and settling again changes
    # nothing
    assert services.recompute_differences(statement) == {}
    settlement.settle_application(application, until=utc(2026, 4, 2))
    assert set(SettledHour.objects.filter(revisions__gt=0).values_list("hour", flat=True)) == set()
    assert services.recompute_differences(statement) == {}


def test_a_late_cdr_settles_its_hour_again_and_the_hours_whose_balance_it_moved(application):
    # given a 10-minute package, a 6-minute call at 10:30 and one at 11:30, settled at 12:11
    package(application, 10)
    call(application, utc(2026, 3, 10, 10, 30), 360, received=utc(2026, 3, 10, 10, 31))
    call(application, utc(2026, 3, 10, 11, 30), 360, received=utc(2026, 3, 10, 11, 31))
    settlement.settle_due_hours(now=utc(2026, 3, 10, 12, 11))
    # 10:00: 6 of the package; 11:00: its last 4, 2 minutes of excess
    assert hour_of(application, utc(2026, 3, 10, 11)).excess_minutes == 2
    # when a 3-minute call that ended at 10:45 arrives at 13:50 (a retried push)
    call(application, utc(2026, 3, 10, 10, 45), 180, received=utc(2026, 3, 10, 13, 50))
    settlement.settle_due_hours(now=utc(2026, 3, 10, 14, 11))
    # then 10:00 is settled again with 9 minutes, all from the package, and 11:00 gets only the
    # package's last 1 minute: 5 of excess, as if the CDR had come in time
    ten, eleven = (
        hour_of(application, utc(2026, 3, 10, 10)),
        hour_of(application, utc(2026, 3, 10, 11)),
    )
    assert (ten.minutes, ten.package_minutes, ten.excess_minutes) == (9, 9, 0)
    assert (eleven.minutes, eleven.package_minutes, eleven.excess_minutes) == (6, 1, 5)
    # and visibly: each hour counts a revision and keeps its figures from before
    assert (ten.revisions, ten.late_calls, ten.before["minutes"]) == (1, 1, 6)
    assert (eleven.revisions, eleven.late_calls, eleven.before["excess_minutes"]) == (1, 0, 2)
    # the stored settlement equals a settlement of everything at once
    rederived = {f.hour: f.key() for f in settlement.derive(application.pk, *SHANGHAI_MARCH)}
    stored = {f.hour: f.key() for f in settlement.hours(application.pk, *SHANGHAI_MARCH)}
    assert stored == rederived
    assert services.compute_statement(application, MARCH).call_charges == Decimal("0.60")
    # when the job runs again, nothing more is revised
    settlement.settle_due_hours(now=utc(2026, 3, 10, 14, 16))
    assert hour_of(application, utc(2026, 3, 10, 10)).revisions == 1


def test_settling_twice_is_settling_once(application):
    package(application, 4)
    call(application, utc(2026, 3, 10, 10, 30), 360, received=utc(2026, 3, 10, 10, 31))
    settlement.settle_due_hours(now=utc(2026, 3, 10, 11, 30))
    first = list(SettledHour.objects.values("hour", "minutes", "package_minutes", "revisions"))
    settlement.settle_due_hours(now=utc(2026, 3, 10, 11, 30))
    settlement.settle_due_hours(now=utc(2026, 3, 10, 12, 30))
    assert list(SettledHour.objects.values("hour", "minutes", "package_minutes", "revisions")) == (
        first
    )
    assert PackageDraw.objects.count() == 1


def test_an_hour_is_settled_only_once_it_is_over_and_its_first_retries_are_in(application):
    call(application, utc(2026, 3, 10, 10, 58), 60, received=utc(2026, 3, 10, 10, 58))
    settlement.settle_due_hours(now=utc(2026, 3, 10, 11, 9))
    assert not SettledHour.objects.exists()  # 10:00 is settled from 11:10 on
    settlement.settle_due_hours(now=utc(2026, 3, 10, 11, 10))
    assert SettledHour.objects.get().minutes == 1


def test_a_cdr_of_a_closed_month_leaves_the_statement_and_raises_an_alert(application):
    # given March, closed
    call(application, utc(2026, 3, 10, 10, 30), 120, received=utc(2026, 3, 10, 10, 31))
    march = services.refresh_statement(application, MARCH, close=True)
    # when a March CDR arrives in April and the job runs
    call(application, utc(2026, 3, 10, 10, 40), 120, received=utc(2026, 4, 2, 1))
    settlement.settle_due_hours(now=utc(2026, 4, 2, 2))
    # then March keeps its figures, the check tells, and an alert says why
    march.refresh_from_db()
    assert march.minutes == 2
    assert services.recompute_differences(march)["minutes"] == (2, 4)
    assert hour_of(application, utc(2026, 3, 10, 10)).minutes == 2
    alert = Alert.objects.get(kind=AlertKind.LATE_AFTER_CLOSE, resolved_at__isnull=True)
    assert alert.params["months"] == "2026-03"


def test_packages_start_and_end_on_whole_hours_and_never_in_a_closed_month(application):
    odd = Package(
        application=application,
        name="odd",
        minutes=10,
        valid_from=utc(2026, 5, 1, 10, 3),  # bought at 10:03: Huawei starts it at 11:00
        valid_until=utc(2027, 5, 1, 11),
    )
    with pytest.raises(ValidationError) as refused:
        packages.validate(odd)
    assert set(refused.value.message_dict) == {"valid_from"}
    odd.valid_from, odd.valid_until = utc(2026, 5, 1, 10), utc(2026, 5, 1, 9)
    with pytest.raises(ValidationError) as refused:
        packages.validate(odd)
    assert set(refused.value.message_dict) == {"valid_until"}
    # a closed March: a package may start on 1 April 00:00 Beijing at the earliest
    services.refresh_statement(application, MARCH, close=True)
    late = Package(
        application=application,
        name="late",
        minutes=10,
        valid_from=utc(2026, 3, 20),
        valid_until=utc(2026, 6, 1),
    )
    with pytest.raises(ValidationError) as refused:
        packages.validate(late)
    assert "2026-04-01 00:00" in refused.value.message_dict["valid_from"][0]
    late.valid_from = utc(2026, 3, 31, 16)
    packages.validate(late)


def test_a_package_running_out_raises_an_alert_that_resolves_when_it_expires(application, settings):
    settings.BILLING_PACKAGE_ALERT_PERCENT = 10
    hundred = package(application, 100)
    call(application, utc(2026, 3, 10, 10, 30), 89 * 60)
    settlement.settle_due_hours(now=utc(2026, 3, 10, 12))
    # 11 minutes left: above 10 % of 100
    assert not Alert.objects.filter(kind=AlertKind.PACKAGE_LOW).exists()
    call(application, utc(2026, 3, 10, 12, 30), 2 * 60)
    settlement.settle_due_hours(now=utc(2026, 3, 10, 14))
    alert = Alert.objects.get(kind=AlertKind.PACKAGE_LOW, resolved_at__isnull=True)
    assert alert.key == f"package:{hundred.pk}"
    assert (alert.params["remaining"], alert.params["minutes"]) == (9, 100)
    # when the package is no longer valid, its alert is resolved
    settlement.settle_due_hours(now=utc(2026, 4, 1))
    assert not Alert.objects.filter(kind=AlertKind.PACKAGE_LOW, resolved_at__isnull=True).exists()


def test_a_package_added_afterwards_settles_its_hours_again(application):
    call(application, utc(2026, 3, 10, 10, 30), 300, received=utc(2026, 3, 10, 10, 31))
    settlement.settle_due_hours(now=utc(2026, 3, 10, 12))
    assert hour_of(application, utc(2026, 3, 10, 10)).excess_minutes == 5
    bought = package(application, 3)
    packages.changed(bought)
    ten = hour_of(application, utc(2026, 3, 10, 10))
    assert (ten.package_minutes, ten.excess_minutes, ten.revisions) == (3, 2, 1)


def test_the_worked_example_of_docs_billing_md(application):
    """docs/billing.md walks a finance reader through this month; its figures are these."""
    # packages: B (10 min, used first, until 15 March 00:00) and A (5 min, all March); Beijing
    # times in the comments
    a = package(application, 5, name="A", priority=1)
    b = package(application, 10, name="B", priority=0, end=utc(2026, 3, 14, 16))
    call(application, utc(2026, 3, 2, 2, 10), 125)  # 2 Mar 10:10, 3 min
    call(application, utc(2026, 3, 2, 2, 40), 61)  # 2 Mar 10:40, 2 min
    call(application, utc(2026, 3, 14, 15, 20), 60)  # 14 Mar 23:20, 1 min
    call(application, utc(2026, 3, 20, 8, 1), 150)  # 20 Mar 15:58:30–16:01:00, 3 min
    call(application, utc(2026, 3, 25, 1, 10), 120)  # 25 Mar 09:10, 2 min
    call(application, utc(2026, 3, 25, 1, 30), 200, direction=0)  # 25 Mar 09:30, 4 min, to A
    call(application, utc(2026, 3, 31, 15, 59, 59), 59)  # 31 Mar 23:59:59, 1 min
    call(application, utc(2026, 3, 31, 16, 0, 1), 59)  # 1 Apr 00:00:01: April's
    statement = services.refresh_statement(application, MARCH, close=True)
    draws = sorted(
        (hour.astimezone(settlement.UTC), package_id, minutes)
        for hour, package_id, minutes in PackageDraw.objects.values_list(
            "hour", "package_id", "minutes"
        )
    )
    assert draws == [
        (utc(2026, 3, 2, 2), b.pk, 5),
        (utc(2026, 3, 14, 15), b.pk, 1),
        (utc(2026, 3, 20, 8), a.pk, 3),  # the 16:00 hour (Beijing): B expired with 4 unused
        (utc(2026, 3, 25, 1), a.pk, 2),  # A's last 2, to the call that ended first
    ]
    assert (statement.minutes, statement.package_minutes, statement.excess_minutes) == (16, 11, 5)
    lines = {line["direction"]: line for line in statement.lines}
    assert (lines[0]["excess_minutes"], lines[0]["charge"]) == (4, "0.40")
    assert (lines[1]["excess_minutes"], lines[1]["charge"]) == (1, "0.12")
    assert statement.call_charges == Decimal("0.52")

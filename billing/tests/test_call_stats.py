"""The dashboard's hourly totals are rebuilt from the CDRs, late ones included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum

from billing import services
from billing.models import CallStat, CallStatCursor
from billing.tests.factories import fee, unanswered, utc
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOW = utc(2026, 3, 10, 12, 0, 0)


def ingest(application, *bodies, now=NOW):
    services.ingest_cdrs(application, [FeeInfo.model_validate(b) for b in bodies], now=now)


def totals():
    return {
        (row["hour"], row["outcome"], row["release_point"]): (row["calls"], row["minutes"])
        for row in CallStat.objects.values("hour", "outcome", "release_point")
        .annotate(calls=Sum("calls"), minutes=Sum("minutes"))
        .order_by()
    }


def test_hours_are_totalled_by_outcome_and_release_point():
    # given
    app = ApplicationFactory()
    nine, ten = utc(2026, 3, 10, 9, 0, 0), utc(2026, 3, 10, 10, 0, 0)
    ingest(
        app,
        fee(app, started=nine, talk=61),
        fee(app, started=nine + timedelta(minutes=59), talk=1),
        unanswered(fee(app, started=nine), 8102),
        unanswered(fee(app, started=ten), 8101),
        fee(app, started=ten, subscriptionId="s", callInTime="", fwdStartTime=""),  # redial dup
    )
    # when
    rebuilt = services.refresh_call_stats(now=NOW + timedelta(minutes=5))
    # then
    assert rebuilt == 2
    assert totals() == {
        (nine, "answered", 0): (2, 3),
        (nine, "callee", 8102): (1, 0),
        (ten, "callee", 8101): (1, 0),
    }


def test_a_late_cdr_makes_its_old_hour_be_rebuilt_and_nothing_is_counted_twice():
    # given
    app = ApplicationFactory()
    nine = utc(2026, 3, 10, 9, 0, 0)
    ingest(app, fee(app, started=nine))
    services.refresh_call_stats(now=NOW + timedelta(minutes=5))
    # when a CDR of that hour arrives hours later (the platform retried it)
    ingest(app, fee(app, started=nine), now=NOW + timedelta(hours=4))
    services.refresh_call_stats(now=NOW + timedelta(hours=4, minutes=5))
    services.refresh_call_stats(now=NOW + timedelta(hours=4, minutes=6))
    # then
    assert totals() == {(nine, "answered", 0): (2, 4)}


def test_the_cursor_waits_for_records_that_may_still_be_committing():
    app = ApplicationFactory()
    ingest(app, fee(app), now=NOW)
    services.refresh_call_stats(now=NOW + timedelta(seconds=10))
    assert CallStatCursor.objects.get().last_record_id == 0
    services.refresh_call_stats(now=NOW + timedelta(minutes=2))
    assert CallStatCursor.objects.get().last_record_id > 0

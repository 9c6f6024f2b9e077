"""Statements: figures from the CDRs, the tariff and the pool; closed by beat; recomputable."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing import services
from billing.models import Statement
from billing.tests.factories import TariffFactory, fee, unanswered, utc
from bindings.models import XNumber
from bindings.tests.factories import XNumberFactory
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

MARCH = date(2026, 3, 1)


def ingest(application, *bodies):
    services.ingest_cdrs(application, [FeeInfo.model_validate(b) for b in bodies])


@pytest.fixture
def application():
    app = ApplicationFactory()
    TariffFactory(
        application=app,
        valid_from=date(2026, 1, 1),
        price_to_a="0.10",
        price_from_a="0.12",
        monthly_rent_per_number="15.00",
    )
    return app


def numbers_since_january(application, count):
    """X numbers in the pool since before March (created_at is set on insert)."""
    XNumberFactory.create_batch(count, application=application)
    XNumber.objects.filter(application=application).update(created_at=utc(2026, 1, 1))


def a_month_of_calls(application):
    """Calls of March 2026 (Beijing time), with the edges and the quirks."""
    ingest(
        application,
        fee(application, direction=0, talk=61),  # 2 minutes at 0.10
        fee(application, direction=1, talk=30),  # 1 minute at 0.12
        fee(application, direction=1, talk=600),  # 10 minutes at 0.12
        unanswered(fee(application, direction=1)),  # not answered: no minutes
        fee(application, subscriptionId="s", callInTime="", talk=600),  # redial duplicate
        # 23:59 on 31 March in Beijing is March; 00:00 on 1 April in Beijing is April
        fee(application, direction=0, talk=1, started=utc(2026, 3, 31, 15, 59, 0)),
        fee(application, direction=0, talk=1, started=utc(2026, 3, 31, 16, 0, 0)),
        # 23:59 on 28 February UTC is already 1 March in Beijing
        fee(application, direction=0, talk=1, started=utc(2026, 2, 28, 16, 0, 0)),
    )


def test_a_statement_bills_started_minutes_by_direction_and_rent_per_number(application):
    # given
    a_month_of_calls(application)
    numbers_since_january(application, 3)
    # when
    figures = services.compute_statement(application, MARCH)
    # then
    assert (figures.calls, figures.answered_calls, figures.minutes) == (6, 5, 15)
    assert figures.call_charges == Decimal("0.10") * 4 + Decimal("0.12") * 11
    assert (figures.x_numbers, figures.number_rent) == (3, Decimal("45.00"))
    assert figures.total == figures.call_charges + Decimal("45.00")
    assert all(isinstance(v, Decimal) for v in (figures.call_charges, figures.total))


def test_a_closed_statement_recomputed_from_its_cdrs_gives_the_same_figures(application):
    # given
    a_month_of_calls(application)
    numbers_since_january(application, 2)
    statement = services.refresh_statement(application, MARCH, close=True)
    assert statement.x_numbers == 2
    # when the pool and the tariff change afterwards
    numbers_since_january(application, 5)
    TariffFactory(application=application, valid_from=date(2026, 4, 1), price_from_a="9.99")
    statement.refresh_from_db()
    # then
    assert services.recompute_differences(statement) == {}
    assert statement.state == "closed"


def test_recomputing_finds_a_cdr_that_arrived_after_closing(application):
    a_month_of_calls(application)
    statement = services.refresh_statement(application, MARCH, close=True)
    ingest(application, fee(application, direction=1, talk=61))
    assert services.recompute_differences(statement)["minutes"] == (15, 17)


def test_a_closed_statement_is_never_recomputed(application):
    a_month_of_calls(application)
    closed = services.refresh_statement(application, MARCH, close=True)
    ingest(application, fee(application, talk=600))
    again = services.refresh_statement(application, MARCH)
    assert (again.pk, again.minutes, again.total) == (closed.pk, closed.minutes, closed.total)


def test_the_tariff_of_a_month_is_the_latest_valid_from_then(application):
    TariffFactory(application=application, valid_from=date(2026, 3, 1), price_from_a="1.00")
    TariffFactory(application=application, valid_from=date(2026, 4, 1), price_from_a="2.00")
    ingest(application, fee(application, direction=1, talk=60))
    assert services.compute_statement(application, MARCH).call_charges == Decimal("1.00")


def test_the_beat_job_closes_last_month_only_after_the_retry_window(application):
    # given
    a_month_of_calls(application)
    month_end = services.month_bounds(MARCH)[1]
    # when the platform may still retry a push
    assert services.close_statements(now=month_end + timedelta(hours=5)) == []
    # then last month is open and this month's statement exists
    open_march = Statement.objects.get(application=application, month=MARCH)
    assert open_march.state == "open"
    assert Statement.objects.filter(application=application, month=date(2026, 4, 1)).exists()
    # when the window has passed
    closed = services.close_statements(now=month_end + timedelta(hours=6, minutes=1))
    # then
    assert closed == [open_march.pk]
    open_march.refresh_from_db()
    assert open_march.state == "closed"
    assert open_march.minutes == 15
    # and running again changes nothing
    assert services.close_statements(now=month_end + timedelta(hours=7)) == []


def test_the_beat_job_skips_applications_with_nothing_to_bill(application):
    idle = ApplicationFactory()
    services.close_statements(now=utc(2026, 4, 2, 0, 0, 0))
    assert not Statement.objects.filter(application=idle).exists()


def test_a_month_without_a_tariff_stays_open_until_one_arrives():
    # given March calls of an application nobody has priced yet
    application = ApplicationFactory()
    a_month_of_calls(application)
    due = services.month_bounds(MARCH)[1] + timedelta(hours=7)
    # when the beat job runs after the retry window
    assert services.close_statements(now=due) == []
    # then March is not closed at 0.00 for good: it stays open and says why
    march = Statement.objects.get(application=application, month=MARCH)
    assert (march.state, march.call_charges, march.minutes) == ("open", Decimal("0.00"), 15)
    assert services.waits_for_tariff(march)
    # when a tariff valid from February arrives, and the job runs again a month later
    TariffFactory(application=application, valid_from=date(2026, 2, 1), price_from_a="0.12")
    closed = services.close_statements(now=due + timedelta(days=31))
    # then March is closed with its real charges
    march.refresh_from_db()
    assert march.pk in closed
    assert march.state == "closed"
    assert march.call_charges == Decimal("0.10") * 4 + Decimal("0.12") * 11
    assert not services.waits_for_tariff(march)


def test_a_tariff_saved_in_the_admin_reprices_the_open_statements(boss):
    # given an open March statement without a tariff
    application = ApplicationFactory()
    a_month_of_calls(application)
    services.refresh_statement(application, MARCH)
    # when an administrator adds the tariff
    response = boss.post(
        "/admin/billing/tariff/add/",
        {
            "application": application.pk,
            "valid_from": "2026-01-01",
            "price_to_a": "0.10",
            "price_from_a": "0.12",
            "price_abnormal": "0",
            "monthly_rent_per_number": "0",
        },
        follow=True,
    )
    # then the statement is recomputed with it at once, and the page says so
    assert response.status_code == 200
    march = Statement.objects.get(application=application, month=MARCH)
    assert march.call_charges == Decimal("0.10") * 4 + Decimal("0.12") * 11
    assert "1 份未结账单已按此资费重新计算" in response.content.decode()


def test_a_tariff_a_closed_statement_was_billed_with_cannot_be_changed(boss, application):
    a_month_of_calls(application)
    closed = services.refresh_statement(application, MARCH, close=True)
    page = boss.get(f"/admin/billing/tariff/{closed.tariff_id}/change/")
    assert page.status_code == 200
    assert 'name="price_from_a"' not in page.content.decode()  # read-only

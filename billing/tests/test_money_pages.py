"""The pages of packages and statements: the rule on the statement, balances on the dashboard,
packages entered in Beijing time and frozen once a closed month drew on them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing import services, settlement
from billing.models import Package, SettledHour
from billing.tests.factories import ApplicationFactory, TariffFactory, fee, utc
from console.choices import AuditAction
from console.models import AuditLog
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

MARCH = date(2026, 3, 1)


@pytest.fixture
def application():
    app = ApplicationFactory(name="Ride hailing")
    TariffFactory(application=app, valid_from=date(2026, 1, 1), price_from_a="0.12")
    return app


def call(application, ended, seconds, received=None):
    answered = ended - timedelta(seconds=seconds)
    body = fee(application, answered=answered, talk=seconds, started=answered)
    services.ingest_cdrs(application, [FeeInfo.model_validate(body)], now=received)


def test_a_statement_states_its_rule_and_shows_package_and_excess_minutes(boss, application):
    Package.objects.create(
        application=application,
        name="P2",
        minutes=2,
        valid_from=utc(2026, 2, 28, 16),
        valid_until=utc(2026, 3, 31, 16),
    )
    call(application, utc(2026, 3, 10, 10, 30), 300)  # 5 min: 2 from the package, 3 × 0.12
    statement = services.refresh_statement(application, MARCH, close=True)
    # the list shows the figures and leads to the statement
    listing = boss.get("/statements/").content.decode()
    assert f'href="/statements/{statement.pk}/"' in listing
    page = boss.get(f"/statements/{statement.pk}/").content.decode()
    assert "callEndTime − fwdAnswerTime" in page
    assert "61 秒计 2 分钟" in page
    assert "录音不另收费" in page
    assert "callEndTime 所在的小时" in page
    assert (statement.package_minutes, statement.excess_minutes) == (2, 3)
    assert statement.call_charges == Decimal("0.36")
    assert "P2" in page
    assert "0.36" in page


def test_a_statement_shows_the_hours_settled_again_for_late_call_records(boss, application):
    call(application, utc(2026, 3, 10, 10, 30), 60, received=utc(2026, 3, 10, 10, 31))
    settlement.settle_due_hours(now=utc(2026, 3, 10, 12))
    call(application, utc(2026, 3, 10, 10, 40), 60, received=utc(2026, 3, 10, 14))
    settlement.settle_due_hours(now=utc(2026, 3, 10, 15))
    statement = services.refresh_statement(application, MARCH)
    page = boss.get(f"/statements/{statement.pk}/").content.decode()
    assert "重新结算的小时" in page
    assert "1 → 2" in page  # minutes of the 10:00 hour (18:00 in Beijing)
    assert "2026-03-10 18:00" in page


def test_the_dashboard_shows_what_each_package_has_left(boss, application):
    package = Package.objects.create(
        application=application,
        name="Year-1000",
        minutes=1000,
        valid_from=utc(2026, 1, 1),
        valid_until=utc(2027, 1, 1),
    )
    call(application, utc(2026, 6, 1, 10), 600)
    # before the hour is settled, nothing is used; the page reads no CDR for it
    (balance,) = boss.get("/dashboard/").context["packages"]
    assert balance.remaining == 1000
    settlement.settle_due_hours()
    response = boss.get("/dashboard/")
    (balance,) = response.context["packages"]
    assert (balance.package, balance.used, balance.remaining) == (package, 10, 990)
    page = response.content.decode()
    assert "Year-1000" in page
    assert "990" in page
    assert SettledHour.objects.get().hour == utc(2026, 6, 1, 10)  # it ended at 10:00:00


def test_customer_service_sees_no_packages(staff, application):
    response = staff.get("/dashboard/")
    assert response.context["packages"] is None
    assert staff.get("/admin/billing/package/").status_code == 403


def test_a_package_is_entered_in_beijing_time_on_whole_hours_and_audited(boss, application):
    form = {
        "application": application.pk,
        "name": "Bought at 10:03",
        "minutes": "1000",
        "price": "90.00",
        "valid_from_0": "2026-05-01",
        "valid_from_1": "10:03:00",
        "valid_until_0": "2027-05-01",
        "valid_until_1": "11:00:00",
        "priority": "1",
    }
    refused = boss.post("/admin/billing/package/add/", form)
    assert refused.status_code == 200
    assert "须在整点开始和结束" in refused.content.decode()
    form["valid_from_1"] = "11:00:00"
    response = boss.post("/admin/billing/package/add/", form)
    assert response.status_code == 302
    package = Package.objects.get()
    assert package.valid_from == utc(2026, 5, 1, 3)  # 11:00 in Beijing
    assert AuditLog.objects.filter(action=AuditAction.CREATE).exists()


def test_a_package_a_closed_month_drew_on_is_read_only(boss, application):
    package = Package.objects.create(
        application=application,
        name="P10",
        minutes=10,
        valid_from=utc(2026, 2, 28, 16),
        valid_until=utc(2027, 2, 28, 16),
    )
    call(application, utc(2026, 3, 10, 10, 30), 120)
    services.refresh_statement(application, MARCH, close=True)
    page = boss.get(f"/admin/billing/package/{package.pk}/change/").content.decode()
    assert 'name="minutes"' not in page
    assert (
        boss.post(f"/admin/billing/package/{package.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Package.objects.filter(pk=package.pk).exists()


def test_the_navigation_leads_administrators_to_the_money_pages(boss):
    page = boss.get("/statements/").content.decode()
    for url in ("/statements/allocation/", "/reconciliation/", "/admin/billing/package/"):
        assert f'href="{url}"' in page

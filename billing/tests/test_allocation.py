"""Cost allocation: the statements' figures split by application, order-reference prefix or tag.

By hand: application Ride (0.10 to A, 0.12 from A) has a 5-minute package. In the 10:00 hour
(UTC) three calls end: TAXI-001 (tag rides) 3 min from A, FOOD-17 (tag meals) 4 min to A,
TAXI-002 (rides) 2 min from A. The package gives the first call its 3 minutes and the second 2 of
its 4: the excess is FOOD's other 2 (0.20) and TAXI-002's 2 (0.24). At 11:05 a call without
binding: 1 min from A (0.12). Application Food (same prices, no package) has one call of its
FOOD-99 binding: 2 min from A (0.24).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest

from billing import allocation, services
from billing.models import Package
from billing.tests.factories import ApplicationFactory, TariffFactory, fee, utc
from bindings.tests.factories import BindingFactory
from console.choices import AuditAction
from console.models import AuditLog
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

MARCH = date(2026, 3, 1)


def priced(name: str):
    application = ApplicationFactory(name=name)
    TariffFactory(
        application=application,
        valid_from=date(2026, 1, 1),
        price_to_a="0.10",
        price_from_a="0.12",
        monthly_rent_per_number="5.00",
    )
    return application


def call(application, ended, seconds, direction=1, binding=None):
    answered = ended - timedelta(seconds=seconds)
    body = fee(
        application,
        answered=answered,
        talk=seconds,
        started=answered - timedelta(seconds=5),
        direction=direction,
        subscriptionId=binding.subscription_id if binding else "",
    )
    services.ingest_cdrs(application, [FeeInfo.model_validate(body)])


@pytest.fixture
def month():
    ride, food = priced("Ride"), priced("Food")
    Package.objects.create(
        application=ride,
        name="P5",
        minutes=5,
        valid_from=utc(2026, 2, 28, 16),
        valid_until=utc(2026, 3, 31, 16),
    )
    taxi1 = BindingFactory(application=ride, order_ref="TAXI-001", cost_tag="rides")
    meal = BindingFactory(application=ride, order_ref="FOOD-17", cost_tag="meals")
    taxi2 = BindingFactory(application=ride, order_ref="TAXI-002", cost_tag="rides")
    other = BindingFactory(application=food, order_ref="FOOD-99", cost_tag="meals")
    call(ride, utc(2026, 3, 10, 10, 10), 180, 1, taxi1)
    call(ride, utc(2026, 3, 10, 10, 20), 240, 0, meal)
    call(ride, utc(2026, 3, 10, 10, 30), 120, 1, taxi2)
    call(ride, utc(2026, 3, 10, 11, 5), 60, 1)
    call(food, utc(2026, 3, 12, 8), 120, 1, other)
    return ride, food


def table(result) -> dict[str, tuple]:
    return {
        row.label: (
            row.calls,
            row.minutes,
            row.package_minutes,
            row.excess_minutes,
            row.excess_charge,
        )
        for row in result.rows
    }


def test_by_order_reference_prefix_up_to_a_separator(month):
    result = allocation.allocate(MARCH, "order_prefix", options=allocation.Options(separator="-"))
    assert table(result) == {
        "TAXI": (2, 5, 3, 2, Decimal("0.24")),
        "FOOD": (2, 6, 2, 4, Decimal("0.44")),  # Ride's 2 excess to A, Food's 2 from A
        "（无绑定）": (1, 1, 0, 1, Decimal("0.12")),
    }
    assert (result.total.minutes, result.total.excess_charge) == (12, Decimal("0.80"))


def test_by_order_reference_prefix_of_a_length(month):
    result = allocation.allocate(MARCH, "order_prefix", options=allocation.Options(prefix_length=6))
    assert set(table(result)) == {"TAXI-0", "FOOD-1", "FOOD-9", "（无绑定）"}
    assert table(result)["FOOD-1"] == (1, 4, 2, 2, Decimal("0.20"))


def test_by_tag_and_by_application(month):
    _ride, food = month
    assert table(allocation.allocate(MARCH, "tag")) == {
        "rides": (2, 5, 3, 2, Decimal("0.24")),
        "meals": (2, 6, 2, 4, Decimal("0.44")),
        "（无标签）": (1, 1, 0, 1, Decimal("0.12")),
    }
    assert table(allocation.allocate(MARCH, "application")) == {
        "Ride": (4, 10, 5, 5, Decimal("0.56")),
        "Food": (1, 2, 0, 2, Decimal("0.24")),
    }
    assert table(allocation.allocate(MARCH, "tag", application=food)) == {
        "meals": (1, 2, 0, 2, Decimal("0.24"))
    }


@pytest.mark.parametrize("dimension", ["application", "order_prefix", "tag"])
def test_every_breakdown_adds_up_to_the_statements(month, dimension):
    statements = [services.compute_statement(app, MARCH) for app in month]
    total = allocation.allocate(MARCH, dimension).total
    assert total.minutes == sum(s.minutes for s in statements)
    assert total.package_minutes == sum(s.package_minutes for s in statements)
    assert total.excess_minutes == sum(s.excess_minutes for s in statements)
    assert total.excess_charge == sum(s.call_charges for s in statements)


def test_a_team_dimension_is_one_more_entry_of_the_registry(month):
    from django.db.models import Value

    allocation.register(
        allocation.Dimension("everyone", "Everyone", lambda options: Value("all"), "—")
    )
    try:
        assert table(allocation.allocate(MARCH, "everyone")) == {
            "all": (5, 12, 5, 7, Decimal("0.80"))
        }
    finally:
        allocation.DIMENSIONS.pop("everyone")


def test_the_result_is_plain_data_for_the_api(month):
    data = allocation.allocate(MARCH, "tag").as_dict()
    assert data["month"] == "2026-03"
    assert data["total"]["excess_charge"] == "0.80"
    assert data["rows"][0] == {
        "key": "meals",
        "label": "meals",
        "calls": 2,
        "minutes": 6,
        "package_minutes": 2,
        "excess_minutes": 4,
        "excess_charge": "0.44",
    }


def test_the_page_and_its_csv_and_xlsx_exports(boss, month):
    page = boss.get("/statements/allocation/", {"month": "2026-03", "dimension": "tag"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "成本分摊" in text
    assert "rides" in text
    assert "0.80" in text
    # CSV: a BOM, Chinese headers, numbers as plain numbers, the total last
    response = boss.get(
        "/statements/allocation/",
        {"month": "2026-03", "dimension": "order_prefix", "separator": "-", "_export": "csv"},
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "订单号前缀",
        "计费通话数",
        "计费分钟数",
        "套餐包分钟数",
        "超出分钟数",
        "超出部分费用（元）",
    ]
    assert rows[1] == ["FOOD", "2", "6", "2", "4", "0.44"]
    assert rows[-1] == ["合计", "5", "12", "5", "7", "0.80"]
    # XLSX: numbers with number formats
    response = boss.get(
        "/statements/allocation/", {"month": "2026-03", "dimension": "tag", "_export": "xlsx"}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    charge = sheet.cell(row=2, column=6)
    assert (charge.data_type, charge.number_format) == ("n", "#,##0.00")
    assert Decimal(str(charge.value)) == Decimal("0.44")
    assert sheet.cell(row=2, column=2).value == 2
    assert AuditLog.objects.filter(action=AuditAction.EXPORT).count() == 2


def test_customer_service_may_not_see_the_allocation(staff, month):
    assert staff.get("/statements/allocation/").status_code == 403
    assert staff.get("/statements/allocation/", {"_export": "csv"}).status_code == 403

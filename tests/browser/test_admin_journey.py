"""Issue #7: a number administrator's day in the browser, in Chinese and in English.

Add an application (its secret is never shown back, only replaced), import X numbers from a CSV
file (a worker checks it: a bad row is refused with its reason in the preview; then the fixed
file is previewed, confirmed and imported by the worker), see
the pool's usage per city, open the monthly statements and export them as CSV and XLSX.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from playwright.sync_api import expect

from billing import services as billing_services
from billing.tests.factories import TariffFactory, fee
from bindings.models import NumberImport, XNumber
from console.models import Application
from console.numbers import InvalidNumber, normalize
from console.roles import NUMBER_ADMINISTRATOR
from privatenumber.schemas import FeeInfo
from tests.browser.test_sign_in import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.embedded,
]

NAME = "Rides AXB"
APP_KEY = "ridesAxbKey0000000000000001"
SECRET = "first-secret-Zq8vW3kP0s"
NEW_SECRET = "second-secret-Lm4Tn7Rx2y"
RECEIVERS = ("/hooks/status", "/hooks/fee", "/hooks/sms", "/hooks/xstatus")

BAD_CSV = (
    b"number,city_code\n"
    b"170 0000 0001,0755\n"
    b"12345,0755\n"  # row 2: no phone number
    b"+86-170-0000-0002,0755\n"
)
GOOD_CSV = (
    b"number,city_code\n"
    b"170 0000 0001,0755\n"
    b"+86-170-0000-0002,0755\n"
    b"17000000003,755\n"  # a spreadsheet dropped the leading 0
    b"170 0000 0004,010\n"
    b"170 0000 0005,010\n"
)


def upload(page, application: Application, name: str, content: bytes) -> None:
    """Fill the import form (CSV) and submit it."""
    page.select_option("select[name=format]", label="csv")
    page.select_option("select[name=application]", str(application.pk))
    page.set_input_files(
        "input[name=import_file]", files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    with page.expect_navigation():
        page.click("form[enctype='multipart/form-data'] input[type=submit]")


def why_refused(typed: str) -> str:
    """The reason the console gives for a number that is no number (in the active language)."""
    with pytest.raises(InvalidNumber) as refused:
        normalize(typed)
    return refused.value.messages[0]


def a_month_of_calls(application: Application):
    """Two answered calls this month and a tariff: a statement with known figures."""
    TariffFactory(
        application=application,
        price_to_a="0.10",
        price_from_a="0.12",
        monthly_rent_per_number="15.00",
    )
    started = timezone.now() - timedelta(hours=1)
    with transaction.atomic():
        billing_services.ingest_cdrs(
            application,
            [
                FeeInfo.model_validate(fee(application, direction=1, talk=61, started=started)),
                FeeInfo.model_validate(fee(application, direction=0, talk=30, started=started)),
            ],
        )
    return billing_services.refresh_statement(application, timezone.localtime(started).date())


@pytest.mark.parametrize("journey", ["zh-hans", "en"], indirect=True)
def test_admin_add_an_application_import_numbers_see_the_pool_and_export_a_statement(
    journey, make_user, request, celery_worker
):
    # given an administrator
    make_user("boss", NUMBER_ADMINISTRATOR)
    page = journey.page
    sign_in(journey, "boss")

    # when they add an application with its secret and save it
    journey.goto("/admin/console/application/add/")
    page.fill("#id_name", NAME)
    page.select_option("#id_mode", "AXB")
    page.fill("#id_app_key", APP_KEY)
    page.fill("#id_app_secret", SECRET)
    page.fill("#id_base_url", "https://rtcpns.cn-north-1.myhuaweicloud.com")
    with page.expect_navigation():
        page.click("input[name=_continue]")
    # then the change page shows the receiver URLs to paste on the platform, never the secret
    application = Application.objects.get(app_key=APP_KEY)
    assert application.get_secret() == SECRET
    assert SECRET not in application.app_secret_encrypted
    change_url = f"/admin/console/application/{application.pk}/change/"
    assert page.url == journey.base_url + change_url
    assert page.locator(".messagelist .success").is_visible()
    for receiver in RECEIVERS:
        assert (
            settings.CONSOLE_BASE_URL + receiver
            in page.locator(".field-receiver_urls").text_content()
        )
    assert page.input_value("#id_app_secret") == ""
    assert SECRET not in page.content()
    source = journey.goto(change_url).text()
    assert SECRET not in source
    assert APP_KEY in source
    journey.shot("application")
    # when they type a new secret: it replaces the old one, and is not shown either
    page.fill("#id_app_secret", NEW_SECRET)
    with page.expect_navigation():
        page.click("input[name=_continue]")
    application.refresh_from_db()
    assert application.get_secret() == NEW_SECRET
    assert NEW_SECRET not in journey.goto(change_url).text()
    assert NEW_SECRET not in page.content()

    # when they import X numbers from a file with a bad row
    journey.goto("/bindings/numbers/")
    with page.expect_navigation():
        page.click("a.import_link")
    upload(page, application, "numbers.csv", BAD_CSV)
    # then the import's page follows the worker's check; the preview names the row and its reason
    job = NumberImport.objects.latest("pk")
    assert page.url == journey.base_url + f"/bindings/numbers/import/{job.pk}/"
    errors = page.locator("table.import-errors tbody tr")
    expect(errors).to_have_count(1, timeout=60_000)
    assert errors.locator("td").first.text_content().strip() == "2"
    reason = errors.locator("td").last.text_content()
    with translation.override(request.node.callspec.params["journey"]):
        assert why_refused("12345") in reason
    assert page.locator("[data-field=new]").text_content() == "2"
    assert page.locator("[data-field=refused]").text_content() == "1"
    assert not XNumber.objects.exists()
    journey.shot("import-refused")
    # when they upload the corrected file instead
    with page.expect_navigation():
        page.click(".breadcrumbs a[href$='/import/']")
    upload(page, application, "numbers.csv", GOOD_CSV)
    # then every row is new, nothing refused, and confirming imports them
    expect(page.locator("input[name=confirm]")).to_be_visible(timeout=60_000)
    assert page.locator("[data-field=new]").text_content() == "5"
    assert page.locator("table.import-errors tbody tr").count() == 0
    journey.shot("import-preview")
    with page.expect_navigation():
        page.click("input[name=confirm]")
    done = page.locator("a.import-numbers-link")
    expect(done).to_be_visible(timeout=60_000)
    assert page.locator("[data-field=imported]").text_content() == "5"
    with page.expect_navigation():
        done.click()
    assert f"application={application.pk}" in page.url
    listed = page.locator("table.numbers tbody").text_content()
    for n in range(1, 6):
        assert f"+861700000000{n}" in listed
    assert XNumber.objects.filter(application=application).count() == 5
    journey.shot("numbers")

    # when they open the pool usage from the number list
    with page.expect_navigation():
        page.click("a.pool-usage-link")
    # then each city has its row: Shenzhen 3 numbers, Beijing 2, all available, none bound
    shenzhen = page.locator(f"tr[data-application='{application.pk}'][data-city='0755']")
    beijing = page.locator(f"tr[data-application='{application.pk}'][data-city='010']")
    assert shenzhen.locator("[data-field=total]").text_content() == "3"
    assert shenzhen.locator("[data-field=available]").text_content() == "3"
    assert beijing.locator("[data-field=total]").text_content() == "2"
    assert beijing.locator("[data-field=bindings]").text_content() == "0"
    assert beijing.locator("[data-field=capacity]").text_content() == "10000"
    journey.shot("pool-usage")

    # given a month of calls: 2 + 1 billable minutes (no package: all excess), 5 numbers at 15.00
    statement = a_month_of_calls(application)
    month = f"{statement.month:%Y-%m}"
    expected = [month, NAME, "2", "2", "3", "0", "3", "0.34", "5", "75.00", "75.34"]
    # when they open the statements
    journey.goto("/statements/")
    rows = page.locator("table tbody tr")
    assert rows.count() == 1
    assert month in rows.text_content()
    journey.shot("statements")
    # then the CSV export holds the statement's figures
    with page.expect_download() as download:
        page.click(".billing-export a:text-is('CSV')")
    assert download.value.suggested_filename.endswith(".csv")
    exported = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert len(exported) == 2
    assert figures(exported[0], exported[1]) == expected
    # and so does the XLSX export
    with page.expect_download() as download:
        page.click(".billing-export a:text-is('XLSX')")
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    cells = list(sheet.iter_rows(values_only=True))
    assert len(cells) == 2
    got = figures([str(c) for c in cells[0]], list(cells[1]))
    assert got[:2] == expected[:2]
    # counts and money are numbers in the sheet, not text
    assert all(isinstance(value, int | float) for value in got[2:])
    assert [Decimal(str(value)) for value in got[2:]] == [Decimal(v) for v in expected[2:]]


def figures(header: list[str], row: list[str]) -> list[str]:
    """Month, application, calls, answered, minutes, package minutes, excess minutes, charges,
    numbers, rent, total of a row."""
    assert len(header) == len(row) == 13, header
    month, application, _state, *amounts, _closed = row
    return [month, application, *amounts]

"""Bill reconciliation: Huawei's bill export against the console's CDRs and settlement.

The sample ``bills/huawei-bill-2026-03.csv`` is a fee-centre export of March 2026 (a title line,
then the documented columns and the per-call ones) with three planted differences:

* call-0099 was billed (5 min, 0.60 CNY) and never pushed to the console;
* call-0003 is billed 2 minutes; its CDR says 60 s, one minute (0.10 here);
* call-0004 is billed 4 minutes at 0.15 (0.60); the tariff here says 0.12 (0.48).

Everything else matches: call-0001's 3 minutes came from the 3-minute package (0.00 on both
sides, the hour's other calls ended later), call-0002 and call-0005 at 0.12. The SMS, the number
rent and the storage lines are other charges.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone

from billing import reconcile, services
from billing.choices import DifferenceKind, ReconciliationState
from billing.models import BillDifference, BillReconciliation, Package
from billing.tests.factories import ApplicationFactory, TariffFactory, fee, utc
from console.choices import AlertKind
from console.models import Alert
from console.testing import wait_until
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.django_db]

SAMPLE = Path(__file__).parent / "bills" / "huawei-bill-2026-03.csv"
MARCH = date(2026, 3, 1)


def icid(n: int) -> str:
    return f"call-{n:04d}.3757285803.338666679.5"


@pytest.fixture
def ride():
    """The application of the sample bill, its tariff, a 3-minute package and five CDRs."""
    application = ApplicationFactory(name="Ride hailing", app_key="ride-hailing-key")
    TariffFactory(
        application=application,
        valid_from=date(2026, 1, 1),
        price_to_a="0.10",
        price_from_a="0.12",
    )
    Package.objects.create(
        application=application,
        name="P3",
        minutes=3,
        valid_from=utc(2026, 2, 28, 16),
        valid_until=utc(2026, 3, 31, 16),
    )
    for n, ended, seconds, direction in (
        (1, utc(2026, 3, 10, 2, 10), 125, 1),  # 3 min, from the package
        (2, utc(2026, 3, 10, 2, 20), 61, 1),  # 2 min × 0.12
        (3, utc(2026, 3, 10, 2, 40), 60, 0),  # 1 min × 0.10 (billed as 2)
        (4, utc(2026, 3, 10, 3, 5), 200, 1),  # 4 min × 0.12 (billed at 0.15)
        (5, utc(2026, 3, 11, 1, 0, 30), 30, 1),  # 1 min × 0.12
    ):
        answered = ended - timedelta(seconds=seconds)
        body = fee(
            application,
            answered=answered,
            talk=seconds,
            started=answered - timedelta(seconds=4),
            direction=direction,
            icid=icid(n),
        )
        services.ingest_cdrs(application, [FeeInfo.model_validate(body)])
    return application


def reconciled(content: bytes, name: str = "bill.csv", **options) -> BillReconciliation:
    job = BillReconciliation.objects.create(
        month=MARCH, file_name=name, file_format=name.rsplit(".", 1)[1], source=content, **options
    )
    return reconcile.run(job.pk)


def differences(job) -> dict[str, list[BillDifference]]:
    found: dict[str, list[BillDifference]] = {}
    for difference in job.differences.order_by("id"):
        found.setdefault(difference.kind, []).append(difference)
    return found


@pytest.mark.embedded
def test_the_three_planted_differences_are_found_and_explained(ride):
    # when the sample bill is reconciled
    job = reconciled(SAMPLE.read_bytes())
    # then it is done, and exactly three differences are found
    assert job.state == ReconciliationState.DONE, job.error
    found = differences(job)
    assert {kind: len(rows) for kind, rows in found.items()} == {
        DifferenceKind.UNPUSHED: 1,
        DifferenceKind.LENGTH: 1,
        DifferenceKind.PRICE: 1,
    }
    # the call billed but never pushed, with what it cost
    (unpushed,) = found[DifferenceKind.UNPUSHED]
    assert (unpushed.call_id, unpushed.billed_minutes, unpushed.billed_amount) == (
        icid(99),
        5,
        Decimal("0.60"),
    )
    assert unpushed.hour == utc(2026, 3, 12, 6)  # 14:00 Beijing
    assert unpushed.application == ride
    assert unpushed.call_record is None
    # the different length, with the CDR behind it
    (length,) = found[DifferenceKind.LENGTH]
    assert (length.call_id, length.billed_minutes, length.our_minutes) == (icid(3), 2, 1)
    assert length.call_record.talk_seconds == 60
    # the different price: same 4 minutes, 0.60 at 0.15 against 0.48 at 0.12
    (price,) = found[DifferenceKind.PRICE]
    assert (price.billed_amount, price.our_amount) == (Decimal("0.60"), Decimal("0.48"))
    assert (price.billed_price, price.our_price) == (Decimal("0.15"), Decimal("0.12"))
    assert price.detail["package_minutes"] == 0
    # the totals: 17 min and 1.76 CNY billed, 11 min and 0.94 CNY here (call-0001 from the
    # package); three lines of other charges
    assert (job.billed_calls, job.billed_minutes, job.billed_amount) == (6, 17, Decimal("1.76"))
    assert (job.our_minutes, job.our_amount) == (11, Decimal("0.94"))
    assert (job.total_rows, job.skipped_rows, job.difference_count) == (9, 3, 3)
    assert (job.unpushed_count, job.unpushed_minutes, job.unpushed_amount) == (
        1,
        5,
        Decimal("0.60"),
    )
    # and loudly: an alert
    alert = Alert.objects.get(kind=AlertKind.UNPUSHED_CDRS, resolved_at__isnull=True)
    assert (alert.params["count"], alert.params["amount"]) == (1, "0.60")
    # the file is not kept past its use
    assert bytes(job.source) == b""


@pytest.mark.embedded
def test_the_page_shows_the_red_line_and_every_difference_explained(ride, boss):
    job = reconciled(SAMPLE.read_bytes())
    page = boss.get(f"/reconciliation/{job.pk}/").content.decode()
    red = page.split('class="errornote reconcile-alarm">', 1)[1].split("</p>", 1)[0]
    assert "1 通呼叫" in red
    assert "5 分钟" in red
    assert "0.60" in red
    assert page.index("reconcile-alarm") < page.index("reconcile-differences")
    assert icid(99) in page
    assert "华为计费 2 分钟，控制台 1 分钟" in page  # the length difference, explained
    assert "60 秒" in page
    assert "0.15" in page
    assert "0.48" in page
    # the CDR behind a difference: its page, its caller masked
    assert f"/calls/{ride.pk}/" in page
    assert "+86139****7021" in page
    assert "+8613900007021" not in page


@pytest.mark.embedded
def test_an_xlsx_export_gives_the_same_differences(ride):
    rows = list(csv.reader(io.StringIO(SAMPLE.read_bytes().decode("utf-8-sig"))))
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append([float(c) if c.replace(".", "").isdigit() else c for c in row])
    out = io.BytesIO()
    book.save(out)
    job = reconciled(out.getvalue(), "bill.xlsx")
    assert job.state == ReconciliationState.DONE, job.error
    assert sorted(job.differences.values_list("kind", flat=True)) == sorted(
        [DifferenceKind.UNPUSHED, DifferenceKind.LENGTH, DifferenceKind.PRICE]
    )


@pytest.mark.embedded
def test_running_it_again_gives_the_same_differences(ride):
    job = reconciled(SAMPLE.read_bytes())
    first = sorted(job.differences.values_list("kind", "call_id"))
    BillReconciliation.objects.filter(pk=job.pk).update(
        state=ReconciliationState.QUEUED, source=SAMPLE.read_bytes()
    )
    again = reconcile.run(job.pk)
    assert sorted(again.differences.values_list("kind", "call_id")) == first
    assert BillDifference.objects.count() == 3


def hourly_bill(lines: list[tuple[str, str, str]]) -> bytes:
    """A bill of one line per hour (the fee centre's own granularity), for the whole account."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["账期", "产品类型", "消费时间", "使用量", "使用量单位", "单价", "应付金额"])
    for start, minutes, amount in lines:
        writer.writerow(
            ["2026-03", "隐私保护通话", f"{start} GMT+08:00", minutes, "分钟", "0.12", amount]
        )
    return out.getvalue().encode()


@pytest.mark.embedded
def test_a_bill_by_the_hour_is_matched_hour_by_hour_with_the_cdrs_behind_it(ride, boss):
    # given the hour of 10:00 as here (6 min, 0.34), 11:00 billed 0.60 (0.48 here), and 9:00 on
    # the 11th left off the bill
    job = reconciled(
        hourly_bill([("2026-03-10 10:00:00", "6", "0.34"), ("2026-03-10 11:00:00", "4", "0.60")])
    )
    # then two hours differ
    found = differences(job)
    assert list(found) == [DifferenceKind.HOUR_TOTAL]
    eleven, nine = found[DifferenceKind.HOUR_TOTAL]
    assert (eleven.hour, eleven.billed_amount, eleven.our_amount) == (
        utc(2026, 3, 10, 3),
        Decimal("0.60"),
        Decimal("0.48"),
    )
    assert (nine.hour, nine.billed_minutes, nine.our_minutes) == (utc(2026, 3, 11, 1), 0, 1)
    # and the page lists the CDR behind the hour that differs
    page = boss.get(f"/reconciliation/{job.pk}/").content.decode()
    assert page.count("/calls/") >= 2
    assert "11:05" in page  # call-0004 ended at 11:05 Beijing


@pytest.mark.embedded
def test_a_row_that_cannot_be_read_is_named_and_nothing_is_compared(ride):
    content = hourly_bill([("2026-03-10 10:00:00", "six", "0.34")])
    job = reconciled(content)
    assert job.state == ReconciliationState.FAILED
    assert "第 2 行" in job.error
    assert "使用量" in job.error
    assert "six" in job.error
    assert not job.differences.exists()


@pytest.mark.embedded
def test_a_bill_of_another_month_says_so(ride):
    job = reconciled(
        hourly_bill([("2026-04-10 10:00:00", "6", "0.34")]).replace(b"2026-03", b"2026-04")
    )
    assert job.state == ReconciliationState.FAILED
    assert "2026-04" in job.error
    assert "2026-03" in job.error


@pytest.mark.embedded
def test_a_file_without_the_bills_columns_is_refused_at_once(boss, ride):
    response = boss.post(
        "/reconciliation/",
        {"month": "2026-03", "bill": _upload(b"number,city_code\n+8617000000001,0755\n")},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "使用量" in page
    assert "应付金额" in page
    assert "消费时间" in page
    assert not BillReconciliation.objects.exists()


def _upload(content: bytes, name: str = "bill.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_upload_is_reconciled_by_a_worker_with_progress(celery_worker, ride, boss):
    # given the sample's application and calls, and an administrator
    client = boss
    # when the bill is uploaded
    response = client.post(
        "/reconciliation/",
        {"month": "2026-03", "bill": _upload(SAMPLE.read_bytes(), "bill-2026-03.csv")},
    )
    assert response.status_code == 302
    job = BillReconciliation.objects.get()
    # then a worker reconciles it; the progress says when
    wait_until(
        lambda: client.get(f"/reconciliation/{job.pk}/progress").json()["finished"], timeout=30
    )
    progress = client.get(f"/reconciliation/{job.pk}/progress").json()
    assert (progress["state"], progress["differences"], progress["unpushed"]) == ("done", 3, 1)
    job.refresh_from_db()
    assert job.finished_at <= timezone.now()
    assert Alert.objects.filter(kind=AlertKind.UNPUSHED_CDRS, resolved_at__isnull=True).exists()


@pytest.mark.embedded
def test_a_month_that_has_not_begun_is_refused(boss, ride):
    response = boss.post(
        "/reconciliation/", {"month": "2099-01", "bill": _upload(SAMPLE.read_bytes())}
    )
    assert "该月份尚未开始" in response.content.decode()
    assert not BillReconciliation.objects.exists()

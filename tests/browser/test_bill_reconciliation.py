"""Issue #21: an administrator uploads Huawei's bill; a worker compares it while the page waits.

The sample bill of ``billing/tests`` (three planted differences) is uploaded from the browser at
1366×768; a real Celery worker reads and compares it; the page polls the progress and, once done,
shows the red line of the calls billed but never pushed above every difference, nothing wider than
the window.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from billing.models import BillReconciliation
from billing.reconcile import reading
from billing.tests.test_reconcile import SAMPLE, ride  # noqa: F401 - the sample's data
from console.roles import NUMBER_ADMINISTRATOR
from tests.browser.test_sign_in import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.embedded,
]


def test_a_bill_is_uploaded_compared_by_a_worker_and_its_differences_shown(
    journey,
    make_user,
    celery_worker,
    monkeypatch,
    ride,  # noqa: F811 - the fixture imported above
):
    # given a worker that takes its time reading, and an administrator at 1366×768
    read_bill = reading.read_bill

    def slowly(*args, **kwargs):
        time.sleep(3)
        return read_bill(*args, **kwargs)

    monkeypatch.setattr(reading, "read_bill", slowly)
    make_user("boss", NUMBER_ADMINISTRATOR)
    page = journey.page
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(journey, "boss")
    # when they upload March's bill on the reconciliation page
    journey.goto("/reconciliation/")
    page.fill("input[name=month]", "2026-03")
    page.set_input_files(
        "input[name=bill]",
        files=[{"name": "bill-2026-03.csv", "mimeType": "text/csv", "buffer": SAMPLE.read_bytes()}],
    )
    with page.expect_navigation():
        page.click(".bill-upload button[type=submit]")
    job = BillReconciliation.objects.get()
    assert page.url.endswith(f"/reconciliation/{job.pk}/")
    # then the page follows the worker (polling, no result yet) and shows the result once done
    expect(page.locator("[data-field=state_display]")).to_have_text("正在读取账单")
    assert page.locator(".reconcile-alarm").count() == 0
    expect(page.locator(".reconcile-alarm")).to_be_visible(timeout=60_000)
    expect(page.locator(".reconcile-group")).to_have_count(3)
    assert "1 通呼叫" in page.locator(".reconcile-alarm").text_content()
    journey.shot("bill-reconciliation")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    assert journey.problems == []

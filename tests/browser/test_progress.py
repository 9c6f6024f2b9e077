"""Issue #7: long operations show progress that updates without a reload.

A bulk bind, a reconciliation and an X-number import are started from the browser; a real Celery
worker runs them (against the platform simulator) while the page polls. Each test marks the
page's ``window`` after it loads and checks the mark is still there at the end (no reload), and
that the progress bar took at least two values, the last one the total.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from bindings.choices import BindingStatus, BulkJobStatus
from bindings.cities import province_of
from bindings.models import Binding, BulkJob, NumberImport, Reconciliation, XNumber
from bindings.services import number_import
from bindings.tests.conftest import APP_KEYS, POOLS, simulator_config
from console.models import Application
from console.roles import NUMBER_ADMINISTRATOR
from console.testing.factories import ApplicationFactory
from simulator.testing import SimulatorHandle, run_simulator
from tests.browser.test_admin_journey import upload
from tests.browser.test_sign_in import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.redis,
    pytest.mark.simulator,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.embedded,
]

ROWS = 150
WATCH = """bar => {
    window.__marker = 1;
    window.__values = [bar.value];
    new MutationObserver(() => {
        const last = window.__values[window.__values.length - 1];
        if (last !== bar.value) window.__values.push(bar.value);
    }).observe(bar, {attributes: true});
}"""


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorHandle]:
    with run_simulator(simulator_config()) as sim:
        yield sim


def mirrored(simulator: SimulatorHandle, mode: str) -> Application:
    """The console's side of one simulated application and its numbers."""
    simulator.control.clear_faults()
    simulator.control.reset()
    application = ApplicationFactory(
        name=f"Sim {mode}", mode=mode, app_key=APP_KEYS[mode], base_url=simulator.base_url
    )
    XNumber.objects.bulk_create(
        XNumber(application=application, number=n, city_code=c, province=province_of(c))
        for n, c in POOLS[mode]
    )
    return application


def watch(page, selector: str) -> None:
    """Mark the window and record every value the progress bar takes from now on."""
    page.locator(selector).evaluate(WATCH)


def observed(page) -> list[float]:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    return page.evaluate("window.__values")


def assert_progressed(page, total: int) -> None:
    """No reload, at least two values seen, never going back, ending at ``total``."""
    values = observed(page)
    assert len(set(values)) >= 2, values
    assert values == sorted(values)
    assert values[-1] == total


def test_a_bulk_bind_shows_its_progress_without_a_reload(
    journey, make_user, simulator, celery_worker
):
    # given
    application = mirrored(simulator, "AXB")
    make_user("boss", NUMBER_ADMINISTRATOR)
    page = journey.page
    sign_in(journey, "boss")
    rows = "".join(f"138 0000 {i:04d},139 0000 {i:04d},0755\n" for i in range(1, ROWS + 1))
    # when a CSV of bindings is uploaded
    journey.goto("/bindings/bulk/")
    page.select_option("#id_application", str(application.pk))
    page.set_input_files(
        "#id_file",
        files=[
            {
                "name": "orders.csv",
                "mimeType": "text/csv",
                "buffer": ("a_number,b_number,area_code\n" + rows).encode(),
            }
        ],
    )
    with page.expect_navigation():
        page.click("form[enctype='multipart/form-data'] input[type=submit]")
    # then its progress page follows the worker until every row is done
    job = BulkJob.objects.get()
    assert page.url.endswith(f"/bindings/bulk/{job.pk}/")
    watch(page, "#bulk-bar")
    expect(page.locator("[data-field=processed]")).not_to_have_text("0")
    journey.shot("bulk-running")
    done = str(BulkJobStatus.DONE.label)
    expect(page.locator("[data-field=status_display]")).to_have_text(done, timeout=120_000)
    expect(page.locator("[data-field=created]")).to_have_text(str(ROWS))
    assert_progressed(page, ROWS)
    # and the bindings reach the platform, counted live on the same page
    active = page.locator(f"[data-status={BindingStatus.ACTIVE}]")
    expect(active).to_have_text(str(ROWS), timeout=120_000)
    assert observed(page)[-1] == ROWS
    assert Binding.objects.filter(status=BindingStatus.ACTIVE).count() == ROWS
    journey.shot("bulk-done")


def test_a_reconciliation_shows_its_progress_without_a_reload(
    journey, make_user, simulator, celery_worker
):
    # given a platform that answers each query slowly
    application = mirrored(simulator, "AXB")
    numbers = XNumber.objects.filter(application=application).count()
    simulator.control.set_faults("axb.query", latency_ms=100)
    make_user("boss", NUMBER_ADMINISTRATOR)
    page = journey.page
    sign_in(journey, "boss")
    # when every number of the application is reconciled from the number list
    journey.goto(f"/bindings/numbers/?application={application.pk}")
    page.check("input.select-all")
    assert page.locator("input.row-select:checked").count() == numbers
    page.select_option("select[name=action]", "reconcile")
    with page.expect_navigation():
        page.click("form.bindings-selection button[type=submit]")
    # then the reconciliation's page follows the worker until every number is checked
    run = Reconciliation.objects.get()
    assert page.url.endswith(f"/bindings/reconciliations/{run.pk}/")
    watch(page, "#reconcile-bar")
    expect(page.locator(".reconcile-progress [data-field=numbers_checked]")).not_to_have_text("0")
    journey.shot("reconcile-running")
    expect(page.locator("[data-when-finished]")).to_be_visible(timeout=120_000)
    expect(page.locator(".reconcile-progress [data-field=numbers_checked]")).to_have_text(
        str(numbers)
    )
    assert_progressed(page, numbers)
    run.refresh_from_db()
    assert run.finished_at is not None
    assert run.numbers_checked == numbers
    journey.shot("reconcile-done")
    # and the link reloads the page with the finished report
    with page.expect_navigation():
        page.click("[data-when-finished] a")
    assert page.evaluate("window.__marker") is None
    expect(page.locator(".reconcile-report")).to_be_visible()
    expect(page.locator(".reconcile-progress [data-field=numbers_checked]")).to_have_text(
        str(numbers)
    )
    simulator.control.clear_faults()


IMPORT_ROWS = 3000


def test_an_import_shows_its_progress_without_a_reload(
    journey, make_user, celery_worker, monkeypatch
):
    # given a worker that reads slowly (each report of 500 rows read takes 0.3 s)
    publish = number_import._publish_progress

    def slowly(job_id, state, rows):
        time.sleep(0.3)
        publish(job_id, state, rows)

    monkeypatch.setattr(number_import, "_publish_progress", slowly)
    application = ApplicationFactory(name="Imports", mode="AXB")
    make_user("boss", NUMBER_ADMINISTRATOR)
    page = journey.page
    sign_in(journey, "boss")
    rows = "".join(f"170{i:08d},0755\n" for i in range(1, IMPORT_ROWS + 1))
    # when a file of 3,000 numbers is uploaded on the import page
    journey.goto("/bindings/numbers/import/")
    upload(page, application, "numbers.csv", ("number,city_code\n" + rows).encode())
    # then its page follows the validation until the preview
    job = NumberImport.objects.get()
    assert page.url.endswith(f"/bindings/numbers/import/{job.pk}/")
    watch(page, "#import-bar")
    expect(page.locator("[data-field=processed]")).not_to_have_text("0")
    journey.shot("import-running")
    expect(page.locator("input[name=confirm]")).to_be_visible(timeout=120_000)
    expect(page.locator("[data-field=new]")).to_have_text(str(IMPORT_ROWS))
    assert_progressed(page, IMPORT_ROWS)
    # and, once confirmed, the import the same way until the link to the numbers
    with page.expect_navigation():
        page.click("input[name=confirm]")
    watch(page, "#import-bar")
    expect(page.locator("a.import-numbers-link")).to_be_visible(timeout=120_000)
    expect(page.locator("[data-field=imported]")).to_have_text(str(IMPORT_ROWS))
    assert_progressed(page, IMPORT_ROWS)
    assert XNumber.objects.filter(application=application).count() == IMPORT_ROWS
    journey.shot("import-done")

"""X-number imports as jobs: refused files, progress, permissions, confirmed exactly once.

The tests marked ``redis`` run the tasks on a real Celery worker (root conftest's
``celery_worker``); the others call the services the tasks call.
"""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from bindings import services
from bindings.choices import NumberImportState
from bindings.models import NumberImport, XNumber
from bindings.number_import import NumberImporter
from bindings.services import number_import
from bindings.tasks import import_numbers_task, validate_number_import_task
from bindings.tests.imports import as_xlsx, upload
from console.models import AuditLog
from console.roles import CUSTOMER_SERVICE
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROWS = 2000
ELEVEN_ROWS = b"number,city_code\n" + b"17000000001,0755\n" * 11


@pytest.fixture
def boss(boss, settings):
    boss.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the messages are read in English
    return boss


def number(i: int) -> str:
    return f"170{i:08d}"


def big_file(rows: int = ROWS) -> tuple[list[tuple[str, str]], dict[int, str]]:
    """``rows`` numbers, four of them bad; the bad rows and a word of their reason."""
    lines = [(number(i), "0755" if i % 2 else "010") for i in range(1, rows + 1)]
    lines[17 - 1] = ("12345", "0755")  # no phone number
    lines[404 - 1] = (number(3), "0755")  # the same number as row 3
    lines[1200 - 1] = (number(1200), "0000")  # no such city
    lines[1999 - 1] = ("0755 2800 0001", "0755")  # a fixed line
    return lines, {17: "12345", 404: "row 3", 1200: "0000", 1999: "fixed line"}


def as_csv(lines) -> bytes:
    return ("number,city_code\n" + "".join(f"{n},{c}\n" for n, c in lines)).encode()


def follow(client, job: NumberImport, until: str, timeout: float = 90) -> list[int]:
    """Poll the job's endpoint (as the page does) until its state is ``until``; the rows-read
    figures it reported, in order."""
    url = reverse("bindings:import-progress", args=[job.pk])
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while True:
        data = client.get(url).json()
        if not seen or seen[-1] != data["processed"]:
            seen.append(data["processed"])
        if data["state"] == until:
            return seen
        assert data["state"] != NumberImportState.FAILED, data["error"]
        assert time.monotonic() < deadline, f"still {data['state']} after {timeout} s"
        time.sleep(0.05)


def reasons(job: NumberImport) -> dict[int, str]:
    return {error["row"]: error["message"] for error in job.errors}


# --- on a real worker ---------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_2000_row_csv_is_previewed_then_imported_once_however_often_it_is_confirmed(
    celery_worker, boss
):
    # given a file of 2,000 numbers, four of them bad
    application = ApplicationFactory(mode="AXB")
    lines, bad = big_file()
    # when it is uploaded
    response = upload(boss, application, as_csv(lines))
    # then the worker validates it, the endpoint reporting rows read up to the total
    job = NumberImport.objects.get()
    assert response["Location"] == reverse("bindings:import-job", args=[job.pk])
    seen = follow(boss, job, NumberImportState.PREVIEWED)
    assert seen == sorted(seen)
    assert seen[-1] == ROWS
    job.refresh_from_db()
    assert sorted(reasons(job)) == sorted(bad)
    for row, word in bad.items():
        assert word in reasons(job)[row], (row, reasons(job)[row])
    assert (job.total, job.new_count, job.refused_count) == (ROWS, ROWS - 4, 4)
    assert not XNumber.objects.exists()
    # when it is confirmed twice (a double click)
    confirm = reverse("bindings:import-confirm", args=[job.pk])
    assert boss.post(confirm).status_code == 302
    assert boss.post(confirm).status_code == 302
    # then the worker imports the good rows once, with its progress
    seen = follow(boss, job, NumberImportState.DONE)
    assert seen[-1] == ROWS
    job.refresh_from_db()
    assert (job.imported_count, job.refused_count) == (ROWS - 4, 4)
    assert bytes(job.source) == b"", "the uploaded file is not kept once imported"
    assert XNumber.objects.filter(application=application).count() == ROWS - 4
    assert AuditLog.objects.filter(action="import").count() == 1
    # and the tasks delivered again change nothing
    import_numbers_task(job.pk)
    validate_number_import_task(job.pk)
    assert XNumber.objects.count() == ROWS - 4
    assert NumberImport.objects.get().state == NumberImportState.DONE
    # and the job's page links to the application's numbers
    page = boss.get(response["Location"]).content.decode()
    numbers = reverse("bindings:numbers") + f"?application={application.pk}"
    assert numbers in page
    listed = [row.record for row in boss.get(numbers).context["table"].paginated_rows]
    assert listed
    assert {number.application_id for number in listed} == {application.pk}


@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_xlsx_file_with_bad_rows_is_previewed_with_exactly_those_rows(celery_worker, boss):
    application = ApplicationFactory(mode="AX")
    lines = [(int(number(i)), 755) for i in range(1, 41)]  # typed as numbers in the sheet
    lines[4] = ("12345", "0755")
    lines[30] = (number(7), "0755")
    upload(boss, application, as_xlsx(lines), name="numbers.xlsx", fmt="1")
    job = NumberImport.objects.get()
    follow(boss, job, NumberImportState.PREVIEWED)
    job.refresh_from_db()
    assert sorted(reasons(job)) == [5, 31]
    assert "12345" in reasons(job)[5]
    assert "row 7" in reasons(job)[31]
    assert (job.new_count, job.refused_count) == (38, 2)
    assert job.errors[1]["number"] == number(7)


# --- services and pages -------------------------------------------------------------------------


def test_the_endpoint_reports_rows_read_from_0_to_the_total_in_both_passes(boss, monkeypatch):
    # given an uploaded file of 2,000 rows
    application = ApplicationFactory(mode="AXB")
    lines, _bad = big_file()
    upload(boss, application, as_csv(lines))
    job = NumberImport.objects.get()
    url = reverse("bindings:import-progress", args=[job.pk])
    reported: list[tuple[str, int]] = []
    publish = number_import._publish_progress

    def publish_and_ask(job_id, state, rows):
        publish(job_id, state, rows)
        data = boss.get(url).json()
        reported.append((data["state"], data["processed"]))

    monkeypatch.setattr(number_import, "_publish_progress", publish_and_ask)
    # when it is validated
    services.validate_number_import(job.pk)
    # then the endpoint said 0, then every 500 rows, up to the total
    validating = [0, 500, 1000, 1500, 2000]
    assert reported == [("validating", n) for n in validating]
    assert boss.get(url).json()["processed"] == ROWS
    # and so while it is imported
    reported.clear()
    job.refresh_from_db()
    assert services.confirm_number_import(job, user=job.created_by)
    assert boss.get(url).json()["processed"] == 0
    services.run_number_import(job.pk)
    assert reported == [("importing", n) for n in validating]
    data = boss.get(url).json()
    assert (data["state"], data["processed"], data["imported"]) == ("done", ROWS, ROWS - 4)


def test_the_job_page_shows_the_preview_and_confirm_to_administrators(boss):
    application = ApplicationFactory(mode="AXB")
    upload(boss, application, b"number,city_code\n17000000001,0755\n12345,0755\n")
    job = NumberImport.objects.get()
    services.validate_number_import(job.pk)
    page = boss.get(reverse("bindings:import-job", args=[job.pk])).content.decode()
    assert reverse("bindings:import-progress", args=[job.pk]) in page
    assert "import_progress.js" in page
    assert '<progress id="import-bar" max="2" value="2">' in page
    assert "<tr><td>2</td><td>12345</td><td>0755</td><td></td><td>" in page
    assert 'name="confirm"' in page
    assert 'data-when="confirm" hidden' not in page


def test_customer_service_cannot_open_follow_or_confirm_an_import(boss, client, make_user):
    application = ApplicationFactory(mode="AXB")
    upload(boss, application, b"number,city_code\n17000000001,0755\n")
    job = NumberImport.objects.get()
    services.validate_number_import(job.pk)
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    page = reverse("bindings:import-job", args=[job.pk])
    assert client.get(page).status_code == 403
    assert client.get(reverse("bindings:import-progress", args=[job.pk])).status_code == 403
    confirm = reverse("bindings:import-confirm", args=[job.pk])
    assert client.post(confirm).status_code == 403
    assert client.get(reverse("bindings:imports")).status_code == 403
    job.refresh_from_db()
    assert job.state == NumberImportState.PREVIEWED
    assert not XNumber.objects.exists()


def test_a_file_with_nothing_to_import_cannot_be_confirmed(boss):
    application = ApplicationFactory(mode="AXB")
    upload(boss, application, b"number,city_code\n12345,0755\n")
    job = NumberImport.objects.get()
    services.validate_number_import(job.pk)
    response = boss.post(reverse("bindings:import-confirm", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.state, job.new_count, job.confirmed_at) == ("previewed", 0, None)
    assert not AuditLog.objects.filter(action="import").exists()


@pytest.mark.parametrize(
    ("name", "fmt", "content", "message"),
    [
        ("numbers.csv", "0", b"number,city\n17000000001,0755\n", "needs the columns: city_code"),
        ("numbers.csv", "0", b"number,city_code\n", "no rows under its header"),
        ("numbers.csv", "0", ELEVEN_ROWS, "more than 10 rows"),
        ("numbers.txt", "0", b"number,city_code\n17000000001,0755\n", "chosen format (CSV)"),
        ("numbers.csv", "1", b"number,city_code\n17000000001,0755\n", "chosen format (XLSX)"),
        ("numbers.xlsx", "1", b"number,city_code\n17000000001,0755\n", "could not be read"),
    ],
    ids=["missing-column", "empty", "too-many-rows", "extension", "format", "unreadable"],
)
def test_a_bad_file_is_refused_on_the_form_with_its_reason(
    boss, settings, name, fmt, content, message
):
    settings.BINDINGS_IMPORT_MAX_ROWS = 10
    application = ApplicationFactory(mode="AXB")
    response = upload(boss, application, content, name=name, fmt=fmt)
    assert response.status_code == 200
    errors = " ".join(str(e) for e in response.context["form"].errors["import_file"])
    assert message in errors
    assert not NumberImport.objects.exists()


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(boss, settings):
    settings.BINDINGS_IMPORT_MAX_BYTES = 100
    application = ApplicationFactory(mode="AXB")
    response = upload(boss, application, b"number,city_code\n" + b"17000000001,0755\n" * 10)
    assert "at most 100 are accepted" in str(response.context["form"].errors["import_file"])
    assert not NumberImport.objects.exists()


def test_the_preview_looks_up_existing_numbers_in_one_query_not_one_per_row(
    boss, django_assert_max_num_queries
):
    application = ApplicationFactory(mode="AXB")
    lines, _bad = big_file()
    upload(boss, application, as_csv(lines))
    job = NumberImport.objects.get()
    # the claim, the job, one lookup, the result: not one per row
    with django_assert_max_num_queries(20):
        services.validate_number_import(job.pk)
    assert NumberImport.objects.get().state == NumberImportState.PREVIEWED


def test_a_number_added_by_someone_else_at_the_same_moment_fails_the_import_cleanly(
    boss, monkeypatch
):
    # given a previewed, confirmed file
    application = ApplicationFactory(mode="AXB")
    other = ApplicationFactory(mode="AX", name="Couriers")
    upload(boss, application, b"number,city_code\n17000000001,0755\n17000000002,0755\n")
    job = NumberImport.objects.get()
    services.validate_number_import(job.pk)
    job.refresh_from_db()
    assert services.confirm_number_import(job, user=job.created_by)
    check = NumberImporter.check

    def and_meanwhile(self, headers, rows):
        checked = check(self, headers, rows)  # every row checked: the number was free
        XNumber.objects.create(application=other, number="+8617000000002", city_code="0755")
        return checked

    monkeypatch.setattr(NumberImporter, "check", and_meanwhile)
    # when the import runs, the unique constraint refuses the insert
    services.run_number_import(job.pk)
    # then nothing of the file is imported and the job says why, naming the number
    job.refresh_from_db()
    assert job.state == NumberImportState.FAILED
    assert "+8617000000002 was added to a pool by someone else" in job.error
    assert not XNumber.objects.filter(application=application).exists()
    data = boss.get(reverse("bindings:import-progress", args=[job.pk])).json()
    assert (data["state"], data["finished"], data["can_confirm"]) == ("failed", True, False)


def test_a_pass_that_stops_on_an_unexpected_error_fails_the_job_instead_of_hanging(
    boss, monkeypatch
):
    # given an uploaded file and an importer that breaks
    application = ApplicationFactory(mode="AXB")
    upload(boss, application, b"number,city_code\n17000000001,0755\n")
    job = NumberImport.objects.get()

    def broken(self, headers, rows):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(NumberImporter, "check", broken)
    # when the validation task runs
    validate_number_import_task.apply(args=[job.pk])
    # then the job is failed, saying why, and the page stops polling
    job.refresh_from_db()
    assert (job.state, job.error) == ("failed", "Nothing was imported: disk on fire")
    data = boss.get(reverse("bindings:import-progress", args=[job.pk])).json()
    assert data["finished"]


def test_there_is_no_import_step_in_the_request_and_no_admin_of_imports():
    from django.contrib import admin
    from django.urls import NoReverseMatch

    with pytest.raises(NoReverseMatch):
        reverse("admin:bindings_xnumber_process_import")
    assert NumberImport not in admin.site._registry


def test_administrators_find_every_import_in_a_read_only_list_linking_to_its_page(boss):
    application = ApplicationFactory(mode="AXB")
    upload(boss, application, b"number,city_code\n17000000001,0755\n")
    job = NumberImport.objects.get()
    page_url = reverse("bindings:import-job", args=[job.pk])
    listing = boss.get(reverse("bindings:imports"))
    assert listing.status_code == 200
    assert page_url in listing.content.decode()
    assert boss.get(page_url).status_code == 200

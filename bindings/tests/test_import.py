"""Importing X numbers from CSV/XLSX: a preview with per-row errors, then the import.

The upload makes a job; its validation and its import are tasks, called here directly (the tasks
only call these services; bindings/tests/test_import_jobs.py runs them on a real worker).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from bindings import services
from bindings.choices import NumberImportState
from bindings.models import NumberImport, XNumber
from bindings.tests.factories import XNumberFactory
from bindings.tests.imports import IMPORT, as_xlsx, upload
from console.models import AuditLog
from console.roles import CUSTOMER_SERVICE
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def boss(boss, settings):
    boss.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the messages are read in English
    return boss


def validated(response) -> NumberImport:
    """The job the upload made, after its validation task ran."""
    assert response.status_code == 302, response.content[:2000]
    job = NumberImport.objects.get()
    assert response["Location"] == reverse("bindings:import-job", args=[job.pk])
    assert job.state == NumberImportState.QUEUED
    services.validate_number_import(job.pk)
    job.refresh_from_db()
    return job


def row_errors(job: NumberImport) -> dict[int, str]:
    """Row number -> the reasons of that row, from the preview."""
    return {error["row"]: error["message"] for error in job.errors}


def test_the_preview_shows_each_bad_row_with_its_reason_and_imports_nothing(boss):
    # given
    mine = ApplicationFactory(mode="AXB", name="Rides", app_key="ridesKey")
    theirs = ApplicationFactory(mode="AXB", name="Couriers")
    XNumberFactory(application=theirs, number="+8617000000009")
    XNumberFactory(application=mine, number="+8617000000008")
    csv = (
        b"number,city_code,application\n"
        b"170 0000 0001,0755,\n"  # 1 fine
        b"12345,0755,\n"  # 2 invalid number
        b"17000000002,0999x,\n"  # 3 unknown city
        b"+86 170 0000 0001,020,\n"  # 4 duplicate of row 1
        b"17000000009,0755,\n"  # 5 belongs to another application
        b"17000000003,0755,Couriers\n"  # 6 names another application
        b"17000000008,0755,ridesKey\n"  # 7 already in this pool
        b"0755 2800 0001,0755,\n"  # 8 a fixed line
    )
    # when
    job = validated(upload(boss, mine, csv))
    # then
    assert job.state == NumberImportState.PREVIEWED
    errors = row_errors(job)
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8]
    assert "12345" in errors[2]
    assert "0999x" in errors[3]
    assert "Duplicate" in errors[4]
    assert "row 1" in errors[4]
    assert "Couriers" in errors[5]
    assert "Wrong application" in errors[6]
    assert "already in this pool" in errors[7]
    assert "fixed line" in errors[8]
    assert job.errors[0] == {
        "row": 2,
        "number": "12345",
        "city_code": "0755",
        "application": "",
        "message": errors[2],
    }
    assert (job.new_count, job.refused_count) == (1, 7)
    assert XNumber.objects.count() == 2


def test_a_clean_file_is_previewed_then_imported_into_the_chosen_application(boss):
    # given
    application = ApplicationFactory(mode="AX")
    csv = b"number,city_code\n17000000001,0755\n+86 170 0000 0002,755\n"
    job = validated(upload(boss, application, csv))
    assert services.number_import_progress(job)["can_confirm"]
    assert not XNumber.objects.exists()
    # when
    response = boss.post(reverse("bindings:import-confirm", args=[job.pk]))
    services.run_number_import(job.pk)
    # then
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.state, job.imported_count, job.refused_count) == (NumberImportState.DONE, 2, 0)
    rows = list(XNumber.objects.values_list("number", "city_code", "province", "application"))
    assert sorted(rows) == [
        ("+8617000000001", "0755", "Guangdong", application.pk),
        ("+8617000000002", "0755", "Guangdong", application.pk),
    ]
    row = AuditLog.objects.get(action="import")
    assert (row.username, row.details["new_numbers"], row.details["import"]) == ("boss", 2, job.pk)


def test_an_xlsx_file_is_read_too(boss):
    application = ApplicationFactory(mode="AXB")
    content = as_xlsx([("17000000001", "010")])
    job = validated(upload(boss, application, content, name="numbers.xlsx", fmt="1"))
    assert row_errors(job) == {}
    assert (job.file_format, job.new_count) == ("xlsx", 1)
    assert services.number_import_progress(job)["can_confirm"]


def test_customer_service_cannot_import_numbers(client, make_user):
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    assert client.get(IMPORT).status_code == 403

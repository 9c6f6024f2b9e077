"""Bulk creation from a CSV: a task creates row by row and reports progress to a polled page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bindings import services
from bindings.choices import BindingStatus, BulkJobStatus
from bindings.models import Binding, BulkJob
from bindings.tests.factories import XNumberFactory
from console.models import AuditLog
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing import wait_until
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CSV = (
    "a_number,b_number,area_code,order_ref,record_flag\n"
    "138 0000 0001,139 0000 0001,0755,SO-1,是\n"
    "12345,139 0000 0002,0755,SO-2,\n"
    "138 0000 0003,138 0000 0003,0755,SO-3,\n"
    "138 0000 0004,139 0000 0004,0755,SO-4,false\n"
)


@pytest.fixture
def staff(client, make_user):
    user = make_user("kefu", CUSTOMER_SERVICE)
    client.force_login(user)
    client.user = user
    return client


def test_a_bulk_job_creates_the_good_rows_and_says_why_each_bad_row_was_refused(
    django_capture_on_commit_callbacks,
):
    # given
    application = ApplicationFactory(mode="AXB")
    XNumberFactory.create_batch(3, application=application)
    with django_capture_on_commit_callbacks(execute=False):
        job = services.start_bulk_create(application, "orders.csv", CSV, language="en")
    # when
    with django_capture_on_commit_callbacks(execute=False) as binds:
        services.run_bulk_create(job.pk)
    # then
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.created, job.failed) == (
        BulkJobStatus.DONE,
        4,
        4,
        2,
        2,
    )
    assert [e["row"] for e in job.errors] == [3, 4]
    assert "12345" in job.errors[0]["message"]
    assert "different" in job.errors[1]["message"]
    created = dict(job.bindings.values_list("order_ref", "record_flag"))
    assert created == {"SO-1": True, "SO-4": False}
    assert len(binds) == 2  # one bind task per created binding


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "two different numbers"), ("zh-hans", "两个不同的号码")]
)
def test_refusals_are_written_in_the_uploaders_language(
    django_capture_on_commit_callbacks, language, expected
):
    # the worker runs in the default language (Chinese); the reader uploaded in theirs
    application = ApplicationFactory(mode="AXB")
    XNumberFactory.create_batch(3, application=application)
    with django_capture_on_commit_callbacks(execute=False):
        job = services.start_bulk_create(application, "orders.csv", CSV, language=language)
        services.run_bulk_create(job.pk)
    job.refresh_from_db()
    assert expected in job.errors[1]["message"]


def test_the_upload_page_stores_the_uploaders_language(client, make_user):
    application = ApplicationFactory(mode="AXB")
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    client.cookies["django_language"] = "en"
    upload = SimpleUploadedFile("orders.csv", CSV.encode(), content_type="text/csv")
    client.post(reverse("bindings:bulk"), {"application": application.pk, "file": upload})
    assert BulkJob.objects.get().language == "en"


def test_a_job_run_twice_never_creates_a_row_twice(django_capture_on_commit_callbacks):
    application = ApplicationFactory(mode="AXB")
    XNumberFactory.create_batch(3, application=application)
    with django_capture_on_commit_callbacks(execute=False):
        job = services.start_bulk_create(application, "orders.csv", CSV)
        services.run_bulk_create(job.pk)
        BulkJob.objects.filter(pk=job.pk).update(status=BulkJobStatus.RUNNING)
        services.run_bulk_create(job.pk)
    job.refresh_from_db()
    assert Binding.objects.count() == 2
    assert (job.created, job.failed) == (2, 2)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("a_number,colour\n13800000001,red\n", "bulk_columns"),
        ("a_number,b_number\n", "bulk_empty"),
    ],
)
def test_a_file_with_unknown_columns_or_no_rows_is_refused_at_upload(text, rule):
    application = ApplicationFactory(mode="AXB")
    with pytest.raises(services.BindingRefused) as refused:
        services.start_bulk_create(application, "x.csv", text)
    assert refused.value.rule == rule
    assert not BulkJob.objects.exists()


def test_uploading_from_the_page_queues_the_job_and_opens_its_progress_page(
    staff, django_capture_on_commit_callbacks
):
    application = ApplicationFactory(mode="AXB")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = staff.post(
            reverse("bindings:bulk"),
            {
                "application": application.pk,
                "file": SimpleUploadedFile("orders.csv", ("\ufeff" + CSV).encode()),
            },
        )
    job = BulkJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bindings:bulk-job", args=[job.pk])
    assert len(queued) == 1
    assert (job.total, job.created_by) == (4, staff.user)
    assert AuditLog.objects.get(action="import").target_id == str(job.pk)
    page = staff.get(response["Location"]).content.decode()
    assert reverse("bindings:bulk-progress", args=[job.pk]) in page
    assert "bulk_progress.js" in page


def test_the_progress_endpoint_answers_json_for_people_who_may_create_bindings(
    client, staff, make_user
):
    application = ApplicationFactory(mode="AXB")
    job = BulkJob.objects.create(
        application=application, source=CSV, total=4, processed=1, created_by=staff.user
    )
    url = reverse("bindings:bulk-progress", args=[job.pk])
    data = staff.get(url).json()
    assert (data["total"], data["processed"], data["finished"]) == (4, 1, False)
    assert set(data["bindings"]) == set(BindingStatus.values)
    client.force_login(make_user("nobody"))
    assert client.get(url).status_code == 403


def test_only_the_uploader_or_an_administrator_follows_a_bulk_job(client, make_user):
    # given a job uploaded by one customer-service user
    owner = make_user("kefu", CUSTOMER_SERVICE)
    job = services.start_bulk_create(ApplicationFactory(mode="AXB"), "mine.csv", CSV, user=owner)
    page = reverse("bindings:bulk-job", args=[job.pk])
    data = reverse("bindings:bulk-progress", args=[job.pk])

    def answers(user) -> tuple[int, int]:
        client.force_login(user)
        return client.get(page).status_code, client.get(data).status_code

    # then a colleague of the same role finds neither its page nor its rows
    assert answers(make_user("colleague", CUSTOMER_SERVICE)) == (404, 404)
    assert answers(owner) == (200, 200)
    assert answers(make_user("boss", NUMBER_ADMINISTRATOR)) == (200, 200)


@pytest.mark.redis
@pytest.mark.simulator
def test_a_bulk_upload_runs_on_the_worker_until_every_binding_is_active(
    platform, celery_worker, client, make_user
):
    # given
    application = platform.application("AXB")
    rows = "".join(f"138 0000 {i:04d},139 0000 {i:04d},0755\n" for i in range(1, 11))
    # (a transactional test: the roles of the data migrations may have been flushed)
    user = make_user("kefu")
    user.user_permissions.add(Permission.objects.get(codename="add_binding"))
    client.force_login(user)
    job = services.start_bulk_create(
        application, "ten.csv", "a_number,b_number,area_code\n" + rows, user=user
    )
    url = reverse("bindings:bulk-progress", args=[job.pk])
    # when / then: the page's endpoint reports the progress until all are bound
    final = wait_until(
        lambda: (
            (data := client.get(url).json())["finished"]
            and data["bindings"]["active"] == 10
            and data
        ),
        timeout=60,
    )
    assert (final["created"], final["failed"], final["processed"]) == (10, 0, 10)
    assert len(platform.control.bindings()) == 10

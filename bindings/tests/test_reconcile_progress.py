"""A reconciliation started by a person: its page follows the progress (numbers checked / total)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bindings import services
from bindings.models import Reconciliation, XNumber
from bindings.tests.factories import XNumberFactory
from console.models import AuditLog
from console.roles import CUSTOMER_SERVICE
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_reconciling_one_applications_numbers_opens_the_runs_progress_page(
    boss, django_capture_on_commit_callbacks
):
    # given
    application = ApplicationFactory(mode="AXB")
    numbers = XNumberFactory.create_batch(3, application=application)
    # when
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = boss.post(
            reverse("bindings:number-action"),
            {"action": "reconcile", "selected": [n.pk for n in numbers[:2]]},
        )
    # then
    run = Reconciliation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bindings:reconciliation", args=[run.pk])
    assert len(queued) == 1
    assert (run.details["total"], run.finished_at) == (2, None)
    assert AuditLog.objects.get(action="sync").details["reconciliation"] == run.pk
    page = boss.get(response["Location"]).content.decode()
    assert reverse("bindings:reconcile-progress", args=[run.pk]) in page
    assert "reconcile_progress.js" in page
    assert '<progress id="reconcile-bar" max="2" value="0">' in page


def test_the_endpoint_answers_numbers_checked_to_administrators_only(boss, client, make_user):
    application = ApplicationFactory(mode="AXB")
    run = Reconciliation.objects.create(
        application=application, numbers_checked=4, details={"total": 10}
    )
    url = reverse("bindings:reconcile-progress", args=[run.pk])
    data = boss.get(url).json()
    assert (data["numbers_checked"], data["total"], data["finished"]) == (4, 10, False)
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    assert client.get(url).status_code == 403


@pytest.mark.simulator
def test_a_started_run_is_filled_in_once_and_left_alone_when_run_again(platform):
    # given
    application = platform.application("AX")
    ids = list(XNumber.objects.filter(application=application).values_list("pk", flat=True))
    run = services.start_reconcile(application, ids[:5])
    # when
    services.reconcile(application, numbers=XNumber.objects.filter(pk__in=ids[:5]), run=run)
    # then
    run.refresh_from_db()
    assert (run.numbers_checked, run.details["total"]) == (5, 5)
    assert run.finished_at is not None
    assert services.reconcile_progress(run)["finished"] is True
    # when the task is delivered again, the finished run stays as it is
    finished = run.finished_at
    again = services.reconcile(application, numbers=XNumber.objects.all(), run=run)
    again.refresh_from_db()
    assert (again.numbers_checked, again.finished_at) == (5, finished)
    assert Reconciliation.objects.count() == 1

"""Every console page of billing enforces its permission; the walk covers new pages by itself."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing import services, urls
from billing.models import BillReconciliation
from billing.tests.factories import make_record
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def pages():
    """(name, url, method, permission) of every page in billing.urls."""
    application = ApplicationFactory(mode="AXYB")
    record = make_record(application)
    statement = services.refresh_statement(application, record.started_at)
    bill = BillReconciliation.objects.create(month=statement.month, file_format="csv")
    args = {"application_id": application.pk, "session_id": record.session_id}
    primary_keys = {"statement": statement.pk}  # the others are of a reconciliation
    found = []
    for pattern in urls.urlpatterns:
        args["pk"] = primary_keys.get(pattern.name, bill.pk)
        wanted = [args[name] for name in pattern.pattern.converters]
        view = pattern.callback.view_class
        method = "post" if view.http_method_names == ["post"] else "get"
        found.append(
            (
                pattern.name,
                reverse(f"billing:{pattern.name}", args=wanted),
                method,
                view.permission_required,
            )
        )
    assert len(found) == len(urls.urlpatterns) >= 6
    return found


def visit(client, method, url):
    return getattr(client, method)(url)


def test_anonymous_visitors_are_sent_to_sign_in_from_every_page(client, pages):
    for name, url, method, _ in pages:
        response = visit(client, method, url)
        assert response.status_code == 302, name
        assert reverse("admin:login") in response["Location"], name


@pytest.mark.parametrize("role", [None, CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR])
def test_each_role_gets_exactly_the_pages_its_permissions_allow(client, make_user, pages, role):
    # given
    user = make_user("someone", role)
    client.force_login(user)
    # when / then
    wrong = []
    for name, url, method, permission in pages:
        status = visit(client, method, url).status_code
        allowed = user.has_perm(permission)
        if allowed != (status != 403):
            wrong.append((name, role, permission, status))
    assert wrong == []


def test_customer_service_reads_calls_but_not_money(client, make_user, pages):
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    statuses = {name: visit(client, method, url).status_code for name, url, method, _ in pages}
    assert statuses["calls"] == statuses["call"] == statuses["dashboard"] == 200
    assert statuses["live_calls"] == 200
    assert statuses["statements"] == statuses["stop_call"] == 403
    money = ("statement", "allocation", "reconciliations", "reconciliation")
    assert {statuses[name] for name in (*money, "reconciliation_progress")} == {403}

"""Billing in the admin: tariffs audited, statements read-only with audited actions, SMS masked."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from billing import services
from billing.models import SmsRecord, Statement
from billing.tests.factories import TariffFactory, fee
from console.models import AuditLog
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing.factories import ApplicationFactory, load_fixture, post_push
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_a_tariff_change_is_audited(client, make_user):
    application = ApplicationFactory()
    admin = make_user("boss", NUMBER_ADMINISTRATOR)
    client.force_login(admin)
    response = client.post(
        reverse("admin:billing_tariff_add"),
        {
            "application": application.pk,
            "valid_from": "2026-04-01",
            "price_to_a": "0.10",
            "price_from_a": "0.12",
            "price_abnormal": "0",
            "monthly_rent_per_number": "15",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    entry = AuditLog.objects.get(action="create")
    assert entry.user == admin
    assert "price_from_a" in entry.details["fields"]


def test_a_statement_is_closed_from_the_admin_and_it_is_audited(client, make_user):
    # given
    application = ApplicationFactory()
    TariffFactory(application=application, valid_from=date(2026, 1, 1))
    services.ingest_cdrs(application, [FeeInfo.model_validate(fee(application))])
    statement = services.refresh_statement(application, date(2026, 3, 1))
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    # when
    client.post(
        reverse("admin:billing_statement_changelist"),
        {"action": "close_now", "_selected_action": [statement.pk], "confirmed": "yes"},
    )
    # then
    statement.refresh_from_db()
    assert statement.state == "closed"
    assert AuditLog.objects.filter(action="end", target_id=str(statement.pk)).exists()
    # and checking it against its CDRs says it matches
    response = client.post(
        reverse("admin:billing_statement_changelist"),
        {"action": "check_against_cdrs", "_selected_action": [statement.pk]},
        follow=True,
    )
    assert "与话单一致" in response.content.decode()


def test_nobody_edits_a_statement_by_hand(client, make_user):
    application = ApplicationFactory()
    statement = Statement.objects.create(application=application, month=date(2026, 3, 1))
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    url = reverse("admin:billing_statement_change", args=[statement.pk])
    response = client.post(url, {"total": "0.01"})
    statement.refresh_from_db()
    assert statement.total == 0
    assert response.status_code == 403


@pytest.fixture
def sms(client):
    application = ApplicationFactory(mode="AX")
    post_push(client, "sms", load_fixture("sms_notify_ax.json", application.app_key), application)
    client.logout()
    return SmsRecord.objects.get()


def test_customer_service_sees_sms_with_numbers_masked_and_no_content(client, make_user, sms):
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    page = client.get(reverse("admin:billing_smsrecord_changelist")).content.decode()
    assert "+86137****1234" in page
    assert "+8613700001234" not in page
    assert "快递" not in page


def test_administrators_see_sms_in_full_on_asking_and_find_them_by_a_typed_number(
    client, make_user, sms
):
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    url = reverse("admin:billing_smsrecord_changelist")
    page = client.get(url, {"q": "137 0000 1234"})
    assert list(page.context["cl"].result_list) == [sms]
    assert "快递" not in page.content.decode()  # masked until asked for
    assert "+86137****1234" in page.content.decode()
    assert not AuditLog.objects.exists()
    full = client.get(url, {"q": "137 0000 1234", "reveal": "1"})
    assert list(full.context["cl"].result_list) == [sms]
    assert "快递" in full.content.decode()
    assert "+8613700001234" in full.content.decode()
    assert AuditLog.objects.get().details == {
        "page": url,
        "query": "q=137****1234",
    }
    assert list(client.get(url, {"q": "139 9999 9999"}).context["cl"].result_list) == []


def test_the_sms_list_shows_the_send_result_and_the_direction(client, make_user, sms):
    assert (sms.send_result, sms.direction) == (2, "1")
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    page = client.get(reverse("admin:billing_smsrecord_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "send result" in text.lower()
    assert '<td class="field-send_result">2</td>' in text
    assert "A to B" in text


def test_closing_statements_asks_first_and_never_closes_one_without_a_tariff(client, make_user):
    # given an open statement of an application that has no tariff
    application = ApplicationFactory()
    services.ingest_cdrs(application, [FeeInfo.model_validate(fee(application))])
    statement = services.refresh_statement(application, date(2026, 3, 1))
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    url = reverse("admin:billing_statement_changelist")
    data = {"action": "close_now", "_selected_action": [statement.pk]}
    # when an administrator closes it: first asked
    asked = client.post(url, data)
    assert 'name="confirmed" value="yes"' in asked.content.decode()
    statement.refresh_from_db()
    assert statement.state == "open"
    # then, confirmed, refused: it would be frozen at 0.00
    client.post(url, {**data, "confirmed": "yes"})
    statement.refresh_from_db()
    assert statement.state == "open"

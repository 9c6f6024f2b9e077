"""The calls API: CDRs billed and explained, of the key's applications, numbers masked."""

from __future__ import annotations

import pytest

from billing.tests.factories import fee, make_record, unanswered
from console.choices import ApiScope
from console.numbers import mask
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_calls_are_listed_billed_explained_and_masked(api_client):
    application, other = ApplicationFactory(), ApplicationFactory()
    answered = make_record(application, talk=61)
    make_record(other)
    client = api_client([application], [ApiScope.CALLS_READ])
    page = client.get("/api/v1/calls/").json()
    assert [c["id"] for c in page["results"]] == [answered.pk]
    call = page["results"][0]
    assert call["billable_minutes"] == 2
    assert call["outcome"] == "answered"
    assert call["caller_num"] == mask(answered.caller_num) != answered.caller_num
    assert set(call["reasons"]) == {"en", "zh-hans"}
    assert client.get(f"/api/v1/calls/{answered.pk}/").status_code == 200
    assert client.get(f"/api/v1/calls/{answered.pk + 1}/").status_code == 404


def test_a_failed_call_says_why_and_the_scope_is_needed(api_client):
    from billing import services
    from privatenumber.schemas import FeeInfo

    application = ApplicationFactory()
    services.ingest_cdrs(application, [FeeInfo.model_validate(unanswered(fee(application)))])
    reader = api_client([application], [ApiScope.BINDINGS_READ])
    assert reader.get("/api/v1/calls/").status_code == 403
    client = api_client([application], [ApiScope.CALLS_READ, ApiScope.NUMBERS_REAL])
    call = client.get("/api/v1/calls/", {"outcome": "answered"}).json()["results"]
    assert call == []
    call = client.get("/api/v1/calls/").json()["results"][0]
    assert call["billable_minutes"] == 0
    assert [r["code"] for r in call["reasons"]["en"]] == [8014, 8102, 17]
    assert call["caller_num"].startswith("+86")  # numbers:real: in full
    # an id that is not a number is a problem detail, not a server error
    for name in ("binding", "application"):
        refused = client.get("/api/v1/calls/", {name: "x"})
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["field"] == name


# --- SMS records -------------------------------------------------------------------------------


def _sms(client, application, name: str, **changes):
    from console.testing.factories import load_fixture, post_push

    body = load_fixture(name, application.app_key)
    body["smsEvent"].update(changes)
    assert post_push(client, "sms", body, application).status_code == 200


def test_sms_records_are_listed_masked_with_the_block_decision(client, api_client):
    from billing.models import SmsRecord

    application, other = ApplicationFactory(mode="AX"), ApplicationFactory(mode="AX")
    _sms(client, application, "sms_notify_ax.json")
    _sms(client, application, "sms_block_ax.json", calling="+8613700005678")
    _sms(client, other, "sms_notify_ax.json")
    notify, block = SmsRecord.objects.filter(application=application).order_by("id")
    assert block.decision  # the console decided something for the Block notice
    # without the scope: a 403 problem
    refused = api_client([application], [ApiScope.STATEMENTS_READ]).get("/api/v1/sms/")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    # with it: this key's application only, newest first, numbers masked, no text
    reader = api_client([application], [ApiScope.CALLS_READ])
    page = reader.get("/api/v1/sms/").json()
    assert [s["id"] for s in page["results"]] == [block.pk, notify.pk]
    shown = page["results"][1]
    assert shown["calling"] == mask("+8613700001234") != "+8613700001234"
    assert shown["called"] == mask(notify.called)
    assert shown["content"] == ""
    assert shown["notification_mode"] == "Notify"
    assert shown["virtual_number"] == notify.virtual_number  # X is not personal data
    assert page["results"][0]["decision"] == block.decision
    assert reader.get(f"/api/v1/sms/{notify.pk}/").json()["id"] == notify.pk
    theirs = SmsRecord.objects.get(application=other)
    assert reader.get(f"/api/v1/sms/{theirs.pk}/").status_code == 404
    # filters
    for query, expected in (
        ({"notification_mode": "Block"}, [block.pk]),
        ({"decision": block.decision}, [block.pk]),
        ({"calling": "137 0000 1234"}, [notify.pk]),
        ({"calling": "1370000"}, []),  # a part of a number finds nothing
        ({"application": other.pk}, []),
        ({"subscription_id": notify.subscription_id}, [block.pk, notify.pk]),
        ({"after": "2018-09-13T09:51:00Z"}, [block.pk]),
        ({"before": "2018-09-13T09:51:00Z"}, [notify.pk]),
    ):
        got = reader.get("/api/v1/sms/", query).json()["results"]
        assert [s["id"] for s in got] == expected, query
    assert reader.get("/api/v1/sms/", {"binding": "x"}).status_code == 400
    assert reader.get("/api/v1/sms/", {"after": "soon"}).status_code == 400
    # numbers:real: in full, the text too, and one audit row for the request
    from console.models import AuditLog

    before = AuditLog.objects.filter(action="reveal").count()
    real = api_client([application], [ApiScope.CALLS_READ, ApiScope.NUMBERS_REAL])
    shown = real.get(f"/api/v1/sms/{notify.pk}/").json()
    assert shown["calling"] == "+8613700001234"
    assert "快递" in shown["content"]
    assert AuditLog.objects.filter(action="reveal").count() == before + 1


def test_the_sms_list_is_one_page_query_however_long(
    client, api_client, django_assert_max_num_queries
):
    application = ApplicationFactory(mode="AX")
    reader = api_client([application], [ApiScope.CALLS_READ])
    reader.get("/api/v1/sms/")  # the key's last use is written once
    for i in range(6):
        _sms(client, application, "sms_notify_ax.json", smsIdentifier=f"sms-{i}")
    with django_assert_max_num_queries(2):  # the key, the page
        assert len(reader.get("/api/v1/sms/").json()["results"]) == 6


# --- Statements --------------------------------------------------------------------------------


def test_statements_show_the_figures_and_lines_of_the_statement_page(
    api_client, django_assert_max_num_queries
):
    from datetime import date
    from decimal import Decimal

    from billing import services
    from billing.tests.factories import TariffFactory, utc

    application, other = ApplicationFactory(), ApplicationFactory()
    TariffFactory(application=application, valid_from=date(2026, 1, 1), price_from_a="0.12")
    from billing.models import Package

    package = Package.objects.create(
        application=application,
        name="P2",
        minutes=2,
        valid_from=utc(2026, 2, 28, 16),
        valid_until=utc(2026, 3, 31, 16),
    )
    make_record(
        application, answered=utc(2026, 3, 10, 10, 25), talk=300, started=utc(2026, 3, 10, 10, 25)
    )
    march = services.refresh_statement(application, date(2026, 3, 1), close=True)
    april = services.refresh_statement(application, date(2026, 4, 1))
    theirs = services.refresh_statement(other, date(2026, 3, 1))
    # the scope is needed
    assert (
        api_client([application], [ApiScope.CALLS_READ]).get("/api/v1/statements/").status_code
        == 403
    )
    reader = api_client([application], [ApiScope.STATEMENTS_READ])
    reader.get("/api/v1/statements/")  # the key's last use is written once
    with django_assert_max_num_queries(2):  # the key, the page with its tariffs
        page = reader.get("/api/v1/statements/").json()
    assert [s["id"] for s in page["results"]] == [april.pk, march.pk]
    shown = reader.get(f"/api/v1/statements/{march.pk}/").json()
    assert shown["month"] == "2026-03"
    assert shown["state"] == "closed"
    assert shown["minutes"] == march.minutes == 5
    assert (shown["package_minutes"], shown["excess_minutes"]) == (2, 3)
    assert Decimal(shown["call_charges"]) == march.call_charges == Decimal("0.36")
    assert Decimal(shown["total"]) == march.total
    assert shown["tariff"]["price_from_a"] == "0.12"
    assert shown["waits_for_tariff"] is False
    [line] = shown["lines"]
    assert line["direction"] == 1
    assert (line["minutes"], line["package_minutes"], line["excess_minutes"]) == (5, 2, 3)
    assert line["price"] == "0.12"
    assert line["charge"] == "0.36"
    # the packages the month drew on, as the statement page lists them
    assert [(p["id"], p["name"], p["minutes"]) for p in shown["packages"]] == [
        (package.pk, "P2", 2)
    ]
    assert line["label"]
    assert reader.get(f"/api/v1/statements/{theirs.pk}/").status_code == 404
    # filters
    assert [
        s["id"] for s in reader.get("/api/v1/statements/", {"month": "2026-03"}).json()["results"]
    ] == [march.pk]
    assert [
        s["id"] for s in reader.get("/api/v1/statements/", {"state": "open"}).json()["results"]
    ] == [april.pk]
    assert reader.get("/api/v1/statements/", {"application": other.pk}).json()["results"] == []
    assert reader.get("/api/v1/statements/", {"month": "March"}).status_code == 400

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

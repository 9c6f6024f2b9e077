"""Billing's PostgreSQL fast paths and their ORM twins give the same answers, on both databases.

Two paths have a twin: the CDR insert (one ``INSERT … SELECT FROM jsonb_array_elements …`` on
PostgreSQL, the ORM elsewhere) and the calls search (a UNION of one index read per number column;
SQLite cannot slice the branches of a UNION, so it gets an OR). Each test plays one scenario
through the twin (always) and the fast path (on PostgreSQL), and both must match the answer
written out by hand. The embedded pass runs them on SQLite (``tests/services.py``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.forms.models import model_to_dict

from billing import services
from billing.filters import NUMBER_COLUMNS, match_any, match_any_portable
from billing.models import CallRecord
from billing.tests.factories import fee, unanswered, utc
from bindings.tests.factories import BindingFactory
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

CALLER = "+8613900007021"
OTHER = "+8613900009999"
X = "+8617012340022"


def parsed(*bodies):
    return [FeeInfo.model_validate(body) for body in bodies]


def stored(application) -> list[dict]:
    """Every stored CDR of ``application`` as plain values, without ids and arrival times."""
    rows = []
    for record in CallRecord.objects.filter(application=application).order_by("cdr_key"):
        values = model_to_dict(record, exclude=["id", "received_at", "delivery"])
        values["binding"] = record.binding.order_ref if record.binding_id else None
        rows.append(values)
    return rows


def test_the_cdr_insert_stores_and_links_the_same_rows(monkeypatch):
    # given a binding, a CDR already stored, and a batch with it, a new one on the binding, a
    # failed call and the same new CDR twice
    application = ApplicationFactory(mode="AXB")
    BindingFactory(application=application, subscription_id="sub-1", order_ref="RIDE-1")
    known = fee(application, started=utc(2026, 3, 1, 2, 0, 0))
    services.ingest_cdrs(application, parsed(known))
    new = fee(application, started=utc(2026, 3, 1, 3, 0, 0), subscriptionId="sub-1", talk=61)
    failed = unanswered(fee(application, started=utc(2026, 3, 1, 4, 0, 0)), 8104, 20)
    batch = parsed(known, new, failed, new)
    ways = {"twin": services._insert_portable}
    if connection.vendor == "postgresql":
        ways["fast"] = services._insert_postgresql

    answers = {}
    for name, insert in ways.items():
        monkeypatch.setattr(services.cdrs, "_insert_postgresql", insert)
        with transaction.atomic():
            created = services.ingest_cdrs(application, batch)
            answers[name] = (created, stored(application))
            transaction.set_rollback(True)

    for created, rows in answers.values():
        assert created == 2  # the known one and the repeat are not stored again
        assert sorted((r["session_id"], r["binding"]) for r in rows) == sorted(
            [(known["sessionId"], None), (new["sessionId"], "RIDE-1"), (failed["sessionId"], None)]
        )
        by_session = {r["session_id"]: r for r in rows}
        assert by_session[new["sessionId"]]["billable_minutes"] == 2
        assert by_session[failed["sessionId"]]["outcome"] == "callee"
    assert all(answer == answers["twin"] for answer in answers.values())


def test_a_cdr_pushed_with_no_time_at_all_is_stored_once_when_pushed_again():
    # given a CDR with none of callInTime, fwdStartTime, callEndTime, failTime: it starts when
    # received, so its start time (the end of its natural key) differs from push to push
    application = ApplicationFactory(mode="AXB")
    timeless = fee(application)
    for name in ("callInTime", "fwdStartTime", "fwdAlertingTime", "fwdAnswerTime", "callEndTime"):
        timeless[name] = ""
    first = services.ingest_cdrs(application, parsed(timeless), now=utc(2026, 3, 1, 2, 0, 0))
    # when the platform pushes it again an hour later, alone and beside a new CDR
    again = services.ingest_cdrs(application, parsed(timeless), now=utc(2026, 3, 1, 3, 0, 0))
    other = fee(application, started=utc(2026, 3, 1, 3, 5, 0))
    mixed = services.ingest_cdrs(
        application, parsed(timeless, other), now=utc(2026, 3, 1, 3, 10, 0)
    )
    # then it is stored once, with the time it first arrived
    assert (first, again, mixed) == (1, 0, 1)
    record = CallRecord.objects.get(application=application, session_id=timeless["sessionId"])
    assert record.started_at == utc(2026, 3, 1, 2, 0, 0)
    assert CallRecord.objects.filter(application=application).count() == 2


@pytest.fixture
def calls():
    """Calls whose numbers sit in different columns, at known times."""
    application = ApplicationFactory(mode="AXB")
    start = utc(2026, 3, 1, 0, 0, 0)
    bodies = [
        fee(application, started=start + timedelta(minutes=1), callerNum=CALLER),
        fee(application, started=start + timedelta(minutes=2), callerNum=OTHER, fwdDstNum=CALLER),
        fee(application, started=start + timedelta(minutes=3), callerNum=OTHER),
        fee(application, started=start + timedelta(minutes=4), callerNum=CALLER),
        fee(application, started=start + timedelta(minutes=5), callerNum=OTHER, bindNum=OTHER),
    ]
    services.ingest_cdrs(application, parsed(*bodies))
    return application, [body["sessionId"] for body in bodies]


def newest(queryset, count: int) -> list[str]:
    return list(
        queryset.order_by("-started_at", "-id").values_list("session_id", flat=True)[:count]
    )


@pytest.mark.parametrize("first", [1, 2, 51])
def test_the_search_finds_the_newest_rows_of_every_column_either_way(calls, first):
    # given calls where a number is the caller of two and the callee of one, and X of all
    application, sessions = calls
    queryset = CallRecord.objects.filter(application=application)
    expected = {
        CALLER: [sessions[3], sessions[1], sessions[0]],
        X: sessions[::-1],  # bindNum, or the displayed number (the last one)
        OTHER: [sessions[4], sessions[2], sessions[1]],
        "+8613000000000": [],
    }
    for number, rows in expected.items():
        # then the ORM twin finds them newest first, each once
        assert newest(match_any_portable(queryset, NUMBER_COLUMNS, number), first) == rows[:first]
        # and so does the UNION of index reads where the database can run it
        if connection.vendor == "postgresql":
            union = match_any(queryset, NUMBER_COLUMNS, number, first=first)
            assert newest(union, first) == rows[:first]

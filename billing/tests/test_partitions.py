"""History by month (issue 20): the partitioned CDRs, call events and SMS records on PostgreSQL,
their conversion from an installation's ordinary tables, partitions made ahead, pruning, and the
history retention that drops whole months (rows on SQLite)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import history, services, settlement
from billing.models import BillDifference, BillReconciliation, CallEvent, CallRecord, SmsRecord
from billing.tests.factories import make_record, utc
from console import partitions, retention
from console.models import AuditLog, RetentionPolicy
from console.testing.factories import ApplicationFactory
from recordings.models import Recording

REPO = Path(__file__).resolve().parents[2]
CDRS = partitions.Monthly("billing_callrecord", "started_at")


def _where(record: CallRecord) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM billing_callrecord WHERE id = %s", [record.pk]
        )
        return cursor.fetchone()[0]


def _scanned(sql: str) -> set[str]:
    """The partitions of billing_callrecord a statement reads, from its plan."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return set(re.findall(r"billing_callrecord_p(?:\d{4}_\d{2}|default)", plan))


def _queries_on_cdrs(context: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in context.captured_queries if '"billing_callrecord"' in q["sql"]]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_history_tables_are_partitioned_by_local_month():
    for table in history.TABLES:
        spec = table.spec
        assert partitions.is_partitioned(spec.table)
        this_month = partitions.month_start(timezone.now())
        assert partitions.months(spec)[-4:] == [
            partitions.add_months(this_month, step) for step in range(4)
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE c.relname = %s",
            [CDRS.partition(date(2027, 1, 1))],
        )
        (bounds,) = cursor.fetchone()
    # Shanghai's midnight of the first (shown in the session's UTC): a local month's statement
    # reads one partition.
    assert bounds == ("FOR VALUES FROM ('2026-12-31 16:00:00+00') TO ('2027-01-31 16:00:00+00')"), (
        bounds
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_cdr_lands_in_its_month_and_a_retried_one_is_still_known():
    application = ApplicationFactory()
    this_month = partitions.month_start(timezone.now())
    record = make_record(application, started=timezone.now() - timedelta(minutes=5))
    assert _where(record) == CDRS.partition(this_month)
    # The same CDR pushed again: the natural key (with its start time) still refuses it.
    from billing.tests.factories import fee
    from privatenumber.schemas import FeeInfo

    again = fee(application, started=record.started_at)
    again.update(icid=record.icid, sessionId=record.session_id)
    assert services.ingest_cdrs(application, [FeeInfo.model_validate(again)]) == 0
    assert CallRecord.objects.filter(cdr_key=record.cdr_key).count() == 1
    # A CDR of a month without a partition waits in the DEFAULT one; it is never refused.
    old = make_record(application, started=utc(2015, 6, 1, 0, 0, 0))
    assert _where(old) == CDRS.default
    assert CallRecord.objects.get(pk=old.pk).started_at == utc(2015, 6, 1, 0, 0, 0)


@pytest.mark.postgres
@pytest.mark.django_db
def test_ensure_makes_the_months_ahead_and_moves_the_rows_waiting_in_default():
    application = ApplicationFactory()
    later = timezone.now() + timedelta(days=200)
    waiting = make_record(application, started=later)
    assert _where(waiting) == CDRS.default
    month = partitions.month_start(later)

    created = partitions.ensure(CDRS, now=later)

    assert CDRS.partition(month) in created
    assert _where(waiting) == CDRS.partition(month)
    assert CallRecord.objects.filter(pk=waiting.pk).count() == 1
    assert partitions.ensure(CDRS, now=later) == []  # nothing twice


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_month_whose_lock_does_not_come_waits_for_the_next_run(monkeypatch, caplog):
    # given a long reader holding the call events (here: a lock nothing can share)
    monkeypatch.setattr(partitions, "LOCK_TIMEOUT", "200ms")
    events = history.TABLES[1].spec
    later = timezone.now() + timedelta(days=400)
    db = connection.settings_dict
    reader = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
    )
    try:
        reader.execute(f"LOCK TABLE {events.table} IN ACCESS EXCLUSIVE MODE")
        # when beat wants next year's month: it does not queue behind the reader (nor make
        # every push queue behind itself), it leaves the month for the next run
        assert partitions.ensure(events, now=later, ahead=0) == []
        assert "the next run tries again" in caplog.text
    finally:
        reader.rollback()
        reader.close()
    # then the next run makes it
    assert partitions.ensure(events, now=later, ahead=0) == [
        events.partition(partitions.month_start(later))
    ]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_calls_list_and_statements_read_only_the_months_they_ask_for(boss):
    application = ApplicationFactory()
    this_month = partitions.month_start(timezone.now())
    previous = partitions.add_months(this_month, -1)
    partitions.ensure(CDRS, now=partitions.start_of(previous))  # a month before, with rows
    make_record(application, started=partitions.start_of(previous) + timedelta(days=2))
    make_record(application, started=timezone.now() - timedelta(minutes=1))

    last_day = partitions.add_months(previous, 1) - timedelta(days=1)
    with CaptureQueriesContext(connection) as page:
        answer = boss.get("/calls/", {"since": previous.isoformat(), "until": last_day.isoformat()})
    assert answer.status_code == 200
    listing = _queries_on_cdrs(page)
    assert listing
    for sql in listing:
        assert _scanned(sql) == {f"billing_callrecord_p{previous:%Y_%m}"}, sql

    # Settled as beat does (its very first run looks back to the application's first billed call:
    # one probe of each month's index, once).
    settlement.settle_application(application, until=settlement.floor_hour(timezone.now()))
    with CaptureQueriesContext(connection) as statement:
        figures = services.compute_statement(application, previous)
    assert figures.calls == 1
    counted = _queries_on_cdrs(statement)
    assert counted
    # The month, and for the settlement's calls that ended in its first hours the month before
    # (a call lasts at most LONGEST_CALL_HOURS), here the DEFAULT partition: never this month.
    read = [_scanned(sql) for sql in counted]
    assert {f"billing_callrecord_p{previous:%Y_%m}"} in read, read
    assert set().union(*read) <= {f"billing_callrecord_p{previous:%Y_%m}", CDRS.default}, read

    # Without a date the list reads every month (newest first, by the index of each).
    with CaptureQueriesContext(connection) as everything:
        boss.get("/calls/")
    assert len(_scanned(_queries_on_cdrs(everything)[0])) > 2


def _history(application, started):
    record = make_record(application, started=started)
    CallEvent.objects.create(
        application=application,
        session_id=record.session_id,
        event_type="callin",
        timestamp=started,
    )
    SmsRecord.objects.create(
        application=application,
        sms_identifier=f"sms-{record.pk}",
        notification_mode="Notify",
        calling="+8613900000001",
        virtual_number="+8617012340022",
        event="sms",
        time_stamp=started,
    )
    return record


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_history_retention_drops_whole_months_when_every_policy_allows():
    now = timezone.now()
    this_month = partitions.month_start(now)
    months = [partitions.add_months(this_month, -back) for back in (5, 4, 3, 0)]
    for month in months:
        partitions.ensure(CDRS, now=partitions.start_of(month))
        for table in history.TABLES[1:]:
            partitions.ensure(table.spec, now=partitions.start_of(month))
    first, second = ApplicationFactory(), ApplicationFactory()
    records = {
        month: _history(first, partitions.start_of(month) + timedelta(days=3)) for month in months
    }
    _history(second, partitions.start_of(months[0]) + timedelta(hours=5))
    old_record = records[months[0]]
    Recording.objects.create(
        call_record=old_record,
        application=first,
        call_started_at=old_record.started_at,
        pushed_at=old_record.started_at,
        deadline=now,
    )
    reconciliation = BillReconciliation.objects.create(
        application=first, month=months[0], file_format="csv"
    )
    difference = BillDifference.objects.create(
        reconciliation=reconciliation, kind="length", call_record=old_record, call_id="x"
    )

    # One application keeps everything: nothing goes.
    RetentionPolicy.objects.create(application=first, call_history_months=2)
    assert retention.history_cutoff(now=now) is None
    assert "dropped" not in history.maintain(now)
    assert CallRecord.objects.count() == 5

    # Both allow it: the longest keep counts (3 months: this month and the three before stay).
    RetentionPolicy.objects.create(application=second, call_history_months=3)
    assert retention.history_cutoff(now=now) == months[2]
    report = history.maintain(now)

    assert sorted(CallRecord.objects.values_list("pk", flat=True)) == sorted(
        records[m].pk for m in months[2:]
    )
    assert CallEvent.objects.count() == SmsRecord.objects.count() == 2
    assert not Recording.objects.exists()  # went with its call
    difference.refresh_from_db()
    assert difference.call_record_id is None
    assert difference.call_id == "x"
    audit = AuditLog.objects.get(details__reason="history retention")
    assert audit.details["before"] == months[2].isoformat()
    if connection.vendor == "postgresql":
        gone = [CDRS.partition(m) for m in months[:2]]
        assert report["dropped"]["billing_callrecord"] == gone
        assert not set(gone) & {CDRS.partition(m) for m in partitions.months(CDRS)}
    else:
        assert report["dropped"]["billing_callrecord"] == 3
    assert "dropped" not in history.maintain(now)  # nothing left to drop


def _manage(database: str, *args: str) -> str:
    url = f"postgres://postgres@{_server()}/{database}"
    env = {**os.environ, "DATABASE_URL": url, "ENV_FILE": "", "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _server() -> str:
    db = settings.DATABASES["default"]
    return f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"


def _digest(database: str) -> dict:
    code = "from billing.tests.conversion_copy import digest; digest()"
    return json.loads(_manage(database, "shell", "-c", code).strip().splitlines()[-1])


@pytest.mark.postgres
def test_the_migration_converts_an_installation_holding_data_without_losing_a_row():
    """On a copy of an installation: migrated up to the ordinary tables, filled, then converted
    (and back): every row and id the same, ids never given twice."""
    database = f"pn_convert_{os.getpid()}"
    admin = f"postgresql://postgres@{_server()}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        _manage(database, "migrate", "-v0", "recordings", "0005_call_record_without_constraint")
        code = "from billing.tests.conversion_copy import seed; seed()"
        _manage(database, "shell", "-c", code)
        before = _digest(database)
        assert {t["kind"] for t in before.values()} == {"r"}
        assert before["billing_callrecord"]["rows"] == 1500

        _manage(database, "migrate", "-v0")
        after = _digest(database)
        for table, figures in before.items():
            assert after[table] == {**figures, "kind": "p"}, table
        with psycopg.connect(f"postgresql://postgres@{_server()}/{database}") as conn:
            months = {
                row[0]
                for row in conn.execute(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'billing_callevent'::regclass"
                )
            }
            assert {"billing_callevent_p2019_05", "billing_callevent_p2026_08"} <= months
            assert "billing_callevent_p2026_09" in months  # 1 September 00:00 in Shanghai
            assert (
                conn.execute("SELECT count(*) FROM billing_callevent_p2026_09").fetchone()[0] == 298
            )
            # The ids deleted before the conversion are not given again.
            (new_id,) = conn.execute(
                "INSERT INTO billing_callevent (application_id, session_id, event_type, "
                "timestamp, caller, called, subscription_id, state_desc, user_data, "
                "notify_mode, digit_info, received_at) SELECT application_id, 'new', "
                "'callin', now(), '', '', '', '', '', '', '', now() FROM billing_callevent "
                "LIMIT 1 RETURNING id"
            ).fetchone()
            assert new_id == 1501
            conn.rollback()

        _manage(database, "migrate", "-v0", "billing", "0010_history_natural_keys")
        back = _digest(database)
        for table, figures in before.items():
            assert back[table] == figures, table
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

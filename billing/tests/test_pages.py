"""The console pages staff live in: calls, a call's story, calls in progress, statements,
dashboard. Query counts are pinned; numbers are masked for customer service."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from unittest import mock

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import services, settlement
from billing.models import CallEvent, CallRecord
from billing.tests.factories import TariffFactory, fee, make_record, unanswered, utc
from console.models import AuditLog
from console.testing.factories import ApplicationFactory, load_fixture, post_push
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.embedded]

CALLS = "/calls/"


def ingest(application, *bodies):
    services.ingest_cdrs(application, [FeeInfo.model_validate(b) for b in bodies])


@pytest.fixture
def application():
    return ApplicationFactory(name="Ride hailing", mode="AXB")


def rows(response) -> list[str]:
    # the page holds the records themselves (billing.views.RecordPaginator), not BoundRows
    return [str(record.session_id) for record in response.context["table"].page.object_list]


# --- calls list -----------------------------------------------------------------------------------


def test_customer_service_sees_calls_newest_first_with_real_numbers_masked(staff, application):
    # given
    older = make_record(application, started=utc(2026, 3, 1, 1, 0, 0))
    newer = make_record(application, started=utc(2026, 3, 2, 1, 0, 0))
    # when
    response = staff.get(CALLS)
    # then
    assert response.status_code == 200
    assert rows(response) == [newer.session_id, older.session_id]
    page = response.content.decode()
    assert "+86139****7021" in page
    assert "+8613900007021" not in page
    assert "+8617012340022" in page  # X is not a real number
    assert "通话" in page  # Chinese by default


def test_administrators_see_full_numbers_only_on_asking_and_each_page_view_is_audited(
    boss, application
):
    # given two calls from the same caller
    make_record(application)
    make_record(application)
    # when an administrator opens the calls list, then asks for full numbers twice
    masked = boss.get(CALLS).content.decode()
    assert not AuditLog.objects.exists()
    full = [boss.get(CALLS, {"reveal": "1"}).content.decode() for _ in range(2)]
    # then the list is masked by default, full on asking, one audit row per page view
    assert "+8613900007021" not in masked
    assert "+86139****7021" in masked
    assert "numbers-toggle" in masked  # the switch
    assert all("+8613900007021" in page for page in full)
    rows = list(AuditLog.objects.values_list("action", "username", "details"))
    assert rows == [("reveal", "boss", {"page": CALLS, "query": ""})] * 2


def test_customer_service_cannot_ask_for_full_numbers(staff, application):
    make_record(application)
    page = staff.get(CALLS, {"reveal": "1"}).content.decode()
    assert "+8613900007021" not in page
    assert "numbers-toggle" not in page
    assert not AuditLog.objects.exists()


def test_the_calls_list_costs_the_same_queries_for_one_or_fifty_rows(staff, application):
    # given
    make_record(application)
    staff.get(CALLS)  # the session, the permissions and the application choices are cached
    with CaptureQueriesContext(connection) as one:
        staff.get(CALLS)
    ingest(application, *[fee(application) for _ in range(60)])
    # when
    with CaptureQueriesContext(connection) as full:
        response = staff.get(CALLS)
    # then: the user; the page of calls in a transaction with a statement timeout (savepoint,
    # SET LOCAL on PostgreSQL, query, release). The session, the user's permissions and the
    # filter form's applications come from the shared cache (issue 19).
    assert len(rows(response)) == 50
    expected = 5 if connection.vendor == "postgresql" else 4
    assert len(full.captured_queries) == len(one.captured_queries) == expected
    assert not [q for q in full.captured_queries if "COUNT(" in q["sql"].upper()]


def test_the_list_pages_without_counting(staff, application):
    ingest(application, *[fee(application) for _ in range(51)])
    first = staff.get(CALLS)
    assert "?page=2" in first.content.decode()
    second = staff.get(CALLS, {"page": 2})
    assert len(rows(second)) == 1
    assert "?page=3" not in second.content.decode()


@pytest.mark.parametrize(
    "typed",
    ["+8613800000021", "13800000021", "138 0000 0021", "+86-138-0000-0021", "008613800000021"],
)
def test_a_number_typed_any_way_finds_its_calls_by_exact_match(staff, application, typed):
    # given
    mine = make_record(application, fwdDstNum="+8613800000021")
    make_record(application, fwdDstNum="+8613800000022", callerNum="+8613900000001")
    # when
    response = staff.get(CALLS, {"q": typed})
    # then
    assert rows(response) == [mine.session_id]


def test_a_search_finds_every_column_a_number_can_be_in(staff, application):
    as_caller = make_record(application, callerNum="+8613512345678")
    as_callee = make_record(application, fwdDstNum="+8613512345678", callerNum="+8613900000009")
    make_record(application, callerNum="+8613900000008")
    found = rows(staff.get(CALLS, {"q": "135 1234 5678"}))
    assert sorted(found) == sorted([as_caller.session_id, as_callee.session_id])


def test_a_search_pages_through_calls_matching_two_columns_each_listed_once(staff, application):
    # given: 60 calls through one X, which is both their bindNum and their displayed number
    x = "+8617055550001"
    start = utc(2026, 3, 1, 1, 0, 0)
    made = [
        make_record(
            application, bindNum=x, fwdDisplayNum=x, started=start + timedelta(minutes=minute)
        )
        for minute in range(60)
    ]
    newest_first = [record.session_id for record in reversed(made)]
    # when
    first_page = rows(staff.get(CALLS, {"q": "170 5555 0001"}))
    second_page = rows(staff.get(CALLS, {"q": "170 5555 0001", "page": 2}))
    # then: each call once, newest first, split across the pages at 50
    assert first_page == newest_first[:50]
    assert second_page == newest_first[50:]


def test_a_session_id_finds_its_call(staff, application):
    record = make_record(application)
    make_record(application)
    assert rows(staff.get(CALLS, {"q": record.session_id})) == [record.session_id]


def test_filters_by_local_dates_application_x_and_outcome(staff, application):
    # given
    other = ApplicationFactory(name="Delivery")
    late_evening = make_record(application, started=utc(2026, 3, 1, 15, 59, 0))  # 23:59 Beijing
    next_day = make_record(application, started=utc(2026, 3, 1, 16, 0, 0))  # 00:00 Beijing
    elsewhere = make_record(other, started=utc(2026, 3, 1, 10, 0, 0))
    via_y = make_record(application, bindNum="+8617099990001")
    busy = CallRecord.objects.get(pk=make_record(application, **unanswered(fee(application))).pk)
    # when / then
    assert rows(staff.get(CALLS, {"since": "2026-03-01", "until": "2026-03-01"})) == [
        late_evening.session_id,
        elsewhere.session_id,
    ]
    assert rows(staff.get(CALLS, {"since": "2026-03-02", "until": "2026-03-02"})) == [
        next_day.session_id
    ]
    assert rows(staff.get(CALLS, {"application": other.pk})) == [elsewhere.session_id]
    assert rows(staff.get(CALLS, {"x": "170 9999 0001"})) == [via_y.session_id]
    assert rows(staff.get(CALLS, {"outcome": "callee"})) == [busy.session_id]


def test_only_the_start_time_can_be_sorted(staff, application):
    first = make_record(application, started=utc(2026, 3, 1, 1, 0, 0))
    second = make_record(application, started=utc(2026, 3, 2, 1, 0, 0))
    assert rows(staff.get(CALLS, {"sort": "started_at"})) == [first.session_id, second.session_id]
    # an unorderable column is ignored instead of sorting millions of rows
    response = staff.get(CALLS, {"sort": "caller_num"})
    assert response.status_code == 200
    assert rows(response) == [second.session_id, first.session_id]


# --- a call's page --------------------------------------------------------------------------------


def test_a_failed_calls_page_says_why_in_chinese_with_what_to_do(staff, application):
    # given the events and the CDR of a call to a busy callee
    for name in ("axb_callin.json", "axb_callout.json", "axb_disconnect_busy.json"):
        body = load_fixture(name, application.app_key)
        body["statusInfo"]["sessionId"] = "session-busy"
        post_push(staff, "status", body, application)
    record = make_record(
        application, **unanswered(fee(application, sessionId="session-busy"), 8102, 17)
    )
    # when
    response = staff.get(reverse("billing:call", args=[application.pk, record.session_id]))
    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert "被叫忙" in page  # hang-up cause 8102 and release point 8102
    assert "用户忙" in page  # Q.850 17
    assert "可以稍后再试" in page  # what to do about a busy callee
    assert "+86139****7021" in page
    assert "+8613900007021" not in page
    assert page.count("<tr>") >= 3  # the events


def test_a_calls_page_speaks_english_on_request(staff, application):
    record = make_record(application, **unanswered(fee(application), 8102, 17))
    staff.cookies["django_language"] = "en"
    page = staff.get(reverse("billing:call", args=[application.pk, record.session_id])).content
    assert b"Callee busy" in page
    assert b"User busy" in page


def test_a_call_without_binding_is_explained_as_such(staff, application):
    body = unanswered(fee(application, subscriptionId="", direction=2), 8014, 0)
    record = make_record(application, **body)
    page = staff.get(reverse("billing:call", args=[application.pk, record.session_id]))
    text = page.content.decode()
    assert "8014" in text
    assert "创建" in text or "绑定" in text


def test_a_calls_page_shows_the_recording_player_of_the_recordings_app(staff, application):
    record = make_record(application, recordFlag=1, recordObjectName="call-1.wav")
    page = staff.get(reverse("billing:call", args=[application.pk, record.session_id]))
    assert 'id="recording"' in page.content.decode()
    # the recordings app ships the panel: the recording's player or its state
    assert page.context["recording_template"] == "recordings/call_panel.html"
    assert 'class="recording-player" data-recording=' in page.content.decode()


def test_without_a_recordings_app_the_page_keeps_a_placeholder(staff, application):
    record = make_record(application, recordFlag=1, recordObjectName="call-1.wav")
    absent = ["recordings/not_installed.html", "billing/call_recording.html"]
    with mock.patch("billing.views.RECORDING_TEMPLATES", absent):
        page = staff.get(reverse("billing:call", args=[application.pk, record.session_id]))
    assert "call-1.wav" in page.content.decode()
    assert page.context["recording_template"] == "billing/call_recording.html"
    assert 'id="recording"' in page.content.decode()


def test_an_unknown_call_is_404(staff, application):
    assert staff.get(reverse("billing:call", args=[application.pk, "nope"])).status_code == 404


# --- calls in progress ----------------------------------------------------------------------------


def test_a_call_in_progress_is_listed_until_it_ends(staff, application):
    # given a call-in a minute ago
    body = load_fixture("axb_callin.json", application.app_key)
    now = timezone.now().astimezone(utc(2000, 1, 1).tzinfo)
    body["statusInfo"]["timestamp"] = (now - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    post_push(staff, "status", body, application)
    session = body["statusInfo"]["sessionId"]
    # when / then
    assert session in staff.get("/calls/live/").content.decode()
    page = staff.get(reverse("billing:call", args=[application.pk, session])).content.decode()
    assert "进行中" in page  # in progress
    assert "stop-call" not in page  # not AXYB, and customer service may not stop calls
    # when it ends
    CallEvent.objects.create(
        application=application,
        session_id=session,
        event_type="disconnect",
        timestamp=now,
        state_code=0,
    )
    assert session not in staff.get("/calls/live/").content.decode()


# --- statements -----------------------------------------------------------------------------------


@pytest.fixture
def march_statement(application):
    TariffFactory(application=application, valid_from=date(2026, 1, 1), price_from_a="0.12")
    ingest(application, fee(application, direction=1, talk=61, started=utc(2026, 3, 5, 1, 0, 0)))
    return services.refresh_statement(application, date(2026, 3, 1), close=True)


def test_statements_export_to_csv_with_the_shown_figures(boss, march_statement):
    response = boss.get("/statements/", {"_export": "csv"})
    assert response.status_code == 200
    assert "csv" in response["Content-Type"]
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, line = table[0], table[1]
    assert header[:2] == ["月份", "应用"]  # Chinese column names, as on the page
    assert line[:2] == ["2026-03", "Ride hailing"]
    assert line[header.index("通话费（元）")] == "0.24"  # 2 started minutes at 0.12


def test_statements_export_to_xlsx(boss, march_statement):
    response = boss.get("/statements/", {"_export": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [cell.value for cell in sheet[2]]
    assert "2026-03" in values
    assert "0.24" in [str(v) for v in values]


def test_customer_service_may_not_see_statements(staff, march_statement):
    assert staff.get("/statements/").status_code == 403
    assert staff.get("/statements/", {"_export": "csv"}).status_code == 403


# --- dashboard ------------------------------------------------------------------------------------


def test_the_dashboard_draws_the_last_day_and_month_and_the_failures_by_cause(boss, application):
    # given
    TariffFactory(application=application, valid_from=date(2020, 1, 1), price_from_a="0.12")
    now = timezone.now()
    ingest(
        application,
        fee(application, direction=1, talk=61, started=now - timedelta(hours=2)),
        unanswered(fee(application, started=now - timedelta(hours=3)), 8102, 17),
        unanswered(fee(application, started=now - timedelta(days=3)), 8101, 19),
    )
    services.refresh_call_stats(now=now + timedelta(minutes=2))
    settlement.settle_due_hours(now=now)  # the charges are the settled hours'
    # when
    response = boss.get("/dashboard/")
    # then
    day, month = response.context["periods"]
    assert (day.calls, day.answered, day.minutes, day.failed) == (2, 1, 2, 1)
    assert (month.calls, month.answered) == (3, 1)
    assert str(day.charges) == str(month.charges) == "0.24"
    assert [c.code for c in month.failures] == [8101, 8102]
    page = response.content.decode()
    assert page.count('class="answered"') >= 54  # 24 + 30 bars
    assert "被叫忙" in page
    assert "<script" not in page.split("<svg", 1)[1]


def test_customer_service_sees_the_dashboard_without_money(staff, application):
    response = staff.get("/dashboard/")
    assert response.status_code == 200
    assert response.context["periods"][0].charges is None


@pytest.mark.postgres_only  # a statement timeout is PostgreSQL's
def test_a_search_that_takes_too_long_is_cut_short_with_advice(staff, application, settings):
    # given a list that may spend one millisecond on its queries, and a slow database
    settings.BILLING_LIST_TIMEOUT_MS = 1
    make_record(application)
    from django.db.backends.utils import CursorWrapper

    real_execute = CursorWrapper.execute

    def slow(self, sql, params=None):
        # A statement of its own, before each query of the calls: joined into the query instead,
        # the planner may never run it (an empty branch of the search's UNION is skipped).
        if "billing_callrecord" in sql:
            real_execute(self, "SELECT pg_sleep(0.05)")
        return real_execute(self, sql, params)

    # when
    with mock.patch.object(CursorWrapper, "execute", slow):
        response = staff.get(CALLS, {"q": "138 0000 0021"})
    # then: the worker is free again, the filters stay, and the agent knows what to do
    assert response.status_code == 200
    assert rows(response) == []
    assert "138 0000 0021" in response.content.decode()
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


def test_an_open_statement_reads_as_open_not_as_the_verb(boss, application):
    # the bindings catalog translates the link "Open" as the verb 打开; a statement is 未结
    ingest(application, fee(application, direction=1, talk=61, started=utc(2026, 3, 5, 1, 0, 0)))
    TariffFactory(application=application, valid_from=date(2026, 1, 1))
    services.refresh_statement(application, date(2026, 3, 1))
    page = boss.get("/statements/").content.decode()
    assert "未结" in page
    assert "打开" not in page


def test_a_call_records_times_read_as_times_in_chinese(staff, application):
    # "Ended" alone is the bindings catalog's 已解绑 (unbound); a call record's end is a time
    record = make_record(application, **unanswered(fee(application), 8102, 17))
    page = staff.get(reverse("billing:call", args=[application.pk, record.session_id]))
    text = page.content.decode()
    assert "结束时间" in text
    assert "失败时间" in text
    assert "已解绑" not in text


# The rows of the calls list as billing/call_table.html rendered them before call_rows_html.
ROWS_LOOP = (
    "{% for row in rows %}\n"
    '    <tr><td><a href="{{ row.url }}">{{ row.started }}</a></td><td>{{ row.application }}</td>'
    "<td>{{ row.x }}</td><td>{{ row.caller }}</td><td>{{ row.forwarded_to }}</td>"
    "<td>{{ row.direction }}</td><td>{% if row.failed %}"
    '<span class="call-failed">{{ row.outcome }}</span>{% else %}{{ row.outcome }}{% endif %}'
    "</td><td>{{ row.talk }}</td><td>{{ row.minutes }}</td><td>{{ row.notes }}</td></tr>\n"
    "  {% endfor %}"
)


def test_the_rows_joined_in_python_are_the_rows_the_template_rendered(application):
    from django.template import engines

    from billing.tables import call_rows, call_rows_html
    from console.privacy import Numbers

    application.name = 'A&B <"shop">'
    application.save()
    answered = make_record(application, callerNum="+8613800000001", talk=12345)
    failed = make_record(application, **unanswered(fee(application, sessionId="s/2?&x=1")))
    failed.bind_num, failed.caller_num = "", "anonymous<>"
    failed.no_binding = failed.malformed_number = failed.redial_duplicate = True
    records = [answered, failed]
    assert failed.outcome != "answered"
    template = engines["django"].from_string(ROWS_LOOP)
    for revealed in (False, True):
        numbers = Numbers.__new__(Numbers)  # no request: a viewer masked, or one already audited
        numbers.revealed, numbers.audited = revealed, True
        rows = call_rows(records, numbers=numbers)
        assert call_rows_html(rows) == template.render({"rows": rows})

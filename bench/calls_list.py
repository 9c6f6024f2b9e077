"""The calls list over 5,000,000 CDRs (or 20,000,000, partitioned): p50/p95 of the page.

``python -m bench calls_list [--rows 5000000] [--days 90] [--repeat 20] [--users 8 --workers 4]
[--only month] [--keep | --reuse --database NAME]``

1. Creates a database of its own (``bench_calls_<pid>_<random>``, or ``--database``; dropped at
   the end unless ``--keep``) on the PostgreSQL of
   ``BENCH_POSTGRES_URL`` (default ``postgres://postgres@127.0.0.1:5432/postgres``), migrates it,
   and fills ``billing_callrecord`` server-side (``generate_series``) with ``--rows`` CDRs over
   ``--days`` days (on PostgreSQL the table is partitioned by month, ``console.partitions``: a
   partition is made for every month of the data first): 4 applications (50/30/15/5 %),
   2,000 X numbers, a million callers, 200,000 forwarded-to numbers, 70 % answered and the
   failures spread over the outcome categories. The indexes are dropped for the load and rebuilt
   from the migration's own definitions.
2. Starts gunicorn (``--workers`` sync workers) and, signed in as a customer-service user, has
   ``--users`` concurrent users request ``/calls/`` ``--repeat`` times per scenario with a fresh
   value each time (a random day, X, caller typed in another way, …), timing each full HTTP
   answer (every worker warmed first, unmeasured: :func:`warm_up`); the CPU of the web workers
   and of the database's backends is read from ``/proc``.
3. Checks every page against the table with SQL of its own (``check_page``): each row shown meets
   the filter, the rows are newest first, the page holds as many as it should, no matching row is
   missing between its first and its last, and a first page starts with the newest match.

Scenarios include a whole local month (alone, with one application, its page 5): the month
filter reads one partition. The disk the CDRs take (heap, with indexes, the database) is reported.
Prints and writes ``bench/results/calls_list.json``.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from bench import _cost
from bench import ingest as _ingest
from bench.ingest import admin_sql, bench_applications, create_database, free_port, setup_django

logger = logging.getLogger("bench.calls_list")

REPO = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = ""  # the run's own (run()), or --database
X_NUMBERS = 2000
CALLERS = 1_000_000
DESTINATIONS = 200_000
CHUNK = 500_000

# (outcome, release point, share of calls) – the cumulative share decides a row's outcome.
OUTCOMES = [
    ("answered", 0, 0.70),
    ("callee", 8102, 0.08),
    ("callee", 8101, 0.07),
    ("caller", 7501, 0.05),
    ("binding", 8014, 0.04),
    ("control", 8047, 0.03),
    ("platform", 8020, 0.02),
    ("network", 7506, 0.01),
]


def database_url() -> str:
    return urlparse(ADMIN_URL)._replace(path=f"/{DB_NAME}").geturl()


def env() -> dict[str, str]:
    from bench.ingest import bench_env

    return {**bench_env(), "DATABASE_URL": database_url()}


def outcome_sql() -> tuple[str, str]:
    """CASE expressions choosing outcome and release point from the random number ``r6``."""
    outcome, point, total = [], [], 0.0
    for name, code, share in OUTCOMES:
        total += share
        outcome.append(f"WHEN r6 < {total:.4f} THEN '{name}'")
        point.append(f"WHEN r6 < {total:.4f} THEN {code}")
    return f"CASE {' '.join(outcome)} ELSE 'unknown' END", f"CASE {' '.join(point)} ELSE 0 END"


def make_months(days: int) -> list[str]:
    """On a partitioned table (console.partitions), a partition for every month of the load, so
    that no row waits in the DEFAULT partition; the partitions made."""
    from django.db import connection
    from django.utils import timezone

    from console import partitions

    spec = partitions.Monthly("billing_callrecord", "started_at")
    oldest = timezone.now() - timedelta(days=days)
    first, now = partitions.month_start(oldest), partitions.month_start(timezone.now())
    span = (now.year - first.year) * 12 + now.month - first.month
    made = partitions.ensure(spec, now=oldest, ahead=span + partitions.MONTHS_AHEAD)
    connection.close()
    return made


def disk_used() -> dict[str, Any]:
    """What the CDRs take on disk: the table and its indexes (all partitions), and the database."""
    import psycopg

    with psycopg.connect(database_url()) as conn:
        table, parts = conn.execute(
            "SELECT COALESCE(sum(pg_total_relation_size(inhrelid)), "
            "pg_total_relation_size('billing_callrecord')), count(inhrelid) "
            "FROM pg_inherits WHERE inhparent = 'billing_callrecord'::regclass"
        ).fetchone()
        heap = conn.execute(
            "SELECT COALESCE(sum(pg_relation_size(inhrelid)), "
            "pg_relation_size('billing_callrecord')) "
            "FROM pg_inherits WHERE inhparent = 'billing_callrecord'::regclass"
        ).fetchone()[0]
        database = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    gib = 1024**3
    return {
        "partitions": int(parts),
        "cdr_table_gib": round(int(heap) / gib, 2),
        "cdr_table_with_indexes_gib": round(int(table) / gib, 2),
        "database_gib": round(database / gib, 2),
    }


def load(rows: int, app_ids: list[int], days: int = 90) -> dict[str, float]:
    import psycopg

    timings = {}
    outcome, point = outcome_sql()
    a1, a2, a3, a4 = app_ids
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'billing_callrecord' "
            "AND indexname NOT LIKE '%%pkey'"
        ).fetchall()
        constraints = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'billing_callrecord'::regclass AND contype = 'u'"
        ).fetchall()
        constraint_names = {name for name, _ in constraints}
        for name, _ in constraints:
            conn.execute(f"ALTER TABLE billing_callrecord DROP CONSTRAINT {name}")
        for name, _ in indexes:
            if name not in constraint_names:
                conn.execute(f"DROP INDEX {name}")
        began = time.perf_counter()
        conn.execute("SELECT setseed(0.42)")
        for start in range(1, rows + 1, CHUNK):
            end = min(start + CHUNK - 1, rows)
            conn.execute(
                f"""
                INSERT INTO billing_callrecord (
                    application_id, received_at, cdr_key, direction, sp_id, icid, bind_num,
                    session_id, subscription_id, caller_num, callee_num, fwd_display_num,
                    fwd_dst_num, call_in_time, fwd_start_time, fwd_alerting_time,
                    fwd_answer_time, call_end_time, fwd_unasw_rsn, fail_time, ul_fail_reason,
                    sip_status_code, call_out_unasw_rsn, record_flag, record_object_name,
                    record_bucket_name, record_domain, record_file_download_url, mpty_id,
                    service_type, host_name, user_data, extend_number, started_at,
                    talk_seconds, billable_minutes, outcome, redial_duplicate, no_binding,
                    malformed_number)
                SELECT
                    CASE WHEN r1 < 0.5 THEN {a1} WHEN r1 < 0.8 THEN {a2}
                         WHEN r1 < 0.95 THEN {a3} ELSE {a4} END,
                    t, 'icid-' || g, (g % 2)::smallint, 'bench_sp', 'icid-' || g, x,
                    'sess-' || g || '@callenabler246.huaweicaas.com', 'sub-' || (g % 100000),
                    '+86138' || lpad(floor(r3 * {CALLERS})::int::text, 8, '0'), x, x,
                    '+86139' || lpad(floor(r4 * {DESTINATIONS})::int::text, 8, '0'),
                    t, t + interval '1 second', t + interval '2 seconds',
                    CASE WHEN answered THEN t + interval '6 seconds' END,
                    t + interval '6 seconds' + make_interval(secs => talk),
                    0, CASE WHEN NOT answered THEN t + interval '20 seconds' END, point, 0, 0,
                    0, '', '', '', '', '', '004', 'callenabler246.huaweicaas.com', '', '', t,
                    CASE WHEN answered THEN talk ELSE 0 END,
                    CASE WHEN answered THEN ceil(talk / 60.0)::int ELSE 0 END,
                    outcome, false, false, false
                FROM (
                    SELECT g, r1, r3, r4, talk, answered, outcome, point,
                           '+86170' || lpad(floor(r2 * {X_NUMBERS})::int::text, 8, '0') AS x,
                           now() - r5 * interval '{days} days' AS t
                    FROM (
                        SELECT g, r1, r2, r3, r4, r5, r6,
                               (1 + floor(r7 * 600))::int AS talk,
                               r6 < 0.70 AS answered,
                               {outcome} AS outcome, {point} AS point
                        FROM (
                            SELECT g, random() r1, random() r2, random() r3, random() r4,
                                   random() r5, random() r6, random() r7
                            FROM generate_series({start}, {end}) g
                        ) raw
                    ) picked
                ) calls
                """  # noqa: S608 - numbers of our own
            )
            logger.info("loaded %s rows", end)
        timings["load_seconds"] = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        for name, definition in constraints:
            conn.execute(f"ALTER TABLE billing_callrecord ADD CONSTRAINT {name} {definition}")
        for name, definition in indexes:
            if name not in constraint_names:
                # A partitioned table's index reads "ON ONLY": that would build it on no partition.
                conn.execute(definition.replace(" ON ONLY ", " ON ", 1))
                logger.info("rebuilt %s", name)
        timings["index_seconds"] = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        conn.execute("VACUUM ANALYZE billing_callrecord")
        timings["vacuum_seconds"] = round(time.perf_counter() - began, 1)
    return timings


# Where the page's rows must come from, per filter: written here in SQL, apart from the view's
# filters, so a wrong row on a page (or a missing one) is seen, not only a wrong row count.
NUMBER_MATCH = "%s IN (caller_num, bind_num, fwd_display_num, fwd_dst_num)"
ID_MATCH = "%s IN (session_id, cdr_key, subscription_id)"


def _day_bounds(day: str) -> list[Any]:
    from datetime import date, datetime, time
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")  # TIME_ZONE: days are local days
    start = datetime.combine(date.fromisoformat(day), time.min, tzinfo=zone)
    return [start, start + timedelta(days=1)]


def _month_bounds(first: str, last: str) -> list[Any]:
    return [_day_bounds(first)[0], _day_bounds(last)[1]]


def scenarios(app_ids: list[int], rng: random.Random, days: int = 90):
    """(name, maker) of each way staff open the list; a maker gives the query string and the
    SQL condition (with its parameters) every row of the answer must meet."""
    from django.utils import timezone

    today = timezone.localdate()

    def day() -> str:
        return (today - timedelta(days=rng.randrange(days))).isoformat()

    def month() -> tuple[str, str]:
        """A whole local month of the data (the last full one, or one before it)."""
        back = rng.randrange(max(1, days // 31 - 1)) + 1
        first = today.replace(day=1)
        for _ in range(back):
            first = (first - timedelta(days=1)).replace(day=1)
        last = ((first + timedelta(days=32)).replace(day=1)) - timedelta(days=1)
        return first.isoformat(), last.isoformat()

    def one_month() -> tuple[dict, str, list]:
        first, last = month()
        return (
            {"since": first, "until": last},
            "started_at >= %s AND started_at < %s",
            _month_bounds(first, last),
        )

    def month_application() -> tuple[dict, str, list]:
        first, last = month()
        app = rng.choice(app_ids)
        return (
            {"since": first, "until": last, "application": app},
            "started_at >= %s AND started_at < %s AND application_id = %s",
            [*_month_bounds(first, last), app],
        )

    def month_page_5() -> tuple[dict, str, list]:
        first, last = month()
        return (
            {"since": first, "until": last, "page": 5},
            "started_at >= %s AND started_at < %s",
            _month_bounds(first, last),
        )

    def caller() -> tuple[str, str]:
        digits = f"{rng.randrange(CALLERS):08d}"
        forms = [
            f"+86138{digits}",
            f"138{digits}",
            f"138 {digits[:4]} {digits[4:]}",
            f"+86-138-{digits[:4]}-{digits[4:]}",
        ]
        return rng.choice(forms), f"+86138{digits}"

    def x() -> tuple[str, str]:
        digits = f"{rng.randrange(X_NUMBERS):08d}"
        return f"170 {digits}", f"+86170{digits}"

    def one_day() -> tuple[dict, str, list]:
        d = day()
        return {"since": d, "until": d}, "started_at >= %s AND started_at < %s", _day_bounds(d)

    def application() -> tuple[dict, str, list]:
        chosen = rng.choice(app_ids)
        return {"application": chosen}, "application_id = %s", [chosen]

    def small_day() -> tuple[dict, str, list]:
        d = day()
        return (
            {"application": app_ids[3], "since": d, "until": d},
            "application_id = %s AND started_at >= %s AND started_at < %s",
            [app_ids[3], *_day_bounds(d)],
        )

    def x_filter() -> tuple[dict, str, list]:
        typed, stored = x()
        return {"x": typed}, "bind_num = %s", [stored]

    def rare_week() -> tuple[dict, str, list]:
        chosen, since = rng.choice(app_ids), day()
        return (
            {
                "application": chosen,
                "outcome": "platform",
                "since": since,
                "until": today.isoformat(),
            },
            "application_id = %s AND outcome = 'platform' AND started_at >= %s AND started_at < %s",
            [chosen, _day_bounds(since)[0], _day_bounds(today.isoformat())[1]],
        )

    def search_caller() -> tuple[dict, str, list]:
        typed, stored = caller()
        return {"q": typed}, NUMBER_MATCH, [stored]

    def search_forwarded() -> tuple[dict, str, list]:
        digits = f"{rng.randrange(DESTINATIONS):08d}"
        return {"q": f"139{digits}"}, NUMBER_MATCH, [f"+86139{digits}"]

    def search_x() -> tuple[dict, str, list]:
        typed, stored = x()
        return {"q": typed}, NUMBER_MATCH, [stored]

    def search_session() -> tuple[dict, str, list]:
        session = f"sess-{rng.randrange(1, 10**6)}@callenabler246.huaweicaas.com"
        return {"q": session}, ID_MATCH, [session]

    return [
        ("newest first", lambda: ({}, "true", [])),
        ("page 5", lambda: ({"page": 5}, "true", [])),
        ("one day", one_day),
        ("application", application),
        ("smallest application, one day", small_day),
        ("X number", x_filter),
        ("outcome answered", lambda: ({"outcome": "answered"}, "outcome = 'answered'", [])),
        ("rare outcome (network)", lambda: ({"outcome": "network"}, "outcome = 'network'", [])),
        ("application + rare outcome + week", rare_week),
        ("search caller, typed any way", search_caller),
        ("search forwarded-to number", search_forwarded),
        ("search X number", search_x),
        ("search session id", search_session),
        ("one month", one_month),
        ("one month, one application", month_application),
        ("one month, page 5", month_page_5),
    ]


ROW_LINK = re.compile(r'<td><a href="/calls/(\d+)/([^"]+)/">')


def check_page(conn, text: str, query: dict, where: str, params: list) -> str | None:
    """Why this page is wrong, or None: every row must exist and meet ``where``, the rows must be
    newest first, the page must hold as many rows as the condition gives for it, no matching row
    may be missing between its first and last, and a first page must start with the newest.

    No check query orders by time under a LIMIT: for a rare condition PostgreSQL would walk the
    newest-first index through millions of rows (the trap ``billing.filters.match_any`` avoids).
    """
    from urllib.parse import unquote

    shown = [(int(app), unquote(session)) for app, session in ROW_LINK.findall(text)]
    page = int(query.get("page", 1))
    skipped = (page - 1) * 50
    matching = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM billing_callrecord WHERE {where} "  # noqa: S608
        "LIMIT %s) s",
        [*params, skipped + 50],
    ).fetchone()[0]
    expected = min(50, max(0, matching - skipped))
    if len(shown) != expected:
        return f"{len(shown)} rows shown, {expected} expected"
    if not shown:
        return None
    found = conn.execute(
        f"SELECT application_id, session_id, started_at, ({where}) FROM billing_callrecord "  # noqa: S608
        "WHERE (application_id, session_id) IN (SELECT * FROM unnest(%s::bigint[], %s::text[]))",
        [*params, [a for a, _ in shown], [session for _, session in shown]],
    ).fetchall()
    by_row = {(app, session): (started, meets) for app, session, started, meets in found}
    if len(by_row) != len(shown):
        return "a row shown is not in the table"
    if not all(by_row[row][1] for row in shown):
        return "a row shown does not meet the filter"
    times = [by_row[row][0] for row in shown]
    if times != sorted(times, reverse=True):
        return "rows not newest first"
    between = conn.execute(
        f"SELECT count(*) FROM billing_callrecord WHERE {where} "  # noqa: S608
        "AND started_at > %s AND started_at < %s",
        [*params, times[-1], times[0]],
    ).fetchone()[0]
    if between != sum(1 for when in times if times[-1] < when < times[0]):
        return "a matching row is missing from the page"
    if page == 1:
        newer = conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM billing_callrecord WHERE {where} "  # noqa: S608
            "AND started_at > %s)",
            [*params, times[0]],
        ).fetchone()[0]
        if newer:
            return "the first row is not the newest that meets the filter"
    return None


def warm_up(url: str, new_session, workers: int, rounds: int = 3) -> None:
    """Every gunicorn worker serves a few pages before the clock and the meter start.

    A worker's first page costs about 0.3 s of CPU more than the next (the URLconf imported,
    templates compiled, translation catalogues read), once per process. Two users per worker
    asking together reach every worker; without this, the cold workers' first pages landed in
    the measured CPU per page (docs/benchmarks.md, "Calls list with 8 concurrent users").
    """

    def user() -> None:
        own = new_session()
        for _ in range(rounds):
            own.get(url, timeout=120).raise_for_status()

    threads = [threading.Thread(target=user) for _ in range(2 * workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run(args: list[str]) -> dict[str, Any]:
    global DB_NAME
    parser = argparse.ArgumentParser(prog="python -m bench calls_list")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--days", type=int, default=90, help="the days the CDRs spread over")
    parser.add_argument("--only", help="only the scenarios whose name contains this (e.g. 'month')")
    parser.add_argument("--users", type=int, default=1, help="concurrent users (threads)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn sync workers")
    _cost.add_database_options(parser, keep=" (for EXPLAIN)")
    options = parser.parse_args(args)
    DB_NAME = _cost.database_name(parser, options, "bench_calls")
    with _ingest.own_redis():  # sessions and the cache: the run's own
        return _run(options, args)


def _run(options: argparse.Namespace, args: list[str]) -> dict[str, Any]:

    create_database(DB_NAME, env(), reuse=options.reuse)
    setup_django(env())
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client

    from console.roles import CUSTOMER_SERVICE

    app_ids = bench_applications("benchList")
    user, _ = User.objects.get_or_create(username="bench-kefu", is_staff=True)
    user.groups.add(Group.objects.get(name=CUSTOMER_SERVICE))
    client = Client()
    client.force_login(user)
    session_cookie = client.cookies["sessionid"].value
    connection.close()

    timings = {}
    if not options.reuse:
        timings["partitions_made"] = len(make_months(options.days))
        timings.update(load(options.rows, app_ids, options.days))

    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "shell.wsgi:application",
            "--workers",
            str(options.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env(),
    )
    url = f"http://127.0.0.1:{port}/calls/"

    def new_session() -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.cookies.set("sessionid", session_cookie)
        return session

    results: dict[str, Any] = {}
    wrong: list[str] = []
    try:
        session = new_session()
        deadline = time.monotonic() + 30
        while True:
            try:
                session.get(url, timeout=30).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        warm_up(url, new_session, options.workers)
        rng = random.Random(7)
        # Every request decided beforehand, then served to --users threads in a shuffled order
        # (so the users do not all ask for the same kind of page at once).
        work = [
            (name, *maker())
            for name, maker in scenarios(app_ids, rng, options.days)
            if not options.only or options.only in name
            for _ in range(options.repeat)
        ]
        order = list(range(len(work)))
        rng.shuffle(order)
        answers: dict[int, tuple[float, int, str]] = {}
        lock = threading.Lock()

        def user_loop() -> None:
            own = new_session()
            while True:
                with lock:
                    if not order:
                        return
                    index = order.pop()
                query = work[index][1]
                began = time.perf_counter()
                response = own.get(url, params=query, timeout=120)
                took = time.perf_counter() - began
                with lock:
                    answers[index] = (took, response.status_code, response.text)

        meter = _cost.Meter(database=DB_NAME)
        with meter:
            before = meter.read()
            began = time.perf_counter()
            users = [threading.Thread(target=user_loop) for _ in range(options.users)]
            for thread in users:
                thread.start()
            for thread in users:
                thread.join()
            elapsed = time.perf_counter() - began
            used = _cost.difference(meter.read(), before)

        import psycopg

        with psycopg.connect(database_url()) as check:
            for index, (name, query, where, params) in enumerate(work):
                took, status, text = answers[index]
                problem = f"HTTP {status}" if status != 200 else None
                problem = problem or check_page(check, text, query, where, params)
                if problem:
                    wrong.append(f"{name} {query}: {problem}")
                results.setdefault(name, []).append(took)
        disk = disk_used()
        rows = options.rows
        if options.reuse:  # the rows of the kept database, not the option's default
            with psycopg.connect(database_url()) as check:
                rows = check.execute("SELECT count(*) FROM billing_callrecord").fetchone()[0]
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not options.keep:
            admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    scenarios_report = {}
    all_times: list[float] = []
    for name, times in results.items():
        times.sort()
        all_times += times
        scenarios_report[name] = {
            "p50_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)] * 1000, 1),
            "max_ms": round(times[-1] * 1000, 1),
        }
        logger.info("%s: %s", name, scenarios_report[name])
    all_times.sort()
    pages = len(all_times)
    return {
        "command": "python -m bench calls_list " + " ".join(args),
        "machine": f"{os.cpu_count()} cores",
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "database": DB_NAME + (" (kept)" if options.keep else ""),
        "rows": rows,
        "days": options.days,
        "disk": disk,
        "users": options.users,
        "gunicorn_workers": options.workers,
        "requests_per_scenario": options.repeat,
        **timings,
        # Every page checked against the table: rows meet the filter, newest first, none missing.
        "correct": not wrong,
        "wrong_pages": wrong[:20],
        "pages_per_second": round(pages / elapsed, 1),
        "cpu_ms_per_page": _cost.per_unit_ms(
            {"web": used["children"], "postgres": used["postgres"], "client": used["bench"]},
            pages,
        ),
        "overall_p50_ms": round(statistics.median(all_times) * 1000, 1),
        "overall_p95_ms": round(all_times[int(len(all_times) * 0.95) - 1] * 1000, 1),
        "scenarios": scenarios_report,
    }

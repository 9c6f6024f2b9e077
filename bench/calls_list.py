"""The calls list over 5,000,000 CDRs: p50/p95 of the page, filtered and searched.

``python -m bench calls_list [--rows 5000000] [--repeat 20]``

1. Creates the database ``bench_bill`` (dropped first and at the end) on the PostgreSQL of
   ``BENCH_POSTGRES_URL`` (default ``postgres://postgres@127.0.0.1:5432/postgres``), migrates it,
   and fills ``billing_callrecord`` server-side (``generate_series``) with ``--rows`` CDRs over
   90 days: 4 applications (50/30/15/5 %), 2,000 X numbers, a million callers, 200,000
   forwarded-to numbers, 70 % answered and the failures spread over the outcome categories. The
   indexes are dropped for the load and rebuilt from the migration's own definitions.
2. Starts gunicorn (one sync worker) and, signed in as a customer-service user, requests
   ``/calls/`` ``--repeat`` times per scenario with a fresh value each time (a random day, X,
   caller typed in another way, …), timing each full HTTP answer.

Prints and writes ``bench/results/calls_list.json``.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from bench.ingest import admin_sql, bench_applications, create_database, free_port, setup_django

logger = logging.getLogger("bench.calls_list")

REPO = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = "bench_bill"
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


def load(rows: int, app_ids: list[int]) -> dict[str, float]:
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
                           now() - r5 * interval '90 days' AS t
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
                conn.execute(definition)
                logger.info("rebuilt %s", name)
        timings["index_seconds"] = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        conn.execute("VACUUM ANALYZE billing_callrecord")
        timings["vacuum_seconds"] = round(time.perf_counter() - began, 1)
    return timings


def scenarios(app_ids: list[int], rng: random.Random):
    """(name, query-string maker) of each way staff open the list."""
    from django.utils import timezone

    today = timezone.localdate()

    def day() -> str:
        return (today - timedelta(days=rng.randrange(90))).isoformat()

    def caller() -> str:
        digits = f"{rng.randrange(CALLERS):08d}"
        forms = [
            f"+86138{digits}",
            f"138{digits}",
            f"138 {digits[:4]} {digits[4:]}",
            f"+86-138-{digits[:4]}-{digits[4:]}",
        ]
        return rng.choice(forms)

    def x() -> str:
        return f"170 {rng.randrange(X_NUMBERS):08d}"

    return [
        ("newest first", lambda: {}),
        ("page 5", lambda: {"page": 5}),
        ("one day", lambda: {"since": (d := day()), "until": d}),
        ("application", lambda: {"application": rng.choice(app_ids)}),
        (
            "smallest application, one day",
            lambda: {"application": app_ids[3], "since": (d := day()), "until": d},
        ),
        ("X number", lambda: {"x": x()}),
        ("outcome answered", lambda: {"outcome": "answered"}),
        ("rare outcome (network)", lambda: {"outcome": "network"}),
        (
            "application + rare outcome + week",
            lambda: {
                "application": rng.choice(app_ids),
                "outcome": "platform",
                "since": day(),
                "until": today.isoformat(),
            },
        ),
        ("search caller, typed any way", lambda: {"q": caller()}),
        ("search forwarded-to number", lambda: {"q": f"139{rng.randrange(DESTINATIONS):08d}"}),
        ("search X number", lambda: {"q": x()}),
        (
            "search session id",
            lambda: {"q": f"sess-{rng.randrange(1, 10**6)}@callenabler246.huaweicaas.com"},
        ),
    ]


def run(args: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench calls_list")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database afterwards (for EXPLAIN)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="reuse a database kept by --keep: skip the load"
    )
    options = parser.parse_args(args)

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

    timings = {} if options.reuse else load(options.rows, app_ids)

    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "shell.wsgi:application",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env(),
    )
    session = requests.Session()
    session.trust_env = False
    session.cookies.set("sessionid", session_cookie)
    url = f"http://127.0.0.1:{port}/calls/"
    results = {}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                session.get(url, timeout=30).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        rng = random.Random(7)
        all_times = []
        for name, params in scenarios(app_ids, rng):
            times, rows_seen = [], []
            for _ in range(options.repeat):
                query = params()
                began = time.perf_counter()
                response = session.get(url, params=query, timeout=60)
                times.append(time.perf_counter() - began)
                response.raise_for_status()
                rows_seen.append(response.text.count("<tr") - 1)
            times.sort()
            all_times += times
            results[name] = {
                "p50_ms": round(statistics.median(times) * 1000, 1),
                "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)] * 1000, 1),
                "max_ms": round(times[-1] * 1000, 1),
                "rows_on_page_median": statistics.median(rows_seen),
            }
            logger.info("%s: %s", name, results[name])
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not options.keep:
            admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    all_times.sort()
    return {
        "command": "python -m bench calls_list " + " ".join(args),
        "machine": f"{os.cpu_count()} cores",
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "rows": options.rows,
        "requests_per_scenario": options.repeat,
        **timings,
        "overall_p50_ms": round(statistics.median(all_times) * 1000, 1),
        "overall_p95_ms": round(all_times[int(len(all_times) * 0.95) - 1] * 1000, 1),
        "scenarios": results,
    }

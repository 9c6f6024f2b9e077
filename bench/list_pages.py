"""Every list page at 1,000,000 rows (issue #7): p50/p95 of each page and the plan of its query.

``python -m bench list_pages [--rows 1000000] [--x-numbers 100000] [--repeat 10] [--keep]
[--reuse --database NAME]``

1. Creates a database of the run's own, ``bench_lists_<pid>_<random>`` (or ``--database``'s;
   dropped at the end unless ``--keep``; ``--reuse --database NAME`` measures a kept one), on the
   PostgreSQL of ``BENCH_POSTGRES_URL`` (default ``postgres://postgres@127.0.0.1:5432/postgres``),
   migrates it and fills it server-side (``INSERT … SELECT … generate_series``, indexes dropped
   for the load and rebuilt from their own definitions, foreign-key triggers off): ``--rows``
   bindings, platform calls, audit entries, push deliveries, CDRs, call events, SMS records and
   recordings (one per CDR), and ``--x-numbers`` X numbers, over 4 applications (50/30/15/5 %).
2. Signed in as an administrator through Django's test ``Client`` (in this process, no HTTP
   server), requests each list page ``--repeat`` times per scenario (first page, one filter, one
   search, page 50) with a fresh value each time, timing each full answer.
3. For each scenario the slowest SQL query of its first request is run again under
   ``EXPLAIN (ANALYZE)``: its time, whether it read a large table sequentially, and the plan.

Prints and writes ``bench/results/list_pages.json``.
"""

# ruff: noqa: S608 - the SQL is built from numbers of our own
from __future__ import annotations

import argparse
import logging
import os
import random
import re
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

from bench import _cost
from bench import ingest as _ingest
from bench.ingest import (
    ADMIN_URL,
    admin_sql,
    bench_applications,
    bench_env,
    create_database,
    setup_django,
)

logger = logging.getLogger("bench.list_pages")

REPO = Path(__file__).resolve().parent.parent
DB_NAME = ""  # the run's own (run()), or --database
CHUNK = 250_000
CALLERS = 1_000_000
USERS = 200
# Applications' shares of every table: the first is half of everything, the last 5 %.
SHARES = (0.5, 0.8, 0.95)


def database_url() -> str:
    return urlparse(ADMIN_URL)._replace(path=f"/{DB_NAME}").geturl()


def env() -> dict[str, str]:
    return {
        **bench_env(),
        "DATABASE_URL": database_url(),
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    }


def pick_app(r: str, apps: list[int]) -> str:
    a1, a2, a3, a4 = apps
    s1, s2, s3 = SHARES
    return (
        f"CASE WHEN {r} < {s1} THEN {a1} WHEN {r} < {s2} THEN {a2} "
        f"WHEN {r} < {s3} THEN {a3} ELSE {a4} END"
    )


def tables_sql(rows: int, x_numbers: int, apps: list[int], binding_type: int) -> dict[str, str]:
    """One ``INSERT … SELECT`` per table, over ``g`` in ``{start}..{end}`` (filled per chunk)."""
    app = pick_app("r1", apps)
    return {
        "bindings_xnumber": f"""
            INSERT INTO bindings_xnumber (number, application_id, city_code, province,
                platform_status, platform_cause, state, binding_count, y_binding_count,
                rest_reason, created_at, updated_at)
            SELECT '+86170' || lpad(g::text, 8, '0'), {app}, '0' || (750 + g % 50)::text, '',
                CASE WHEN r2 < 0.97 THEN '5' ELSE '9' END, '',
                CASE WHEN r2 < 0.6 THEN 'in_use' WHEN r2 < 0.95 THEN 'available'
                     WHEN r2 < 0.98 THEN 'cooling' ELSE 'retired' END,
                floor(r3 * 20)::int, 0, '', now(), now()
            FROM (SELECT g, random() r1, random() r2, random() r3
                  FROM generate_series({{start}}, {{end}}) g) s""",
        "bindings_binding": f"""
            INSERT INTO bindings_binding (application_id, mode, status, order_ref,
                subscription_id, a_number, b_number, x_number, y_number, extension, x_id,
                area_code, area_match_mode, duration, expires_at, call_direction, max_duration,
                last_min_voice, record_flag, record_hint_tone, caller_hint_tone,
                callee_hint_tone, private_sms, user_data, temporary_callee, display_num_mode,
                callback_num, callback_tone, last_result_code, last_result_desc, bind_attempts,
                pending_changes, end_reason, note, created_at, updated_at, bound_at, ended_at)
            SELECT {app}, 'AXB',
                CASE WHEN r2 < 0.70 THEN 'ended' WHEN r2 < 0.90 THEN 'active'
                     WHEN r2 < 0.98 THEN 'expired' ELSE 'failed' END,
                CASE WHEN r3 < 0.6 THEN 'order-' || g ELSE '' END, 'sub-' || g,
                '+86138' || lpad(floor(r4 * {CALLERS})::int::text, 8, '0'),
                '+86139' || lpad(floor(r5 * {CALLERS})::int::text, 8, '0'),
                '+86170' || lpad((1 + g % {x_numbers})::text, 8, '0'), '', '',
                1 + g % {x_numbers}, '0755', '1', 86400, t + interval '1 day', 0, 0, '',
                false, '', '', '', true, '', '', '', '', '', '0', '', 1, '{{}}',
                CASE WHEN r2 < 0.70 THEN 'requested' ELSE '' END, '', t, t, t,
                CASE WHEN r2 < 0.70 THEN t + interval '1 hour' END
            FROM (SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5,
                         now() - ({rows} - g) * interval '30 seconds' t
                  FROM generate_series({{start}}, {{end}}) g) s""",
        "bindings_platformcall": f"""
            INSERT INTO bindings_platformcall (at, application_id, binding_id, interface, method,
                http_status, result_code, result_desc, latency_ms, error)
            SELECT now() - ({rows} - g) * interval '30 seconds', {app}, 1 + g % {rows},
                (ARRAY['axb_bind','axb_bind','axb_bind','axb_unbind','axb_unbind','axb_query',
                       'axb_modify','ax_bind','ax_unbind','recording_download_url'])
                    [1 + floor(r2 * 10)::int],
                'POST', 200,
                CASE WHEN r3 < 0.95 THEN '0' WHEN r3 < 0.98 THEN '1012010'
                     WHEN r3 < 0.99 THEN '1010002' ELSE 'TIMEOUT' END,
                '', 20 + floor(r4 * 300)::int, ''
            FROM (SELECT g, random() r1, random() r2, random() r3, random() r4
                  FROM generate_series({{start}}, {{end}}) g) s""",
        "console_auditlog": f"""
            INSERT INTO console_auditlog (at, username, ip_address, action, target_type_id,
                target_id, target_repr, details, chain_hash)
            SELECT now() - ({rows} - g) * interval '30 seconds',
                'user' || floor(r1 * {USERS})::int, '10.0.0.1',
                (ARRAY['create','create','create','end','end','reveal','modify','play',
                       'download','sync'])[1 + floor(r2 * 10)::int],
                {binding_type}, (1 + g % {rows})::text, 'AXB #' || (1 + g % {rows}), '{{}}', ''
            FROM (SELECT g, random() r1, random() r2
                  FROM generate_series({{start}}, {{end}}) g) s""",
        "console_delivery": f"""
            INSERT INTO console_delivery (received_at, application_id, endpoint, kind, state,
                error, error_field, scheme, body, size, digest, items, attempts, processed_at)
            SELECT t, {app}, e, CASE e WHEN 'status' THEN 'event' WHEN 'fee' THEN 'fee'
                                       WHEN 'sms' THEN 'sms' ELSE 'numStatus' END,
                CASE WHEN r3 < 0.97 THEN 'processed' WHEN r3 < 0.99 THEN 'failed'
                     ELSE 'ignored' END,
                CASE WHEN r3 >= 0.97 AND r3 < 0.99 THEN 'unreadable body' ELSE '' END, '',
                'AKSK', convert_to('{{"bench": ' || g || '}}', 'UTF8'), 16,
                md5(g::text) || md5((g + 1)::text), 1, 1, t
            FROM (SELECT g, random() r1, r3, now() - ({rows} - g) * interval '30 seconds' t,
                         (ARRAY['status','status','status','fee','fee','sms','xstatus'])
                            [1 + floor(r2 * 7)::int] e
                  FROM (SELECT g, random() r2, random() r3
                        FROM generate_series({{start}}, {{end}}) g) raw) s""",
        "billing_callrecord": f"""
            INSERT INTO billing_callrecord (application_id, received_at, cdr_key, direction,
                sp_id, icid, bind_num, session_id, subscription_id, caller_num, callee_num,
                fwd_display_num, fwd_dst_num, call_in_time, fwd_answer_time, call_end_time,
                ul_fail_reason, record_flag, record_object_name, record_bucket_name,
                record_domain, record_file_download_url, mpty_id, service_type, host_name,
                user_data, extend_number, started_at, talk_seconds, billable_minutes, outcome,
                redial_duplicate, no_binding, malformed_number)
            SELECT {app}, t, 'icid-' || g, (g % 2)::smallint, 'bench_sp', 'icid-' || g, x,
                'sess-' || g || '@callenabler246.huaweicaas.com', 'sub-' || (1 + g % {rows}),
                '+86138' || lpad(floor(r3 * {CALLERS})::int::text, 8, '0'), x, x,
                '+86139' || lpad(floor(r4 * {CALLERS})::int::text, 8, '0'), t,
                CASE WHEN answered THEN t + interval '6 seconds' END,
                t + interval '6 seconds' + make_interval(secs => talk),
                CASE WHEN answered THEN 0 ELSE 8102 END, 1, 'rec-' || g || '.wav', 'bucket',
                'record.example', '', '', '004', 'host', '', '', t,
                CASE WHEN answered THEN talk ELSE 0 END,
                CASE WHEN answered THEN ceil(talk / 60.0)::int ELSE 0 END,
                CASE WHEN answered THEN 'answered' WHEN r5 < 0.85 THEN 'callee'
                     WHEN r5 < 0.95 THEN 'caller' ELSE 'network' END,
                false, false, false
            FROM (SELECT g, r1, r3, r4, r5, r5 < 0.7 answered, (1 + floor(r6 * 600))::int talk,
                         '+86170' || lpad((1 + floor(r2 * {x_numbers}))::int::text, 8, '0') x,
                         now() - ({rows} - g) * interval '7 seconds' t
                  FROM (SELECT g, random() r1, random() r2, random() r3, random() r4,
                               random() r5, random() r6
                        FROM generate_series({{start}}, {{end}}) g) raw) s""",
        "billing_callevent": f"""
            INSERT INTO billing_callevent (application_id, session_id, event_type, timestamp,
                caller, called, subscription_id, state_code, state_desc, user_data, notify_mode,
                digit_info, received_at)
            SELECT {app}, 'sess-' || (g / 2) || '@callenabler246.huaweicaas.com',
                CASE WHEN g % 2 = 0 THEN 'callin' ELSE 'disconnect' END, t,
                '+86138' || lpad(floor(r3 * {CALLERS})::int::text, 8, '0'),
                '+86170' || lpad((1 + g % {x_numbers})::text, 8, '0'), 'sub-' || g,
                CASE WHEN g % 2 = 1 THEN 16 END, '', '', 'Notify', '', t
            FROM (SELECT g, random() r1, random() r3,
                         now() - ({rows} - g) * interval '14 seconds' t
                  FROM generate_series({{start}}, {{end}}) g
                  -- the newest 200 calls have not ended: the calls in progress
                  WHERE NOT (g % 2 = 1 AND g > {rows} - 400)) s""",
        "billing_smsrecord": f"""
            INSERT INTO billing_smsrecord (application_id, sms_identifier, notification_mode,
                calling, called, virtual_number, event, time_stamp, subscription_id, content,
                decision, forwarded_to, received_at)
            SELECT {app}, 'sms-' || g, CASE WHEN r2 < 0.8 THEN 'Notify' ELSE 'Block' END,
                '+86138' || lpad(floor(r3 * {CALLERS})::int::text, 8, '0'),
                '+86139' || lpad(floor(r4 * {CALLERS})::int::text, 8, '0'),
                '+86170' || lpad((1 + g % {x_numbers})::text, 8, '0'), 'smsNotify', t,
                'sub-' || g, 'hello',
                CASE WHEN r2 < 0.8 THEN '' WHEN r2 < 0.95 THEN 'forward' ELSE 'discard' END,
                '', t
            FROM (SELECT g, random() r1, random() r2, random() r3, random() r4,
                         now() - ({rows} - g) * interval '30 seconds' t
                  FROM generate_series({{start}}, {{end}}) g) s""",
        # One recording per CDR, in the CDRs' order (filled after them).
        "recordings_recording": """
            INSERT INTO recordings_recording (application_id, call_record_id, file_name,
                record_domain, bucket_name, download_url, call_started_at, call_seconds,
                pushed_at, deadline, state, attempts, last_error_code, last_error, claim_token,
                staged_name, file, size, sha256, audio_format, stored_at, created_at,
                updated_at)
            SELECT application_id, id, record_object_name, 'record.example', 'bucket', '',
                started_at, talk_seconds, started_at + interval '1 minute',
                started_at + interval '7 days 1 minute', st,
                CASE WHEN st = 'stored' THEN 1 ELSE 3 END,
                CASE WHEN st IN ('failed', 'expired') THEN 'DOWNLOAD_HTTP' ELSE '' END, '', '',
                '', CASE WHEN st = 'stored' THEN 'recordings/rec-' || id || '.wav' ELSE '' END,
                CASE WHEN st = 'stored' THEN 96044 END,
                CASE WHEN st = 'stored' THEN md5(id::text) || md5(id::text) ELSE '' END,
                'wav', CASE WHEN st = 'stored' THEN started_at + interval '2 minutes' END,
                started_at, started_at
            FROM (SELECT c.*, CASE WHEN c.started_at > now() - interval '6 days' AND r < 0.3
                                   THEN 'pending' WHEN r < 0.95 THEN 'stored'
                                   WHEN r < 0.97 THEN 'failed' WHEN r < 0.99 THEN 'expired'
                                   ELSE 'none_expected' END st
                  FROM (SELECT *, random() r FROM billing_callrecord
                        WHERE id BETWEEN {start} AND {end}) c) s""",
    }


def load(rows: int, x_numbers: int, apps: list[int], binding_type: int) -> dict[str, float]:
    import psycopg

    timings: dict[str, float] = {}
    statements = tables_sql(rows, x_numbers, apps, binding_type)
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET session_replication_role = replica")  # no foreign-key triggers
        conn.execute("SELECT setseed(0.42)")
        for table, sql in statements.items():
            began = time.perf_counter()
            count = x_numbers if table == "bindings_xnumber" else rows
            indexes = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                "AND indexname NOT LIKE '%%pkey'",
                [table],
            ).fetchall()
            constraints = conn.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u'",
                [table],
            ).fetchall()
            names = {name for name, _ in constraints}
            for name, _ in constraints:
                conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                if name not in names:
                    conn.execute(f'DROP INDEX "{name}"')
            low = 1
            if table == "recordings_recording":
                low, high = conn.execute(
                    "SELECT min(id), max(id) FROM billing_callrecord"
                ).fetchone()
                count = high
            for start in range(low, count + 1, CHUNK):
                end = min(start + CHUNK - 1, count)
                conn.execute(sql.replace("{start}", str(start)).replace("{end}", str(end)))
            loaded = time.perf_counter()
            for name, definition in constraints:
                conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            for name, definition in indexes:
                if name not in names:
                    conn.execute(definition)
            indexed = time.perf_counter()
            conn.execute(f'VACUUM ANALYZE "{table}"')
            timings[table] = {
                "rows": conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0],
                "load_s": round(loaded - began, 1),
                "index_s": round(indexed - loaded, 1),
                "vacuum_s": round(time.perf_counter() - indexed, 1),
            }
            logger.info("%s: %s", table, timings[table])
    return timings


def scenarios(rows: int, x_numbers: int, apps: list[int], rng: random.Random):
    """(page, scenario, path, query maker) of each list page and the ways it is opened."""

    def caller() -> str:
        # A caller that exists: the number of a random CDR's caller is not known here, so take
        # a number typed the way staff type it; most match a few rows, some none.
        digits = f"{rng.randrange(CALLERS):08d}"
        return rng.choice([f"138 {digits[:4]} {digits[4:]}", f"+86-138-{digits}", f"138{digits}"])

    def x() -> str:
        return f"170 {rng.randrange(1, x_numbers + 1):08d}"

    def digest() -> str:
        from hashlib import md5

        g = rng.randrange(1, rows + 1)
        return md5(str(g).encode()).hexdigest() + md5(str(g + 1).encode()).hexdigest()  # noqa: S324

    def past_7_days() -> dict[str, str]:
        from datetime import timedelta

        from django.utils import timezone

        midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        return {
            "at__gte": str(midnight - timedelta(days=7)),
            "at__lt": str(midnight + timedelta(days=1)),
        }

    binding = "/bindings/"
    number = "/bindings/numbers/"
    call = "/admin/console/platformcall/"
    auditlog = "/admin/console/auditlog/"
    delivery = "/admin/console/delivery/"
    recording = "/admin/recordings/recording/"
    sms = "/admin/billing/smsrecord/"
    return [
        ("bindings", "first page", binding, lambda: {}),
        ("bindings", "filter: status ended", binding, lambda: {"status": "ended"}),
        (
            "bindings",
            "filter: smallest application",
            binding,
            lambda: {"application": apps[3]},
        ),
        ("bindings", "search: A number typed any way", binding, lambda: {"q": caller()}),
        (
            "bindings",
            "search: order reference",
            binding,
            lambda: {"q": f"order-{rng.randrange(rows)}"},
        ),
        ("bindings", "page 50", binding, lambda: {"page": 50}),
        ("X numbers", "first page", number, lambda: {}),
        ("X numbers", "filter: state cooling", number, lambda: {"state": "cooling"}),
        ("X numbers", "search: number", number, lambda: {"q": x()}),
        ("X numbers", "search: city code", number, lambda: {"q": f"0{750 + rng.randrange(50)}"}),
        ("X numbers", "page 50", number, lambda: {"page": 50}),
        ("platform calls", "first page", call, lambda: {}),
        (
            "platform calls",
            "filter: interface axb_modify",
            call,
            lambda: {"interface": "axb_modify"},
        ),
        ("platform calls", "filter: refused", call, lambda: {"outcome": "refused"}),
        ("platform calls", "search: result code", call, lambda: {"q": "1010002"}),
        ("platform calls", "page 50", call, lambda: {"p": 50}),
        ("audit log", "first page", auditlog, lambda: {}),
        ("audit log", "filter: action reveal", auditlog, lambda: {"action__exact": "reveal"}),
        ("audit log", "filter: past 7 days", auditlog, past_7_days),
        ("audit log", "search: user name", auditlog, lambda: {"q": f"user{rng.randrange(USERS)}"}),
        ("audit log", "search: object id", auditlog, lambda: {"q": str(rng.randrange(1, rows))}),
        ("audit log", "page 50", auditlog, lambda: {"p": 50}),
        ("deliveries", "first page (failed)", delivery, lambda: {}),
        (
            "deliveries",
            "filter: all, kind CDRs",
            delivery,
            lambda: {"state": "all", "kind__exact": "fee"},
        ),
        ("deliveries", "search: digest", delivery, lambda: {"state": "all", "q": digest()}),
        ("deliveries", "page 50 (all)", delivery, lambda: {"state": "all", "p": 50}),
        ("calls list", "first page", "/calls/", lambda: {}),
        ("calls list", "filter: outcome network", "/calls/", lambda: {"outcome": "network"}),
        ("calls list", "search: caller", "/calls/", lambda: {"q": caller()}),
        ("calls list", "page 50", "/calls/", lambda: {"page": 50}),
        ("recordings", "first page", recording, lambda: {}),
        ("recordings", "filter: state failed", recording, lambda: {"state__exact": "failed"}),
        ("recordings", "search: caller", recording, lambda: {"q": caller()}),
        ("recordings", "page 50", recording, lambda: {"p": 50}),
        ("SMS records", "first page", sms, lambda: {}),
        ("SMS records", "filter: mode Block", sms, lambda: {"notification_mode": "Block"}),
        ("SMS records", "search: sender", sms, lambda: {"q": caller()}),
        ("SMS records", "page 50", sms, lambda: {"p": 50}),
        ("calls in progress", "first page", "/calls/live/", lambda: {}),
        ("recordings at risk", "first page", "/recordings/at-risk/", lambda: {}),
        ("statements", "first page", "/statements/", lambda: {}),
        ("reconciliations", "first page", "/bindings/reconciliations/", lambda: {}),
        ("console home", "search: caller", "/", lambda: {"q": caller()}),
    ]


LARGE = re.compile(
    r"Seq Scan on (bindings_binding|bindings_xnumber|bindings_platformcall|console_auditlog|"
    r"console_delivery|billing_callrecord|billing_callevent|billing_smsrecord|"
    r"recordings_recording)\b"
)


def explain(sql: str) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}")
        plan = [row[0] for row in cursor.fetchall()]
    text = "\n".join(plan)
    return {
        "seq_scans_of_large_tables": sorted(set(LARGE.findall(text))),
        "uses_index": "Index" in text,
        "plan": plan[:14],
    }


def measure(client, path: str, params) -> tuple[float, int, list[dict[str, Any]]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    query = params()
    url = f"{path}?{urlencode(query)}" if query else path
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return elapsed, len(queries.captured_queries), queries.captured_queries


def run(args: list[str]) -> dict[str, Any]:
    global DB_NAME
    parser = argparse.ArgumentParser(prog="python -m bench list_pages")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--x-numbers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--only", default="", help="only the pages whose name contains this")
    _cost.add_database_options(parser)
    options = parser.parse_args(args)
    # Two runs on one server never meet: a database and a Redis database of the run's own.
    DB_NAME = _cost.database_name(parser, options, "bench_lists")
    with _ingest.own_redis():  # sessions and the cache: the run's own
        return _run(options, args)


def _run(options: argparse.Namespace, args: list[str]) -> dict[str, Any]:
    create_database(DB_NAME, env(), reuse=options.reuse)
    setup_django(env())
    from django.contrib.auth.models import User
    from django.contrib.contenttypes.models import ContentType
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from bindings.models import Binding

    apps = bench_applications("benchLists")
    binding_type = ContentType.objects.get_for_model(Binding).pk
    user = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "", "bench-password-not-secret"
    )
    connection.close()

    timings = {} if options.reuse else load(options.rows, options.x_numbers, apps, binding_type)

    client = Client()
    client.force_login(user)
    rng = random.Random(7)
    results: dict[str, dict[str, Any]] = {}
    try:
        for page, name, path, params in scenarios(options.rows, options.x_numbers, apps, rng):
            if options.only and options.only not in page:
                continue
            cache.clear()  # the recordings banner's count would be cached across pages
            measure(client, path, params)  # warm: templates, translations, plans
            times, slowest = [], None
            for repeat in range(options.repeat):
                elapsed, count, queries = measure(client, path, params)
                times.append(elapsed)
                if repeat == 0:
                    selects = [
                        q
                        for q in queries
                        if q["sql"].lstrip("(").startswith("SELECT")
                        and not q["sql"].startswith("SELECT set_config")
                    ]
                    slowest = max(selects, key=lambda q: float(q["time"]))
                    query_count = count
            times.sort()
            plan = explain(slowest["sql"])
            entry = {
                "load_average_1min": round(os.getloadavg()[0], 2),
                "p50_ms": round(statistics.median(times) * 1000, 1),
                "p95_ms": round(times[max(0, round(len(times) * 0.95) - 1)] * 1000, 1),
                "max_ms": round(times[-1] * 1000, 1),
                "queries": query_count,
                "slowest_query_ms": round(float(slowest["time"]) * 1000, 1),
                "slowest_query": slowest["sql"][:400],
                **plan,
            }
            results.setdefault(page, {})[name] = entry
            logger.info(
                "%s / %s: p50 %s ms, p95 %s ms, slowest query %s ms, seq scans %s",
                page,
                name,
                entry["p50_ms"],
                entry["p95_ms"],
                entry["slowest_query_ms"],
                entry["seq_scans_of_large_tables"],
            )
    finally:
        connection.close()
        if not options.keep:
            admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    every = [s for page in results.values() for s in page.values()]
    return {
        "command": "python -m bench list_pages " + " ".join(args),
        "machine": f"{os.cpu_count()} cores",
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "database": DB_NAME + (" (kept)" if options.keep else ""),
        "rows": options.rows,
        "x_numbers": options.x_numbers,
        "requests_per_scenario": options.repeat,
        "fill": timings,
        "fill_seconds": round(
            sum(t["load_s"] + t["index_s"] + t["vacuum_s"] for t in timings.values()), 1
        ),
        "worst_p95_ms": max((s["p95_ms"] for s in every), default=None),
        "pages": results,
    }

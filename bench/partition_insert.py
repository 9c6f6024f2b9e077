"""What monthly partitioning costs a CDR push: the same 50-row insert into the partitioned
``billing_callrecord`` and into an ordinary table made like it (issue 20).

``python -m bench partition_insert [--pushes 1000] [--round 100]``

Creates and migrates a database of its own (``bench_partins_<pid>_<random>``, dropped at the end),
makes ``bench_plain_cdr`` (``LIKE billing_callrecord INCLUDING ALL``: the same columns, defaults,
twelve indexes and natural key, ordinary), and sends ``--pushes`` pushes of 50 CDRs to each, in
alternating rounds of ``--round`` (so both see the same machine). Each push is the intake's shape:
one prepared ``INSERT … SELECT … ON CONFLICT DO NOTHING`` of 50 rows (this month, minutes apart),
its own transaction. The cost is the PostgreSQL backend's CPU (``/proc``) per push, and the
client's; at the end both tables must hold the same number of rows, every push's rows once.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bench import _cost
from bench import ingest as _ingest

logger = logging.getLogger("bench.partition_insert")

PLAIN = "bench_plain_cdr"
PARTITIONED = "billing_callrecord"
COLUMNS = (
    "application_id, received_at, cdr_key, direction, sp_id, icid, bind_num, session_id, "
    "subscription_id, caller_num, callee_num, fwd_display_num, fwd_dst_num, record_object_name, "
    "record_bucket_name, record_domain, record_file_download_url, mpty_id, service_type, "
    "host_name, user_data, extend_number, started_at, talk_seconds, billable_minutes, outcome, "
    "redial_duplicate, no_binding, malformed_number"
)


def insert_sql(table: str) -> str:
    return (
        f"INSERT INTO {table} ({COLUMNS}) "  # noqa: S608 - names of our own
        "SELECT %s, now(), 'icid-' || %s || '-' || g, 1, 'sp', 'icid-' || %s || '-' || g, "
        "'+8617000000001', 'sess-' || %s || '-' || g, '', '+8613800000000', '+8617000000001', "
        "'+8617000000001', '+8613900000000', '', '', '', '', '', '004', 'host', '', '', "
        "date_trunc('month', now()) + make_interval(mins => (%s * 50 + g) %% 40000), 60, 1, "
        "'answered', false, false, false FROM generate_series(1, 50) g ON CONFLICT DO NOTHING"
    )


def run(args: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench partition_insert")
    parser.add_argument("--pushes", type=int, default=1000, help="pushes of 50 per table")
    parser.add_argument("--round", type=int, default=100, help="pushes per table per round")
    options = parser.parse_args(args)
    _ingest.DB_NAME = _cost.run_name("bench_partins")
    try:
        with _ingest.own_redis():  # Django's cache: the run's own
            return _measure(options)
    finally:
        _ingest.admin_sql(f'DROP DATABASE IF EXISTS "{_ingest.DB_NAME}" WITH (FORCE)')


def _measure(options: argparse.Namespace) -> dict[str, Any]:
    import os
    import time

    import psycopg

    _ingest.create_database()
    _ingest.setup_django()
    from django.db import connection

    application_id = _ingest.bench_applications("benchPartIns")[0]
    connection.close()
    url = _ingest.database_url().replace("postgres://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {PLAIN} (LIKE {PARTITIONED} INCLUDING ALL)")
        (kind,) = conn.execute(
            "SELECT relkind FROM pg_class WHERE relname = %s", [PARTITIONED]
        ).fetchone()
    if kind != "p":
        raise SystemExit(f"{PARTITIONED} is not partitioned here (relkind {kind!r})")

    conn = psycopg.connect(url)
    backend = _cost.backend_pid(conn)
    server = {PARTITIONED: 0.0, PLAIN: 0.0}
    client = {PARTITIONED: 0.0, PLAIN: 0.0}
    wall = {PARTITIONED: 0.0, PLAIN: 0.0}
    statements = {table: insert_sql(table) for table in server}
    sent = {PARTITIONED: 0, PLAIN: 0}
    rounds = max(1, options.pushes // options.round)
    for number in range(rounds):
        for table in (PARTITIONED, PLAIN) if number % 2 == 0 else (PLAIN, PARTITIONED):
            cpu_server, cpu_client = _cost.process_seconds(backend), time.process_time()
            began = time.perf_counter()
            for _ in range(options.round):
                push = sent[table]
                key = f"{push}"
                conn.execute(statements[table], [application_id, key, key, key, push], prepare=True)
                conn.commit()
                sent[table] += 1
            wall[table] += time.perf_counter() - began
            server[table] += _cost.process_seconds(backend) - cpu_server
            client[table] += time.process_time() - cpu_client
    counts = {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        for table in server
    }
    conn.close()
    pushes = sent[PARTITIONED]
    correct = counts[PARTITIONED] == counts[PLAIN] == pushes * 50
    per_push = {table: round(server[table] * 1000 / pushes, 3) for table in server}
    return {
        "command": "python -m bench partition_insert "
        + f"--pushes {options.pushes} --round {options.round}",
        "machine": f"{os.cpu_count()} cores",
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "database": _ingest.DB_NAME,
        "pushes_per_table": pushes,
        "rows_per_table": counts,
        "correct": correct,
        "postgres_cpu_ms_per_push": {
            "partitioned": per_push[PARTITIONED],
            "plain": per_push[PLAIN],
        },
        "partitioned_over_plain": round(server[PARTITIONED] / server[PLAIN], 3),
        "client_cpu_ms_per_push": {
            "partitioned": round(client[PARTITIONED] * 1000 / pushes, 3),
            "plain": round(client[PLAIN] * 1000 / pushes, 3),
        },
        "wall_ms_per_push": {
            "partitioned": round(wall[PARTITIONED] * 1000 / pushes, 3),
            "plain": round(wall[PLAIN] * 1000 / pushes, 3),
        },
    }

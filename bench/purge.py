"""Retention purging CDRs while staff read the calls list (issue 17).

``python -m bench purge [--rows 2000000] [--days 45] [--users 4] [--seconds 20]``

1. A database of the run's own, filled like ``calls_list`` (``--rows`` CDRs over 90 days; with
   ``--days 45`` about half are past the policy), and a ``RetentionPolicy`` per application.
2. gunicorn serves ``/calls/``; ``--users`` threads open it the ways ``calls_list`` does, with
   every page checked against the table.
3. *Alone*: the users read for ``--seconds``: p50/p95 of the page without a purge.
4. *During*: ``console.retention.run()`` (what beat runs) pseudonymises every expired CDR in its
   batches while the users keep reading: the purge's rows/s, its CPU per 1,000 rows (this
   process and the database's backends), the longest erase of one batch (its row locks are held
   from there to the batch's commit), and the list's p50/p95 meanwhile.
5. Checks: every CDR past the cutoff holds pseudonyms, none before it does, the number of rows
   and the sum of billable minutes are unchanged.

Prints and writes ``bench/results/purge.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from bench import _cost
from bench import calls_list as _list
from bench import ingest as _ingest
from bench.ingest import admin_sql, bench_applications, create_database, free_port, setup_django

logger = logging.getLogger("bench.purge")
REPO = Path(__file__).resolve().parent.parent


def _percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    if not times:
        return {"pages": 0}
    return {
        "pages": len(times),
        "p50_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
    }


def run(args: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench purge")
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=45, help="the policy's days of call data")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20, help="reading alone, before")
    parser.add_argument("--batch", type=int, default=1000, help="RETENTION_BATCH")
    options = parser.parse_args(args)
    _list.DB_NAME = _cost.run_name("bench_purge")
    with _ingest.own_redis():  # sessions and the cache: the run's own
        return _run(options, args)


def _run(options: argparse.Namespace, args: list[str]) -> dict[str, Any]:
    create_database(_list.DB_NAME, _list.env())
    setup_django(_list.env())
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.db.models import Q, Sum
    from django.test import Client
    from django.utils import timezone

    from billing.models import CallRecord
    from console import retention
    from console.models import Application, RetentionPolicy
    from console.roles import CUSTOMER_SERVICE

    app_ids = bench_applications("benchPurge")
    user, _ = User.objects.get_or_create(username="bench-kefu", is_staff=True)
    user.groups.add(Group.objects.get(name=CUSTOMER_SERVICE))
    client = Client()
    client.force_login(user)
    session_cookie = client.cookies["sessionid"].value
    connection.close()
    timings = _list.load(options.rows, app_ids)
    for application in Application.objects.filter(pk__in=app_ids):
        RetentionPolicy.objects.update_or_create(
            application=application, defaults={"call_data_days": options.days}
        )
    now = timezone.now()
    cutoff = now - timedelta(days=options.days)
    due = CallRecord.objects.filter(started_at__lt=cutoff).count()
    rows_before = CallRecord.objects.count()
    minutes_before = CallRecord.objects.aggregate(total=Sum("billable_minutes"))["total"]
    connection.close()

    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "shell.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=_list.env(),
    )
    url = f"http://127.0.0.1:{port}/calls/"
    rng = random.Random(17)
    makers = list(_list.scenarios(app_ids, rng))
    lock = threading.Lock()
    phase = {"name": "alone"}
    times: dict[str, list[float]] = {"alone": [], "during": []}
    wrong: list[str] = []
    stop = threading.Event()

    def new_session() -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.cookies.set("sessionid", session_cookie)
        return session

    def user_loop(seed: int) -> None:
        import psycopg

        own, local = new_session(), random.Random(seed)
        with psycopg.connect(_list.database_url()) as check:
            while not stop.is_set():
                name, maker = local.choice(makers)
                query, where, params = maker()
                began = time.perf_counter()
                response = own.get(url, params=query, timeout=120)
                took = time.perf_counter() - began
                problem = f"HTTP {response.status_code}" if response.status_code != 200 else None
                # Pseudonymised numbers are not found by a number search any more, as meant:
                # the check reads the same table, so both sides agree at every moment.
                problem = problem or _list.check_page(check, response.text, query, where, params)
                with lock:
                    times[phase["name"]].append(took)
                    if problem and len(wrong) < 20:
                        wrong.append(f"{name} {query}: {problem}")

    longest = {"seconds": 0.0}

    def timed(erase):
        # run() holds each batch's row locks from its erase to its commit, right after
        def erase_timed(ids):
            began = time.perf_counter()
            done = erase(ids)
            longest["seconds"] = max(longest["seconds"], time.perf_counter() - began)
            return done

        return erase_timed

    settings.RETENTION_BATCH = options.batch
    settings.RETENTION_MAX_BATCHES = 10**9
    retention._PARTS[:] = [dataclasses.replace(p, erase=timed(p.erase)) for p in retention._PARTS]
    try:
        session = new_session()
        deadline = time.monotonic() + 60
        while True:
            try:
                session.get(url, timeout=60).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        users = [
            threading.Thread(target=user_loop, args=(i,), daemon=True) for i in range(options.users)
        ]
        for thread in users:
            thread.start()
        time.sleep(options.seconds)
        with lock:
            phase["name"] = "during"
        meter = _cost.Meter(database=_list.DB_NAME)
        with meter:
            before = meter.read()
            began = time.perf_counter()
            done = retention.run(now=now)
            elapsed = time.perf_counter() - began
            used = _cost.difference(meter.read(), before)
        stop.set()
        for thread in users:
            thread.join(timeout=180)
        purged = done.get("call_records", 0)
        still_real = CallRecord.objects.filter(
            retention.not_pseudonymised(*CallRecord.REAL_NUMBER_FIELDS), started_at__lt=cutoff
        ).count()
        touched_young = CallRecord.objects.filter(
            Q(caller_num__startswith=retention.PSEUDONYM_PREFIX), started_at__gte=cutoff
        ).count()
        rows_after = CallRecord.objects.count()
        minutes_after = CallRecord.objects.aggregate(total=Sum("billable_minutes"))["total"]
        connection.close()
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)
        admin_sql(f'DROP DATABASE IF EXISTS "{_list.DB_NAME}" WITH (FORCE)')
    correct = (
        purged == due
        and still_real == 0
        and touched_young == 0
        and rows_after == rows_before
        and minutes_after == minutes_before
        and not wrong
    )
    return {
        "command": "python -m bench purge " + " ".join(args),
        "machine": f"{os.cpu_count()} cores",
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "rows": options.rows,
        "policy_days": options.days,
        "expired_cdrs": due,
        **timings,
        "correct": correct,
        "checks": {
            "pseudonymised": purged,
            "expired_left_with_real_numbers": still_real,
            "younger_touched": touched_young,
            "rows_unchanged": rows_after == rows_before,
            "minutes_unchanged": minutes_after == minutes_before,
            "wrong_pages": wrong,
        },
        "purge_seconds": round(elapsed, 1),
        "purge_rows_per_second": round(purged / elapsed) if elapsed else None,
        "purge_cpu_ms_per_1000_rows": _cost.per_unit_ms(
            {"purge (this process)": used["bench"], "postgres": used["postgres"]},
            max(1, purged // 1000),
        ),
        "longest_batch_erase_ms": round(longest["seconds"] * 1000, 1),
        "batch_rows": options.batch,
        "calls_list_alone": _percentiles(times["alone"]),
        "calls_list_during_purge": _percentiles(times["during"]),
    }

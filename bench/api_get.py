"""GET one binding through the API at 1,000,000 bindings (issue 15: p99 ≤ 20 ms).

A database of the run's own holds 10,000 X numbers and ``--bindings`` bindings (COPY, as
``bench choose_x`` loads them). Requests go through the whole Django stack in this process (the
test client: every middleware, API-key authentication, the rate limit, the scope, the team scope,
the serializer with its masking), for random ids of the whole table: first one client after the
other, then ``--threads`` at once. Each answer is checked: 200 and the id asked for, numbers
masked. The anchor, interleaved request by request in the sequential phase: the same row read by
primary key with one raw SQL statement (what PostgreSQL alone costs). Reported: p50/p95/p99 of
each, and CPU ms per request (this process, PostgreSQL).

    python -m bench api_get [--bindings 1000000] [--requests 3000] [--threads 8]
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time

from bench import _cost
from bindings import benchmarking


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench api_get")
    parser.add_argument("--database", default=None)
    parser.add_argument("--bindings", type=int, default=1_000_000)
    parser.add_argument("--numbers", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--keep", action="store_true")
    options = parser.parse_args(args)
    options.database = options.database or benchmarking.database_url(_cost.run_name("bench_get"))
    return options


def run(args: list[str]) -> dict:
    options = parse(args)
    with _cost.OwnRedis(None) as redis_url:
        benchmarking.configure(options.database, redis_url=redis_url, queue=options.database[-20:])
        benchmarking.recreate_database(options.database)
        try:
            benchmarking.setup_django()
            from django.test.utils import setup_test_environment

            setup_test_environment()
            return measure(options)
        finally:
            from django.db import connections

            connections.close_all()
            if not options.keep:
                benchmarking.drop_database(options.database)


def measure(options: argparse.Namespace) -> dict:
    from django.db import connection
    from rest_framework.test import APIClient

    from bench.choose_x import load
    from bindings.models import Binding
    from console import apikeys
    from console.choices import ApiScope

    loaded = load(options)
    application = loaded["application"]
    _key, token = apikeys.create_key(
        "bench",
        applications=[application],
        scopes=[ApiScope.BINDINGS_READ],
        rate_per_minute=10**9,
    )
    first = Binding.objects.order_by("pk").values_list("pk", flat=True).first()
    total = Binding.objects.count()
    rng = random.Random(15)
    meter = _cost.Meter(database=benchmarking._maintenance(options.database)[1])

    def client() -> APIClient:
        made = APIClient()
        made.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return made

    def get(api: APIClient, pk: int) -> float:
        started = time.perf_counter()
        response = api.get(f"/api/v1/bindings/{pk}/")
        elapsed = (time.perf_counter() - started) * 1000
        body = response.json()
        assert response.status_code == 200, (response.status_code, body)
        assert body["id"] == pk, body
        assert "*" in body["a_number"], "a key without numbers:real got a real number"
        return elapsed

    def raw(pk: int) -> float:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM bindings_binding WHERE id = %s", [pk])
            assert cursor.fetchone()[0] == pk
        return (time.perf_counter() - started) * 1000

    api = client()
    for _ in range(200):  # warm up: imports, caches, the connection
        get(api, first + rng.randrange(total))
        raw(first + rng.randrange(total))
    ids = [first + rng.randrange(total) for _ in range(options.requests)]
    api_ms, raw_ms = [], []
    with meter:
        for pk in ids:  # latency: each request beside its anchor
            api_ms.append(get(api, pk))
            raw_ms.append(raw(pk))
        # CPU per request: a second sequential pass without the anchor, then the anchor alone
        before = meter.read()
        for pk in ids:
            get(api, pk)
        cpu_api = _cost.difference(meter.read(), before)
        before = meter.read()
        for pk in ids:
            raw(pk)
        cpu_raw = _cost.difference(meter.read(), before)
        # then --threads clients at once
        concurrent_ms: list[float] = []
        lock = threading.Lock()
        work = list(ids)

        def worker() -> None:
            from django.db import connection as thread_connection

            mine = client()
            try:
                while True:
                    with lock:
                        if not work:
                            return
                        pk = work.pop()
                    elapsed = get(mine, pk)
                    with lock:
                        concurrent_ms.append(elapsed)
            finally:
                thread_connection.close()

        started = _cost.wall()
        threads = [threading.Thread(target=worker) for _ in range(options.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        concurrent_seconds = _cost.wall() - started
    return {
        "bindings": total,
        "requests": len(ids),
        "load_seconds": loaded["load_seconds"],
        "sequential_ms": benchmarking.percentiles(api_ms),
        "anchor_raw_sql_ms": benchmarking.percentiles(raw_ms),
        "cpu_ms_per_request": _cost.per_unit_ms(
            {"console": cpu_api["bench"], "postgres": cpu_api["postgres"]}, len(ids)
        ),
        "anchor_cpu_ms_per_read": _cost.per_unit_ms(
            {"reader": cpu_raw["bench"], "postgres": cpu_raw["postgres"]}, len(ids)
        ),
        f"concurrent_{options.threads}_ms": benchmarking.percentiles(concurrent_ms),
        "concurrent_requests_per_second": round(len(ids) / concurrent_seconds, 1),
        "load_average": os.getloadavg(),
    }

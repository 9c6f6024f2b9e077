"""API creates against the console form's path: the same bindings, 32 concurrent clients each.

Both paths run the whole request in this process through Django's test client (every
middleware, the view, the form of the mode, ``services.create_binding`` with X chosen under row
locks, the audit row, the bind queued on commit): the **form** path is a signed-in
administrator's POST to ``/bindings/add/``; the **api** path is ``POST /api/v1/bindings/`` with an
API key, an ``Idempotency-Key`` and an order reference (the two idempotency rows are the API's
extra writes) and one subscribed webhook endpoint (the outbox rows). No worker runs: the binds
wait in the queue, which is purged at the end, so both paths are measured on the request alone.

Reported per path: bindings/s and CPU ms per binding, of this process and of the PostgreSQL
backends (read from /proc before and after). The goal (issue 15): the same cost as the form.

    python -m bench api_create [--bindings 1500] [--threads 32] [--numbers 4000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import threading
import time

from bench import _cost
from bindings import benchmarking


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench api_create")
    parser.add_argument("--database", help="default: a database of the run's own, dropped after")
    parser.add_argument("--redis", help="default: a Redis database claimed for the run")
    parser.add_argument("--queue", help="default: a queue name of the run's own")
    parser.add_argument("--bindings", type=int, default=1500, help="per path")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--numbers", type=int, default=4000)
    parser.add_argument("--keep", action="store_true")
    options = parser.parse_args(args)
    # Two runs on one server never meet: each has its own database, Redis database and queue
    # (the queue is purged at the end, which would drop another run's binds).
    name = _cost.run_name("bench_api")
    options.database = options.database or benchmarking.database_url(name)
    options.queue = options.queue or name
    return options


def postgres_pids() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return [row[0] for row in cursor.fetchall()]


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # not on this machine, or ended meanwhile
            total += benchmarking.cpu_seconds(pid)
    return total


def run(args: list[str]) -> dict:
    options = parse(args)
    with _cost.OwnRedis(options.redis) as redis_url:
        options.redis = redis_url
        return _run(options)


def _run(options: argparse.Namespace) -> dict:
    benchmarking.configure(options.database, redis_url=options.redis, queue=options.queue)
    benchmarking.recreate_database(options.database)
    try:
        benchmarking.setup_django()
        from django.test.utils import setup_test_environment

        setup_test_environment()  # the test client's host is allowed
        return measure(options)
    finally:
        from django.db import connections

        with contextlib.suppress(Exception):
            from shell.celery import app

            app.control.purge()
        connections.close_all()
        if not options.keep:
            benchmarking.drop_database(options.database)


def measure(options: argparse.Namespace) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from rest_framework.test import APIClient

    from bindings.models import Binding
    from console import apikeys, webhooks
    from console.choices import ApiScope
    from console.models import WebhookSubscription

    application = benchmarking.bench_application()
    benchmarking.copy_numbers(application, options.numbers)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE bindings_xnumber")
    subscription = WebhookSubscription(application=application, url="http://127.0.0.1:9/hook")
    subscription.set_secret(webhooks.new_secret())
    subscription.save()
    _key, token = apikeys.create_key(
        "bench",
        applications=[application],
        scopes=[ApiScope.BINDINGS_WRITE],
        rate_per_minute=10**9,
    )
    admin = get_user_model().objects.create_superuser(
        "bench-admin",
        password="x-Bench-pass-1",  # noqa: S106 - a throw-away database
    )
    counter = iter(range(10**9))
    lock = threading.Lock()

    def form_client():
        client = Client()
        client.force_login(admin)
        url = f"/bindings/add/?application={application.pk}"

        def send(n: int) -> bool:
            response = client.post(
                url,
                {
                    "a_number": f"+86150{n:08d}",
                    "b_number": f"+86151{n:08d}",
                    "area_code": "0755",
                    "private_sms": "on",
                },
            )
            return response.status_code == 302

        return send

    def api_client():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

        def send(n: int) -> bool:
            response = client.post(
                "/api/v1/bindings/",
                {
                    "application": application.pk,
                    "a_number": f"+86150{n:08d}",
                    "b_number": f"+86151{n:08d}",
                    "area_code": "0755",
                    "order_ref": f"o-{n}",
                },
                format="json",
                HTTP_IDEMPOTENCY_KEY=f"k-{n}",
            )
            return response.status_code in (201, 202)

        return send

    def one_path(make_sender, count: int) -> dict:
        work: queue.Queue[int] = queue.Queue()
        for _ in range(count):
            with lock:
                work.put(next(counter))
        failures = []
        start = threading.Barrier(options.threads + 1)
        done = threading.Barrier(options.threads + 1)

        def worker() -> None:
            from django.db import connection as thread_connection

            send = make_sender()
            thread_connection.ensure_connection()
            start.wait()
            try:
                while True:
                    try:
                        n = work.get_nowait()
                    except queue.Empty:
                        return
                    if not send(n):
                        failures.append(n)
            finally:
                done.wait()
                thread_connection.close()

        threads = [threading.Thread(target=worker) for _ in range(options.threads)]
        for thread in threads:
            thread.start()
        start.wait()
        pids = postgres_pids()
        cpu_pg, cpu_self, wall = cpu_of(pids), time.process_time(), time.monotonic()
        done.wait()
        wall = time.monotonic() - wall
        cpu_self = time.process_time() - cpu_self
        cpu_pg = cpu_of(pids) - cpu_pg
        for thread in threads:
            thread.join()
        made = count - len(failures)
        return {
            "bindings": made,
            "failures": len(failures),
            "seconds": round(wall, 2),
            "bindings_per_second": round(made / wall, 1),
            "cpu_ms_per_binding_console": round(1000 * cpu_self / max(made, 1), 2),
            "cpu_ms_per_binding_postgresql": round(1000 * cpu_pg / max(made, 1), 2),
        }

    one_path(form_client, 200)  # warm up: imports, connections, caches
    one_path(api_client, 200)
    results = {}
    for name, make in (("form", form_client), ("api", api_client), ("form_again", form_client)):
        results[name] = one_path(make, options.bindings)
    total = Binding.objects.count()
    form_cost = (
        results["form"]["cpu_ms_per_binding_console"]
        + results["form_again"]["cpu_ms_per_binding_console"]
    ) / 2
    return {
        "threads": options.threads,
        "bindings_per_path": options.bindings,
        "bindings_in_database": total,
        "paths": results,
        "api_cost_vs_form": round(results["api"]["cpu_ms_per_binding_console"] / form_cost, 2),
        "cpu_count": os.cpu_count(),
    }

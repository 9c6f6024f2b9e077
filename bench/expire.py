"""The expiry job: 100,000 due bindings ended in set-based statements on PostgreSQL.

A separate database (``bench_expire``) gets 10,000 X numbers, 100,000 active AXB bindings whose
lifetime is over, 100,000 that are not due and 200,000 that ended long ago, with the live counts
of the numbers set from them. ``services.expire_due()`` (what beat runs every minute) is timed; the
counts are checked afterwards.

    python -m bench expire [--due 100000] [--batch 20000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import timedelta

from bench import _cost
from bindings import benchmarking


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench expire")
    parser.add_argument("--database", help="default: a database of the run's own, dropped after")
    parser.add_argument("--redis", help="default: a Redis database claimed for the run")
    parser.add_argument("--numbers", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--later", type=int, default=100_000)
    parser.add_argument("--ended", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true")
    options = parser.parse_args(args)
    options.database = options.database or benchmarking.database_url(_cost.run_name("bench_expire"))
    return options


def load(options: argparse.Namespace):
    from django.db import connection
    from django.utils import timezone

    from bindings.models import Binding, XNumber

    application = benchmarking.bench_application()
    benchmarking.copy_numbers(application, options.numbers, state="in_use")
    ids = list(XNumber.objects.values_list("pk", "number"))
    rng = random.Random(3)
    now = timezone.now()
    plan = (
        [("active", -rng.randrange(1, 3600)) for _ in range(options.due)]
        + [("active", rng.randrange(600, 86400)) for _ in range(options.later)]
        + [("ended", -86400) for _ in range(options.ended)]
    )

    def rows():
        for i, (status, offset) in enumerate(plan):
            x_id, x_number = ids[i % len(ids)]
            yield {
                "application_id": application.pk,
                "mode": "AXB",
                "status": status,
                "a_number": f"+86138{i:08d}",
                "b_number": f"+86139{i:08d}",
                "x_id": x_id,
                "x_number": x_number,
                "subscription_id": f"s{i:012d}",
                "duration": 3600,
                "created_at": now,
                "updated_at": now,
                "bound_at": now - timedelta(hours=1),
                "expires_at": now + timedelta(seconds=offset),
                "ended_at": now if status == "ended" else None,
            }

    benchmarking.copy_rows(Binding, rows())
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE bindings_xnumber n SET binding_count = c.n
            FROM (SELECT x_id, COUNT(*) AS n FROM bindings_binding
                  WHERE status = 'active' GROUP BY x_id) c
            WHERE n.id = c.x_id
            """
        )
        cursor.execute("VACUUM ANALYZE bindings_xnumber")
        cursor.execute("VACUUM ANALYZE bindings_binding")
    return application


def run(args: list[str]) -> dict:
    options = parse(args)
    with _cost.OwnRedis(options.redis) as redis_url:
        return _run(options, redis_url)


def _run(options: argparse.Namespace, redis_url: str) -> dict:
    benchmarking.configure(
        options.database,
        redis_url=redis_url,
        queue=_cost.run_name("bench_expire"),
        extra={"BINDINGS_EXPIRE_BATCH": str(options.batch)},
    )
    benchmarking.recreate_database(options.database)
    try:
        benchmarking.setup_django()
        started = time.perf_counter()
        load(options)
        load_seconds = time.perf_counter() - started
        from django.db.models import Sum

        from bindings import services
        from bindings.models import Binding, XNumber

        started = time.perf_counter()
        result = services.expire_due()
        seconds = time.perf_counter() - started
        expired = Binding.objects.filter(status="expired").count()
        live_count = XNumber.objects.aggregate(total=Sum("binding_count"))["total"]
        cooling = XNumber.objects.filter(state="cooling").count()
        return {
            "due": options.due,
            "not_due": options.later,
            "ended_long_ago": options.ended,
            "batch": options.batch,
            "load_seconds": round(load_seconds, 1),
            "load_average": os.getloadavg(),
            "expire_seconds": round(seconds, 2),
            "bindings_per_second": round(result["expired"] / seconds),
            "result": result,
            "checks": {
                "expired_rows": expired,
                "sum_of_live_counts": live_count,
                "counts_match_live_bindings": live_count == options.later,
                "numbers_cooling": cooling,
            },
        }
    finally:
        from django.db import connections

        connections.close_all()
        if not options.keep:
            benchmarking.drop_database(options.database)

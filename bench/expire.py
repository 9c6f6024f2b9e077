"""The expiry job: 100,000 due bindings ended in set-based statements on PostgreSQL.

A database of the run's own gets 10,000 X numbers, 100,000 active AXB bindings whose
lifetime is over, 100,000 that are not due and 200,000 that ended long ago, with the live counts
of the numbers set from them. The anchor first: the same work as one set-based statement
(``ANCHOR``), timed and rolled back. Then ``services.expire_due()`` (what beat runs every minute)
is timed, each of its batch transactions too (the longest is how long it holds its rows' locks);
the counts are checked afterwards. CPU of this process and of the database's backends.

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

# The anchor: the expiry's work as one set-based statement (the due bindings expired, the live
# counts of their numbers lowered by as many).
ANCHOR = """
WITH ended AS (
    UPDATE bindings_binding
    SET status = 'expired', end_reason = 'expired', ended_at = %s, updated_at = %s
    WHERE status = 'active' AND expires_at <= %s
    RETURNING x_id
), counts AS (SELECT x_id, COUNT(*) AS n FROM ended GROUP BY x_id)
UPDATE bindings_xnumber x SET binding_count = x.binding_count - counts.n
FROM counts WHERE x.id = counts.x_id
"""


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench expire")
    parser.add_argument("--database", help="default: a database of the run's own, dropped after")
    parser.add_argument("--redis", help="default: a Redis database claimed for the run")
    parser.add_argument("--numbers", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--later", type=int, default=100_000)
    parser.add_argument("--ended", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=40_000)
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
        from django.db import connection, transaction
        from django.db.models import Sum
        from django.utils import timezone

        from bindings import release, services
        from bindings.models import Binding, XNumber

        meter = _cost.Meter(database=benchmarking._maintenance(options.database)[1])
        with meter:
            # The anchor: the same work as one set-based statement, rolled back afterwards.
            before = meter.read()
            started = time.perf_counter()
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(ANCHOR, [timezone.now()] * 3)
                    anchor_rows = cursor.rowcount
                anchor_seconds = time.perf_counter() - started
                anchor_cpu = _cost.difference(meter.read(), before)
                transaction.set_rollback(True)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE bindings_binding")
                cursor.execute("VACUUM ANALYZE bindings_xnumber")
            # The console's expiry, each batch's transaction timed (the rows it locks are held
            # for that long).
            batches: list[float] = []
            end_batch = release.end_batch

            def timed(*args, **kwargs):
                begun = time.perf_counter()
                try:
                    return end_batch(*args, **kwargs)
                finally:
                    batches.append(time.perf_counter() - begun)

            release.end_batch = timed
            try:
                before = meter.read()
                started = time.perf_counter()
                result = services.expire_due()
                seconds = time.perf_counter() - started
                used = _cost.difference(meter.read(), before)
            finally:
                release.end_batch = end_batch
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
            "cpu_ms_per_1000": _cost.per_unit_ms(
                {"console": used["bench"], "postgres": used["postgres"]}, result["expired"] / 1000
            ),
            "longest_batch_seconds": round(max(batches, default=0.0), 3),
            "batches": len(batches),
            "anchor": {
                "statement": "one UPDATE … RETURNING x_id, then the counts (rolled back)",
                "rows": anchor_rows,
                "seconds": round(anchor_seconds, 2),
                "bindings_per_second": round(options.due / anchor_seconds),
                "cpu_ms_per_1000": _cost.per_unit_ms(
                    {"client": anchor_cpu["bench"], "postgres": anchor_cpu["postgres"]},
                    options.due / 1000,
                ),
            },
            "ratio_to_anchor": round(
                (result["expired"] / seconds) / (options.due / anchor_seconds), 2
            ),
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

"""Choosing X in a big pool: 10,000 X numbers and 1,000,000 bindings in PostgreSQL.

A separate database (the run's own, ``bench_choose_<pid>_<random>``, unless ``--database``) is
created, loaded with COPY, analysed, measured and dropped; its Redis database is claimed for the
run. One choice is what ``services.create_binding`` does for an AXB binding: lock the least
loaded usable X of the city that carries neither A nor B (``SELECT … FOR UPDATE SKIP LOCKED``),
re-check that under the lock and count the binding, in its own committed transaction (as in
production: the least loaded number moves on). Measured: strict choices in a city, loose choices
for a city without numbers (falling back to its province), and choices for an A that already holds
bindings. Before each series the pool table is vacuumed, as autovacuum would (the development
server runs with autovacuum off).

    python -m bench choose_x [--numbers 10000] [--bindings 1000000] [--choices 2000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import timedelta

from bench import _cost
from bindings import benchmarking

# 20 cities in 8 provinces; 0756 (Zhuhai, Guangdong) has no numbers: loose choices fall back.
CITIES = [
    "0755",
    "020",
    "0757",
    "0769",
    "010",
    "021",
    "0571",
    "0574",
    "025",
    "0512",
    "028",
    "023",
    "027",
    "0731",
    "029",
    "0531",
    "0532",
    "024",
    "0411",
    "022",
]


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench choose_x")
    parser.add_argument("--database", help="default: a database of the run's own, dropped after")
    parser.add_argument("--redis", help="default: a Redis database claimed for the run")
    parser.add_argument("--numbers", type=int, default=10_000)
    parser.add_argument("--bindings", type=int, default=1_000_000)
    parser.add_argument("--choices", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = parser.parse_args(args)
    options.database = options.database or benchmarking.database_url(_cost.run_name("bench_choose"))
    return options


def load(options: argparse.Namespace) -> dict:
    from django.db import connection
    from django.utils import timezone

    from bindings.models import Binding, XNumber

    application = benchmarking.bench_application()
    rng = random.Random(42)
    started = time.perf_counter()
    per_city = options.numbers // len(CITIES)
    benchmarking.copy_numbers(application, per_city * len(CITIES), cities=CITIES, state="in_use")
    ids = list(XNumber.objects.order_by("pk").values_list("pk", "number"))
    now = timezone.now()
    statuses = ["active"] * 7 + ["pending", "ended", "expired"]

    def bindings():
        for i in range(options.bindings):
            x_id, x_number = ids[rng.randrange(len(ids))]
            status = statuses[i % len(statuses)]
            yield {
                "application_id": application.pk,
                "mode": "AXB",
                "status": status,
                "a_number": f"+86138{rng.randrange(10**8):08d}",
                "b_number": f"+86139{rng.randrange(10**8):08d}",
                "x_id": x_id,
                "x_number": x_number,
                "subscription_id": f"s{i:012d}",
                "created_at": now,
                "updated_at": now,
                "bound_at": now,
                "expires_at": now + timedelta(days=rng.randrange(1, 90)),
            }

    benchmarking.copy_rows(Binding, bindings())
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE bindings_xnumber n SET binding_count = c.n
            FROM (SELECT x_id, COUNT(*) AS n FROM bindings_binding
                  WHERE status IN ('pending', 'active', 'ending') GROUP BY x_id) c
            WHERE n.id = c.x_id
            """
        )
        cursor.execute("VACUUM ANALYZE bindings_xnumber")
        cursor.execute("VACUUM ANALYZE bindings_binding")
    return {"application": application, "load_seconds": round(time.perf_counter() - started, 1)}


def choose(application, a: str, b: str, city: str, loose: bool) -> tuple[float, float, object]:
    """One AXB choice of X, as create_binding makes it, committed.

    Returns the time of the choice itself (its statements, in an open transaction) and the time
    including the transaction's BEGIN and COMMIT.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from bindings import pool

    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # opens the transaction (BEGIN) before the clock starts
        choosing = time.perf_counter()
        number = pool.take(
            application,
            pool.role_for("AXB", application),
            city_code=city,
            loose=loose,
            now=timezone.now(),
            parties=pool.Parties((a, b)),
        )
        chosen = time.perf_counter()
    with_transaction = (time.perf_counter() - started) * 1000
    return (chosen - choosing) * 1000, with_transaction, number


def explain(application, city: str) -> str:
    """EXPLAIN ANALYZE of the choice statement as the PostgreSQL path sends it: prepared, so
    with the generic plan PostgreSQL may settle on after five runs (forced here, the worst case;
    ``bindings.pool`` runs it through ``console.sql.prepared_cursor``)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from bindings import pool

    sql = pool._SELECT_SQL.format(
        capacity=pool.role_for("AXB", application).capacity_sql,
        tier="n.city_code = %s",
        passed="",
        avoid=pool._AVOID_SQL.format(parties=pool.Parties(("",)).sql()[0]),
        order="binding_count",
        lock="FOR UPDATE OF n SKIP LOCKED",
    )
    parties = ["+8613800000000", "+8613900000000"]
    now = timezone.now()
    params = [application.pk, now, now, city, application.pk, parties, parties]
    types = ["bigint", "timestamptz", "timestamptz", "text", "bigint", "text[]", "text[]"]
    pieces = sql.split("%s")
    if len(pieces) != len(params) + 1:
        raise SystemExit(f"choose_x: the choice takes {len(pieces) - 1} values, not {len(params)}")
    numbered = "".join(
        piece + (f"${index}" if index <= len(params) else "")
        for index, piece in enumerate(pieces, start=1)
    )
    marks = ", ".join(["%s"] * len(params))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE choose_x_plan ({', '.join(types)}) AS {numbered}")
        cursor.execute(
            f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE choose_x_plan ({marks})", params
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE choose_x_plan")
        transaction.set_rollback(True)
    return plan


def run(args: list[str]) -> dict:
    options = parse(args)
    with _cost.OwnRedis(options.redis) as redis_url:
        return _run(options, redis_url)


def _run(options: argparse.Namespace, redis_url: str) -> dict:
    benchmarking.configure(options.database, redis_url=redis_url, queue=_cost.run_name("bench"))
    benchmarking.recreate_database(options.database)
    try:
        benchmarking.setup_django()
        loaded = load(options)
        application = loaded["application"]
        from bindings.models import Binding

        rng = random.Random(7)
        existing = list(
            Binding.objects.filter(status="active").values_list("a_number", flat=True)[:5000]
        )
        for i in range(50):  # warm the connection and the caches
            choose(application, f"+86130{i:08d}", f"+86131{i:08d}", "0755", False)

        def series(count: int, make) -> dict:
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE bindings_xnumber")
            samples, totals, misses = [], [], 0
            for i in range(count):
                a, b, city, loose = make(i)
                elapsed, total, number = choose(application, a, b, city, loose)
                samples.append(elapsed)
                totals.append(total)
                misses += number is None
            return {
                **benchmarking.percentiles(samples),
                "with_begin_and_commit": benchmarking.percentiles(totals),
                "no_x_found": misses,
            }

        strict = series(
            options.choices,
            lambda i: (
                f"+86150{rng.randrange(10**8):08d}",
                f"+86151{rng.randrange(10**8):08d}",
                rng.choice(CITIES),
                False,
            ),
        )
        busy_a = series(
            options.choices // 2,
            lambda i: (
                rng.choice(existing),
                f"+86151{rng.randrange(10**8):08d}",
                rng.choice(CITIES),
                False,
            ),
        )
        loose = series(
            options.choices // 2,
            lambda i: (
                f"+86150{rng.randrange(10**8):08d}",
                f"+86151{rng.randrange(10**8):08d}",
                "0756",
                True,
            ),
        )
        plan = explain(application, "0755")
        return {
            "numbers": options.numbers,
            "bindings": options.bindings,
            "load_seconds": loaded["load_seconds"],
            "load_average": os.getloadavg(),
            "strict_city": strict,
            "a_already_bound": busy_a,
            "loose_province_fallback": loose,
            "plan": plan.splitlines(),
        }
    finally:
        from django.db import connections

        connections.close_all()
        if not options.keep:
            benchmarking.drop_database(options.database)

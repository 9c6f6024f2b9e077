"""The hourly settlement (packages first) on PostgreSQL, at the scale of a busy month.

A separate database (``bench_settle``) gets one application with a tariff and two packages, and a
month of billed CDRs (``--month-calls``, spread over 30 days), loaded with COPY. Timed:

* **first run**: ``settle_application`` over the whole month, nothing settled before (what the
  first beat run after an upgrade does);
* **steady state**: ``--hour-calls`` more CDRs ending in the next hour, then the beat's run that
  settles that hour alone (every 5 minutes, a new hour once an hour);
* **a package running out mid-hour**: the same with a package that covers half of that hour
  (its calls are read in the order they ended);
* **a late CDR**: one CDR of an hour settled three hours before, then the run that settles the
  hours from it again;
* **a statement**: ``compute_statement`` of the month (stored hours read back).

    python -m bench settle [--month-calls 1000000] [--hour-calls 200000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import UTC, datetime, timedelta

from bench import _cost
from bindings import benchmarking


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench settle")
    parser.add_argument("--database", help="default: a database of the run's own, dropped after")
    parser.add_argument("--redis", help="default: a Redis database claimed for the run")
    parser.add_argument("--month-calls", type=int, default=1_000_000)
    parser.add_argument("--hour-calls", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(args)


START = datetime(2026, 2, 28, 16, tzinfo=UTC)  # 1 March 00:00 in Beijing


def cdr_rows(application, count: int, start: datetime, seconds: int, first: int, rng):
    """``count`` answered CDRs ending within ``seconds`` after ``start``."""
    for n in range(first, first + count):
        ended = start + timedelta(seconds=rng.randrange(seconds))
        talk = rng.randrange(5, 600)
        answered = ended - timedelta(seconds=talk)
        yield {
            "application_id": application.pk,
            "cdr_key": f"bench-{n:010d}",
            "direction": rng.choice((0, 1)),
            "sp_id": "sp_bench",
            "icid": f"bench-{n:010d}",
            "bind_num": "+8617000000001",
            "session_id": f"s-{n}",
            "caller_num": "+8613800000001",
            "callee_num": "+8617000000001",
            "call_in_time": answered - timedelta(seconds=5),
            "fwd_answer_time": answered,
            "call_end_time": ended,
            "started_at": answered - timedelta(seconds=5),
            "talk_seconds": talk,
            "billable_minutes": -(-talk // 60),
            "outcome": "answered",
            "received_at": ended,
        }


def timed(function, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return round(time.perf_counter() - started, 3), result


def run(args: list[str]) -> dict:
    options = parse(args)
    options.database = options.database or benchmarking.database_url(_cost.run_name("bench_settle"))
    with _cost.OwnRedis(options.redis) as redis_url:
        return _run(options, redis_url)


def _run(options: argparse.Namespace, redis_url: str) -> dict:
    benchmarking.configure(
        options.database, redis_url=redis_url, queue=_cost.run_name("bench_settle")
    )
    benchmarking.recreate_database(options.database)
    try:
        benchmarking.setup_django()
        from django.db import connection

        from billing import services, settlement
        from billing.models import CallRecord, Package, SettledHour, Tariff

        rng = random.Random(5)
        application = benchmarking.bench_application()
        Tariff.objects.create(
            application=application,
            valid_from=datetime(2026, 1, 1).date(),
            price_to_a="0.10",
            price_from_a="0.12",
        )
        big = Package.objects.create(
            application=application,
            name="big",
            minutes=options.month_calls,  # runs out around the middle of the month
            valid_from=START,
            valid_until=START + timedelta(days=365),
        )
        started = time.perf_counter()
        loaded = benchmarking.copy_rows(
            CallRecord, cdr_rows(application, options.month_calls, START, 30 * 86400, 0, rng)
        )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE billing_callrecord")
        load_seconds = time.perf_counter() - started
        month_end = START + timedelta(days=30)
        first_run, first_hours = timed(
            settlement.settle_application, application, until=month_end, now=month_end
        )
        # steady state: the next hour, then the run that settles it
        hour = month_end
        benchmarking.copy_rows(
            CallRecord,
            cdr_rows(application, options.hour_calls, hour, 3600, options.month_calls, rng),
        )
        steady, _ = timed(
            settlement.settle_application,
            application,
            until=hour + timedelta(hours=1),
            now=hour + timedelta(hours=1, minutes=10),
        )
        # a package covering half of the next hour's minutes: it runs out within the hour
        hour2 = hour + timedelta(hours=1)
        first2 = options.month_calls + options.hour_calls
        benchmarking.copy_rows(
            CallRecord, cdr_rows(application, options.hour_calls, hour2, 3600, first2, rng)
        )
        minutes2 = sum(
            CallRecord.objects.filter(call_end_time__gte=hour2).values_list(
                "billable_minutes", flat=True
            )
        )
        Package.objects.filter(pk=big.pk).update(valid_until=hour2)  # the big one ends
        Package.objects.create(
            application=application,
            name="half",
            minutes=minutes2 // 2,
            valid_from=hour2,
            valid_until=hour2 + timedelta(days=30),
        )
        mid_hour, _ = timed(
            settlement.settle_application,
            application,
            until=hour2 + timedelta(hours=1),
            now=hour2 + timedelta(hours=1, minutes=10),
        )
        settled = SettledHour.objects.get(application=application, hour=hour2)
        # a late CDR of three hours before
        late_hour = hour2 - timedelta(hours=3)
        benchmarking.copy_rows(
            CallRecord,
            cdr_rows(application, 1, late_hour, 600, first2 + options.hour_calls, rng),
        )
        late, written = timed(
            settlement.settle_application,
            application,
            until=hour2 + timedelta(hours=1),
            now=hour2 + timedelta(hours=3),
        )
        statement, figures = timed(services.compute_statement, application, START)
        return {
            "month_calls": loaded,
            "hour_calls": options.hour_calls,
            "load_seconds": round(load_seconds, 1),
            "load_average": os.getloadavg(),
            "first_run_seconds": first_run,
            "first_run_hours": first_hours,
            "steady_state_hour_seconds": steady,
            "package_runs_out_mid_hour_seconds": mid_hour,
            "mid_hour_check": {
                "minutes": settled.minutes,
                "package_minutes": settled.package_minutes,
                "half_of_minutes": minutes2 // 2,
            },
            "late_cdr_seconds": late,
            "late_cdr_hours_written": written,
            "statement_seconds": statement,
            "statement": {
                "minutes": figures.minutes,
                "package_minutes": figures.package_minutes,
                "excess_minutes": figures.excess_minutes,
                "call_charges": str(figures.call_charges),
            },
        }
    finally:
        from django.db import connections

        connections.close_all()
        if not options.keep:
            benchmarking.drop_database(options.database)

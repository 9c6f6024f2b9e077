"""The logged gateway's own work around one platform call, beside the ORM doing the same.

``python -m bench gateway_calls [--calls 1000]``

On a database of its own (dropped at the end), times in one process, in alternating batches of
``--calls``: the pause check before a call (``console.gateway._paused``, one prepared statement)
against ``Application.objects.filter(pk=…, calls_paused_at__isnull=False).exists()``, and the
``PlatformCall`` row after it (``console.gateway._CallRecorder``) against
``PlatformCall.objects.create(…)`` with the same values. Reported: this thread's CPU per call
(``time.thread_time``) and its backend's (``/proc``), best and median of 5 batches each; the rows
written both ways must be equal but for their ids and times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from bench import _cost
from bench import ingest as base


def run(args: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench gateway_calls")
    parser.add_argument("--calls", type=int, default=1000)
    options = parser.parse_args(args)
    base.DB_NAME = _cost.run_name("bench_gateway")
    with base.own_redis():
        try:
            return {
                "command": "python -m bench gateway_calls " + " ".join(args),
                "machine": f"{os.cpu_count()} cores",
                "load_average": [round(x, 2) for x in os.getloadavg()],
                **_measure(options.calls),
            }
        finally:
            base.admin_sql(f'DROP DATABASE IF EXISTS "{base.DB_NAME}" WITH (FORCE)')


def _measure(calls: int) -> dict[str, Any]:
    base.create_database(base.DB_NAME)
    base.setup_django()
    from django.db import connection

    from console import gateway
    from console.models import Application, PlatformCall
    from privatenumber.transport import CallLog

    application = Application(name="b", mode="AXB", app_key="k", base_url="http://127.0.0.1:9")
    application.set_secret("s")
    application.save()
    call = CallLog(
        interface="axb_bind",
        method="POST",
        path="/rest/caas/relationnumber/partners/v1.0",
        http_status=200,
        result_code="0",
        latency_ms=2,
        error=None,
    )
    record = gateway._CallRecorder(application.pk, None)

    def orm_check() -> bool:
        return Application.objects.filter(pk=application.pk, calls_paused_at__isnull=False).exists()

    def orm_record() -> None:  # what _CallRecorder did before issue 19
        PlatformCall.objects.create(
            application_id=application.pk,
            binding_id=None,
            interface=call.interface,
            method=call.method,
            http_status=call.http_status,
            result_code="0",
            result_desc=gateway.result_meaning("0", "en")[:256],
            latency_ms=call.latency_ms,
            error="",
        )

    ways = {
        "pause check, prepared": lambda: gateway._paused(application.pk),
        "pause check, ORM": orm_check,
        "PlatformCall row, prepared": lambda: record(call),
        "PlatformCall row, ORM": orm_record,
    }
    backend = _cost.backend_pid(connection)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for work in ways.values():  # warm up
        for _ in range(50):
            work()
    for _ in range(5):
        for name, work in ways.items():
            postgres, python = _cost.process_seconds(backend), time.thread_time()
            for _ in range(calls):
                work()
            samples[name].append(
                (
                    (time.thread_time() - python) * 1e6 / calls,
                    (_cost.process_seconds(backend) - postgres) * 1e6 / calls,
                )
            )
    fields = ["application_id", "binding_id", "interface", "method", "http_status"]
    fields += ["result_code", "result_desc", "latency_ms", "error"]
    rows = set(PlatformCall.objects.values_list(*fields))
    connection.close()
    return {
        "calls_per_batch": calls,
        "rows_equal_both_ways": len(rows) == 1,
        "us_per_call": {
            name: {
                "python_best": round(min(p for p, _ in got), 1),
                "python_median": round(statistics.median(p for p, _ in got), 1),
                "postgres_median": round(statistics.median(q for _, q in got), 1),
            }
            for name, got in samples.items()
        },
    }

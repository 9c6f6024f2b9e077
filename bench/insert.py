"""One row written by ``console.sql.insert`` (a prepared ``INSERT``) beside ``save()``, alternating
in one process: an audit row (``console.audit.record``'s) and a binding (``create_binding``'s).

Every round writes ``--rows`` rows of each kind both ways, in one transaction per batch, the order
of the two ways alternating from round to round; this thread's CPU (``time.thread_time``) and its
PostgreSQL backend's (``bench._cost``) are read around each batch. The anchor is ``save()``
itself, measured in the same rounds. The run checks what it measured: every row stored once, and
the rows written both ways read back with the same values (but the key and the time).

    python -m bench insert [--rounds 8] [--rows 500]

Database: one of the run's own (``bench_insert_<pid>_<random>``, dropped at the end).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from bench import _cost
from bench import ingest as base
from bindings import benchmarking


def run(args: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench insert")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--rows", type=int, default=500)
    options = parser.parse_args(args)
    base.DB_NAME = _cost.run_name("bench_insert")
    with base.own_redis():
        try:
            return {
                "command": "python -m bench insert " + " ".join(args),
                "machine": f"{os.cpu_count()} cores",
                "load_average_before": [round(x, 2) for x in os.getloadavg()],
                **_measure(options),
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
            }
        finally:
            from django.db import connections

            connections.close_all()
            base.admin_sql(f'DROP DATABASE IF EXISTS "{base.DB_NAME}" WITH (FORCE)')


def _measure(options: argparse.Namespace) -> dict[str, Any]:
    base.create_database(base.DB_NAME)
    base.setup_django()
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction

    from bindings.models import Binding
    from console import sql
    from console.models import Application, AuditLog

    application = benchmarking.bench_application(base.APP_KEY, base.APP_SECRET, "https://127.0.0.1")
    target_type = ContentType.objects.get_for_model(Application)
    serial = iter(range(10**8))

    def audit_row() -> AuditLog:
        return AuditLog(
            application=application,
            action="create",
            username="ops",
            ip_address="203.0.113.9",
            target_type=target_type,
            target_id=str(application.pk),
            target_repr="a binding",
            details={"mode": "AXB", "x": "+86170****0001", "order_ref": "o-1"},
        )

    def binding() -> Binding:
        n = next(serial)
        return Binding(  # as create_binding builds it: cost_tag left to its database default
            application=application,
            mode="AXB",
            status="pending",
            a_number=f"+86138{n:08d}",
            b_number=f"+86139{n:08d}",
            x_number="+8617000000001",
            area_code="0755",
        )

    def save(instance):
        instance.save()
        return instance

    ways = {"prepared insert": sql.insert, "save()": save}
    kinds = {"audit row": audit_row, "binding": binding}
    connection.ensure_connection()
    backend = _cost.backend_pid(connection)
    for make in kinds.values():  # warm: the statement prepared, the ORM's caches filled
        for way in ways.values():
            with transaction.atomic():
                way(make())
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    written: dict[tuple[str, str], list[int]] = {}
    for index in range(options.rounds):
        order = list(ways.items()) if index % 2 == 0 else list(reversed(ways.items()))
        for kind, make in kinds.items():
            for name, way in order:
                rows = [make() for _ in range(options.rows)]
                postgres_before, python_before = _cost.process_seconds(backend), time.thread_time()
                with transaction.atomic():
                    for row in rows:
                        way(row)
                python_us = (time.thread_time() - python_before) * 1e6 / options.rows
                postgres_us = (
                    (_cost.process_seconds(backend) - postgres_before) * 1e6 / options.rows
                )
                samples.setdefault((kind, name), []).append((python_us, postgres_us))
                written.setdefault((kind, name), []).extend(row.pk for row in rows)
    return {
        "rounds": options.rounds,
        "rows_per_batch": options.rows,
        "correct": _check(written, AuditLog, Binding, options.rounds * options.rows),
        "cpu_us_per_row": {
            f"{kind}, {name}": {
                "python_median": round(statistics.median(p for p, _ in values)),
                "python_lowest": round(min(p for p, _ in values)),
                "postgres_median": round(statistics.median(q for _, q in values)),
            }
            for (kind, name), values in samples.items()
        },
    }


def _check(written: dict, audit_model, binding_model, expected: int) -> bool:
    """Every row stored once, and a row written by each way holds the same values."""
    ignored = {"id", "at", "created_at", "updated_at", "a_number", "b_number"}
    for (kind, _name), keys in written.items():
        model = audit_model if kind == "audit row" else binding_model
        if (
            len(set(keys)) != expected
            or model._base_manager.filter(pk__in=keys).count() != expected
        ):
            return False
    firsts = {}
    for (kind, name), keys in written.items():
        model = audit_model if kind == "audit row" else binding_model
        row = model._base_manager.get(pk=keys[0])
        firsts[(kind, name)] = {
            field.attname: getattr(row, field.attname)
            for field in model._meta.concrete_fields
            if field.attname not in ignored
        }
    kinds = {kind for kind, _ in firsts}
    return all(len({repr(v) for (k, _), v in firsts.items() if k == kind}) == 1 for kind in kinds)

"""Helpers of the bindings benchmarks (``bench/choose_x.py``, ``expire.py``, …).

Each benchmark gets a database of its own, created and dropped here, so it never touches a
developer's or another engineer's data. Nothing in the running console imports this module.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlparse, urlunparse

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"


def database_url(name: str, server: str = DEFAULT_SERVER) -> str:
    return f"{server.rstrip('/')}/{name}"


def configure(
    database: str,
    *,
    redis_url: str,
    queue: str,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment of a benchmark process (and of the workers it starts); set before Django.

    No default Redis database or queue: each run passes its own (``bench._cost.OwnRedis``,
    ``run_name``), so two runs on one machine never purge or consume each other's messages.
    """
    from cryptography.fernet import Fernet

    env = {
        "ENV_FILE": "",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEY": os.environ.get("BENCH_FIELD_KEY") or Fernet.generate_key().decode(),
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CACHE_URL": "locmemcache://",
        "CELERY_QUEUE": queue,
        "HTTPS": "false",
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "600",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        **(extra or {}),
    }
    os.environ.update(env)
    os.environ["BENCH_SECRET_KEY"] = env["SECRET_KEY"]
    os.environ["BENCH_FIELD_KEY"] = env["FIELD_ENCRYPTION_KEY"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shell.settings")
    return env


def _maintenance(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    return urlunparse(parsed._replace(path="/postgres")), name


def recreate_database(url: str) -> None:
    """Drop (if present) and create the benchmark database."""
    import psycopg

    admin, name = _maintenance(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    admin, name = _maintenance(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def setup_django(*, migrate: bool = True) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0, interactive=False)


def copy_rows(model, rows: Iterable[dict[str, Any]], fields: Sequence[str] | None = None) -> int:
    """Load rows with PostgreSQL COPY; columns not given take the model field's default."""
    from django.db import connection

    concrete = [f for f in model._meta.concrete_fields if not f.primary_key]
    if fields is not None:
        concrete = [f for f in concrete if f.attname in fields or not f.null]
    defaults = {}
    for field in concrete:
        if field.has_default():
            defaults[field.attname] = field.get_default()
        elif field.null:
            defaults[field.attname] = None
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            from django.utils import timezone

            defaults[field.attname] = timezone.now()
        else:
            defaults[field.attname] = "" if field.get_internal_type().endswith("CharField") else 0
    columns = ", ".join(connection.ops.quote_name(f.column) for f in concrete)
    count = 0
    statement = f"COPY {model._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = []
            for field in concrete:
                value = row.get(field.attname, defaults[field.attname])
                if isinstance(value, dict | list):
                    value = json.dumps(value)
                values.append(value)
            copy.write_row(values)
            count += 1
    return count


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max of millisecond samples, rounded to microseconds."""
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        index = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
        return round(ordered[index], 3)

    return {
        "count": len(ordered),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (and its waited-for children) from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(v) for v in fields[11:15]) / ticks


def bench_application(
    app_key: str = "benchKey",
    secret: str = "bench-secret",  # noqa: S107 - a throw-away benchmark application
    base_url: str = "http://x",
):
    """The AXB application a benchmark's numbers and bindings belong to."""
    from console.models import Application

    application = Application(name="bench", mode="AXB", app_key=app_key, base_url=base_url)
    application.set_secret(secret)
    application.save()
    return application


def copy_numbers(application, count: int, *, cities: Sequence[str] = ("0755",), **fields) -> int:
    """COPY ``count`` X numbers (+86170…, from 0) into the pool, spread over ``cities`` in turn."""
    from bindings.cities import province_of
    from bindings.models import XNumber

    return copy_rows(
        XNumber,
        (
            {
                "number": f"+86170{i:08d}",
                "application_id": application.pk,
                "city_code": cities[i % len(cities)],
                "province": province_of(cities[i % len(cities)]),
                **fields,
            }
            for i in range(count)
        ),
    )


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat): checks the per-process sum."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (a prefork worker's pool processes), from /proc."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # it has ended
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listed:
                found.extend(int(child) for child in listed.read().split())
        except OSError:
            continue
    return sorted(found)


def with_descendants(pids: Sequence[int]) -> list[int]:
    """``pids`` and every process below them, from /proc."""
    found: list[int] = []
    pending = list(pids)
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children(pid))
    return found


def postgres_backends(database: str) -> list[int]:
    """The server processes serving connections to ``database`` (not clients naming it)."""
    return [pid for pid in pids_named(f" {database} ") if _cmdline(pid).startswith("postgres: ")]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pids_named(fragment: str) -> list[int]:
    """Processes whose command line contains ``fragment`` (read-only, for CPU accounting)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                text = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fragment in text:
            found.append(int(entry))
    return found

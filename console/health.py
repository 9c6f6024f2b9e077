"""Health of the parts the console depends on: database, Redis (broker and cache), workers.

``/healthz`` answers 200 only when every part is up, else 503 naming the failing parts, so a load
balancer or a monitoring probe can act on it without parsing prose.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime

import redis
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

HEARTBEAT_CACHE_KEY = "console:worker-heartbeat"


@dataclass
class Check:
    """The state of one part: ``ok``, a short detail, and how long the check took."""

    ok: bool
    detail: str
    latency_ms: float


def _timed(fn) -> Check:
    started = time.perf_counter()
    try:
        ok, detail = fn()
    except Exception as exc:  # every failure of a probed part is a result, not a crash
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return Check(ok, detail, round((time.perf_counter() - started) * 1000, 1))


def check_database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, connection.vendor


def broker_is_redis() -> bool:
    return settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))


def check_redis() -> tuple[bool, str]:
    if not broker_is_redis():
        return True, f"not used (broker {settings.CELERY_BROKER_URL.split(':', 1)[0]})"
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1
    )
    try:
        client.ping()
    finally:
        client.close()
    return True, "PONG"


def record_worker_heartbeat() -> None:
    cache.set(HEARTBEAT_CACHE_KEY, timezone.now().isoformat(), timeout=None)


def last_heartbeat() -> datetime | None:
    """When a worker last wrote the heartbeat beat schedules (None: never, or the cache lost it)."""
    last = cache.get(HEARTBEAT_CACHE_KEY)
    return datetime.fromisoformat(last) if last else None


def check_workers() -> tuple[bool, str]:
    # The shell's Celery app (the current one): the kernel does not import the shell.
    if broker_is_redis():
        with current_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            replies = current_app.control.ping(timeout=1.0, connection=conn)
        if replies:
            return True, f"{len(replies)} worker(s) answered"
    # No broadcast on this broker, or nobody answered: fall back to the beat heartbeat.
    last = last_heartbeat()
    if last:
        age = timezone.now() - last
        if age <= settings.WORKER_HEARTBEAT_MAX_AGE:
            return True, f"heartbeat {int(age.total_seconds())} s ago"
        return False, f"last heartbeat {int(age.total_seconds())} s ago"
    return False, "no worker answered"


def run_checks() -> dict[str, Check]:
    checks = {"database": _timed(check_database), "redis": _timed(check_redis)}
    if checks["redis"].ok:
        checks["workers"] = _timed(check_workers)
    else:
        checks["workers"] = Check(False, "not checked: the broker is down", 0.0)
    return checks


def report() -> tuple[int, dict]:
    """HTTP status and JSON body of /healthz."""
    checks = run_checks()
    failing = [name for name, check in checks.items() if not check.ok]
    body = {
        "status": "ok" if not failing else "fail",
        "failing": failing,
        "checks": {name: asdict(check) for name, check in checks.items()},
    }
    return (200 if not failing else 503), body

"""Helpers for the test suites of every app (imported by tests, never by running code)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from celery import current_app

KNOWN_PASSWORD = "correct horse battery staple"  # noqa: S105 - test users only


def wait_until(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.05):
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s: {condition}")


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point the Celery app at another broker (a closed port: the broker is down) for a while.

    The app's connection and producer pools are dropped on the way in and out, so that the next
    message goes to ``url``, then back to the real broker.
    """
    app = current_app._get_current_object()  # the shell's Celery app

    def forget_connections() -> None:
        # kombu keeps one pool per broker address: dropping the app's references is enough (a
        # closed pool would be handed out again for the same address).
        app._pool = None
        app.amqp._producer_pool = None

    # Messages go out through the write URL; CELERY_BROKER_URL in the environment (the suite
    # sets it) would win over the broker_url setting.
    real = app.conf.get("broker_write_url")
    forget_connections()
    app.conf.broker_write_url = url
    try:
        yield
    finally:
        forget_connections()
        app.conf.broker_write_url = real


BROKER_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def database_url() -> str:
    """The URL of the database the tests run on, for processes they start (workers, gunicorn)."""
    from django.db import connection

    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = f"{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
    return f"postgres://{s['USER']}{password}@{host}/{s['NAME']}"


@contextmanager
def push_handler(kind: str, apply: Callable[..., object]) -> Iterator[None]:
    """Apply pushes of ``kind`` with ``apply`` for a while (a service that fails, say), in place
    of what its app registered with the inbox."""
    from console.inbox import HANDLERS

    registered = HANDLERS[kind]
    HANDLERS[kind] = dataclasses.replace(registered, apply=apply)
    try:
        yield
    finally:
        HANDLERS[kind] = registered


def failing(message: str) -> Callable[..., object]:
    """A push handler that fails with ``message`` (a bug, a database that went away)."""

    def apply(*args: object, **kwargs: object) -> None:
        raise RuntimeError(message)

    return apply


def prepared_statements(like: str) -> list[str]:
    """The statements this connection prepared on the server (``console.sql.prepared_cursor``)
    whose text matches the SQL pattern ``like``, in order (PostgreSQL only)."""
    from django.db import connection

    with connection.cursor() as cursor:  # Django's own cursor: never prepared
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements "
            "WHERE statement LIKE %s AND NOT from_sql ORDER BY statement",
            [like],
        )
        return [row[0] for row in cursor.fetchall()]

"""Fixtures shared by every app's tests."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group


def wait_until(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.05):
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s: {condition}")


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (in-process thread) consuming the real broker (Redis in the suite).

    The queue is purged first so that messages left by an earlier run cannot leak into this one.
    """
    from celery.contrib.testing.worker import start_worker

    from console.celery import app

    app.control.purge()
    with start_worker(
        app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=15
    ) as worker:
        yield worker


KNOWN_PASSWORD = "correct horse battery staple"  # noqa: S105 - test users only


@pytest.fixture
def make_user(django_user_model):
    """Create a staff user in the given role (group name) with a known password."""

    def make(username: str, role: str | None = None, **extra):
        user = django_user_model.objects.create_user(
            username=username, password=KNOWN_PASSWORD, is_staff=True, **extra
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make

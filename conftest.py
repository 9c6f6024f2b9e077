"""Fixtures shared by every app's tests."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Group

from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing import KNOWN_PASSWORD


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, and at the end no session left that would keep them.

    The live server's thread and the in-process Celery worker keep their PostgreSQL connections
    (as they should in production); at the end of the run those sessions would stop the test
    database from being dropped.
    """
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.vendor != "postgresql":
                continue
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _fresh_cached_rows():
    """No test inherits permissions or application choices cached by an earlier test: a
    rolled-back or flushed database takes rows away (and gives ids out again) without the
    signals that renew their generations."""
    from billing import widgets
    from console import permission_cache

    permission_cache.renew()
    widgets.renew_choices()


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (in-process thread) consuming the real broker (Redis in the suite).

    The queue is purged first so that messages left by an earlier run cannot leak into this one.
    """
    from celery.contrib.testing.worker import start_worker

    from shell.celery import app

    app.control.purge()
    with start_worker(
        app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=15
    ) as worker:
        yield worker


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


@pytest.fixture
def staff(client, make_user):
    """The test client signed in as customer service."""
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    return client


@pytest.fixture
def boss(client, make_user):
    """The test client signed in as a number administrator."""
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    return client


def pytest_collection_modifyitems(items) -> None:
    """Every transactional test restores the migrated data (roles, content types) it started with.

    A transactional test ends with a flush. Without serialized rollback that flush re-creates
    content types with new ids and loses the roles made by data migrations, which breaks the next
    transactional test that does restore them. So all of them do.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = bool(marker and marker.kwargs.get("transaction")) or any(
            name in item.fixturenames for name in ("transactional_db", "live_server")
        )
        if transactional and "django_db_serialized_rollback" not in item.fixturenames:
            item.fixturenames.append("django_db_serialized_rollback")


@pytest.fixture
def one_rate_window():
    """The test's requests all fall in one window of the per-key rate limit, a fixed minute
    (``console.api.throttling``): a test started in a minute's last ten seconds waits for the
    next one, or its count would start again halfway (seen once in the embedded pass)."""
    from console.api.throttling import ApiKeyThrottle

    left = ApiKeyThrottle.window - time.time() % ApiKeyThrottle.window
    if left < 10:
        time.sleep(left + 0.05)


@pytest.fixture
def api_client():
    """``api_client(applications, scopes)``: a DRF test client holding a fresh API key (its key
    is ``client.api_key``, its token ``client.token``)."""
    from rest_framework.test import APIClient

    from console import apikeys

    count = [0]

    def make(applications, scopes, **extra):
        count[0] += 1
        key, token = apikeys.create_key(
            f"test key {count[0]}", applications=applications, scopes=scopes, **extra
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        client.api_key, client.token = key, token
        return client

    return make

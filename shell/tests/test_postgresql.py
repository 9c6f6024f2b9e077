"""The PostgreSQL backend's health check: no round trip on a quiet socket, Django's SELECT 1
whenever something arrived, and a dropped connection replaced before the next request uses it."""

from __future__ import annotations

import select

import psycopg
import pytest
from django.db import close_old_connections, connection, connections

from shell.postgresql import base

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def select_ones(monkeypatch) -> list[int]:
    """Counts the SELECT 1 checks (Django's own ``is_usable``), and still runs them."""
    calls: list[int] = []
    django_check = base.base.DatabaseWrapper.is_usable

    def counted(self) -> bool:
        calls.append(1)
        return django_check(self)

    monkeypatch.setattr(base.base.DatabaseWrapper, "is_usable", counted)
    return calls


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _other_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def _wait_readable(timeout: float = 5.0) -> None:
    poller = select.poll()
    poller.register(connection.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(timeout * 1000), "nothing arrived on the connection's socket"


def test_the_settings_use_this_backend():
    assert type(connections["default"]) is base.DatabaseWrapper


def test_an_idle_connection_with_nothing_on_its_socket_is_usable_without_a_statement(select_ones):
    _backend_pid()  # connected, idle
    assert connection.is_usable() is True
    assert select_ones == []


def test_a_terminated_backend_is_found_unusable_and_replaced_before_the_next_query(select_ones):
    # given: the connection's backend is terminated by someone else
    first = _backend_pid()
    with _other_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [first])
    _wait_readable()
    # then: the check asks the server, finds the connection dead, and the next query reconnects
    assert connection.is_usable() is False
    assert select_ones == [1]
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert _backend_pid() != first


def test_a_notification_on_the_socket_gets_djangos_check_and_the_connection_stays(select_ones):
    first = _backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN health_check_probe")
    with _other_connection() as other:
        other.execute("NOTIFY health_check_probe")
    _wait_readable()
    assert connection.is_usable() is True
    assert select_ones == [1]
    assert _backend_pid() == first


def test_a_connection_inside_a_transaction_gets_djangos_check(select_ones):
    _backend_pid()
    connection.connection.execute("BEGIN")
    try:
        assert connection.is_usable() is True
        assert select_ones == [1]
    finally:
        connection.connection.execute("ROLLBACK")


def test_a_closed_connection_is_unusable_without_asking():
    _backend_pid()
    connection.connection.close()
    assert connection.is_usable() is False
    connection.close()


def test_between_two_requests_a_dropped_connection_is_replaced_without_an_error():
    # given: a kept connection (CONN_MAX_AGE keeps it between requests), dropped by the server
    first = _backend_pid()
    with _other_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [first])
    _wait_readable()
    # when: what Django runs at the end and start of every request, then the next request's query
    close_old_connections()
    # then: it runs on a new backend
    assert _backend_pid() != first

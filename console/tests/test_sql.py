"""The hot path's SQL helpers give what the ORM gives, on both databases (``console.sql``).

``CompiledQuery`` loads a binding with its application from a query compiled once; every field, the
application's encrypted secret and its JSON fields must come back as the ORM's own query gives
them. ``update_where`` writes what ``QuerySet.update`` writes. The prepared cursor a connection
keeps is never handed to two users at once, and its statements really are prepared on the server.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bindings.models import Binding
from bindings.tests.factories import BindingFactory
from console import sql
from console.models import Application

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

LOAD = sql.CompiledQuery(
    lambda pk: Binding._base_manager.select_related("application").filter(pk=pk).order_by()[:1],
    2_087_654_321,
)


def field_values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


def test_a_compiled_query_builds_what_the_orm_builds():
    # given two bindings of different applications (the query compiled on the first)
    first, second = BindingFactory(), BindingFactory(duration=600, yb_duration=None)
    LOAD.first(first.pk)
    # when the second is loaded by the same compiled query
    loaded = LOAD.first(second.pk)
    # then every field of both models is the ORM's, the application attached (no query more)
    expected = Binding.objects.select_related("application").get(pk=second.pk)
    assert field_values(loaded) == field_values(expected)
    assert loaded.pk == second.pk
    assert loaded.application_id == second.application_id
    assert not loaded._state.adding
    assert loaded._state.db == "default"
    with CaptureQueriesContext(connection) as queries:
        application = loaded.application
    assert not queries.captured_queries
    assert field_values(application) == field_values(
        Application.objects.get(pk=second.application_id)
    )
    assert application.get_secret() == expected.application.get_secret()


def test_a_compiled_query_of_a_missing_key_is_none():
    BindingFactory()
    assert LOAD.first(-1) is None


def test_a_compiled_query_refuses_a_query_it_cannot_replay():
    loader = sql.CompiledQuery(
        lambda pk: Binding._base_manager.filter(pk=pk, x_id=pk), 2_087_654_321
    )
    with pytest.raises(ValueError, match="not in the SQL once"):
        loader.first(1)


def test_update_where_writes_what_the_orm_update_writes_and_counts_rows():
    # given a binding with a lease and one without
    now = timezone.now().replace(microsecond=0)
    leased, unleased = BindingFactory(lease_until=now), BindingFactory(lease_until=None)
    later = now + timedelta(minutes=5)
    # when both get a renewed lease kept only where one is, and a new result code
    updated = sql.update_where(
        Binding,
        {"lease_until": sql.IfNotNull(later), "last_result_code": "7"},
        "id IN (%s, %s) AND status = %s",
        [leased.pk, unleased.pk, leased.status],
    )
    # then both rows were written; the lease only where there was one
    assert updated == 2
    leased.refresh_from_db()
    unleased.refresh_from_db()
    assert (leased.lease_until, leased.last_result_code) == (later, "7")
    assert (unleased.lease_until, unleased.last_result_code) == (None, "7")
    # and a condition that matches nothing writes nothing
    assert sql.update_where(Binding, {"last_result_code": "8"}, "id = %s", [-1]) == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_kept_prepared_cursor_is_never_shared_by_two_users():
    if connection.vendor != "postgresql":
        pytest.skip("an ordinary cursor elsewhere")
    with transaction.atomic():
        with sql.prepared_cursor() as outer:
            outer.execute("SELECT 1 FROM generate_series(1, 3)")
            # a nested user while the outer has rows left to read gets a cursor of its own
            with sql.prepared_cursor() as inner:
                assert inner.cursor is not outer.cursor
                inner.execute("SELECT 42")
                assert inner.fetchone() == (42,)
            assert len(outer.fetchall()) == 3
        # once the outer block ended, the next user gets the kept cursor again
        with sql.prepared_cursor() as again:
            assert again.cursor is outer.cursor
            again.execute("SELECT 7")
            assert again.fetchone() == (7,)
    # a new connection keeps a new cursor
    kept = connection._console_prepared_cursor
    connection.close()
    with sql.prepared_cursor() as fresh:
        fresh.execute("SELECT 1")
        assert fresh.cursor is not kept


@pytest.mark.postgres_only
def test_a_statement_of_the_prepared_cursor_is_prepared_once_on_the_server_and_still_logged():
    if connection.vendor != "postgresql":
        pytest.skip("an ordinary cursor elsewhere")
    statement = "SELECT %s::int + 1 AS prepared_once_marker"

    def prepared_here() -> list[str]:
        with connection.cursor() as cursor:  # Django's own cursor: never prepared
            cursor.execute(
                "SELECT statement FROM pg_prepared_statements "
                "WHERE statement LIKE %s AND NOT from_sql",
                ["%prepared_once_marker%"],
            )
            return [row[0] for row in cursor.fetchall()]

    assert prepared_here() == []
    with CaptureQueriesContext(connection) as queries:
        for value in (1, 2, 3):
            with sql.prepared_cursor() as cursor:
                cursor.execute(statement, [value])
                assert cursor.fetchone() == (value + 1,)
    # one server-side statement for the three runs (Django connects with prepare_threshold=None,
    # which made psycopg ignore prepare=True: every run was parsed and planned anew)
    assert prepared_here() == ["SELECT $1::int + 1 AS prepared_once_marker"]
    logged = [query["sql"] for query in queries.captured_queries]
    assert logged == ["SELECT $1::int + 1 AS prepared_once_marker"] * 3
